// The dashboard's one HTML page and its style: plain, readable without the script's graph (every
// number is also in a table), no build step, no third-party code.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weft dashboard</title>
<link rel="stylesheet" href="/dashboard/app.css">
</head>
<body>
<header>
  <h1>Weft</h1>
  <nav aria-label="Views">
    <a href="#graph">Graph</a>
    <a href="#services">Services</a>
    <a href="#proxies">Proxies</a>
    <a href="#config">Config</a>
  </nav>
  <label>Range
    <select id="range">
      <option value="30">30 s</option>
      <option value="60" selected>1 min</option>
      <option value="300">5 min</option>
    </select>
  </label>
  <label><input type="checkbox" id="live" checked> live</label>
  <span id="status" role="status" aria-live="polite"></span>
</header>
<main id="view" tabindex="-1"><p>Loading…</p></main>
<noscript><p>The dashboard draws its views with a small script; the same data is JSON under <a href="/api/dashboard/graph">/api/dashboard/graph</a>, <a href="/api/dashboard/proxies">/api/dashboard/proxies</a> and <a href="/api/dashboard/config">/api/dashboard/config</a>.</p></noscript>
<script src="/dashboard/app.js" defer></script>
</body>
</html>
`;

export const DASHBOARD_CSS = `
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --accent: #0550ae; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; padding: 8px 16px; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { font-size: 18px; margin: 0; }
nav a { margin-right: 12px; color: var(--accent); text-decoration: none; font-weight: 600; }
nav a[aria-current="page"] { text-decoration: underline; }
#status { color: var(--muted); margin-left: auto; }
main { padding: 12px 16px; }
h2 { font-size: 16px; margin: 16px 0 8px; }
table { border-collapse: collapse; margin: 4px 0 16px; }
caption { text-align: left; color: var(--muted); padding: 2px 0; white-space: nowrap; }
main:focus { outline: none; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); font-weight: 600; }
.errors { color: var(--bad); }
.muted { color: var(--muted); }
svg.graph { border: 1px solid var(--line); background: #fff; max-width: 100%; height: auto; }
svg .svc rect.box { fill: var(--panel); stroke: #8c959f; }
svg .svc text.title { font-weight: 700; font-size: 13px; }
svg .wl rect { fill: #fff; stroke: #57606a; }
svg .wl text { font-size: 12px; }
svg path.edge { fill: none; stroke-opacity: 0.85; }
svg path.edge.ok { stroke: var(--ok); } svg path.edge.warn { stroke: var(--warn); } svg path.edge.bad { stroke: var(--bad); } svg path.edge.idle { stroke: #8c959f; stroke-dasharray: 4 3; }
svg .label rect { fill: #ffffffee; stroke: var(--line); }
svg .label text { font-size: 11px; font-variant-numeric: tabular-nums; }
a:focus, select:focus, input:focus { outline: 2px solid var(--accent); outline-offset: 2px; }
`;
