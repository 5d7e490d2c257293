// OpenMetrics 1.0 from prom-client's text 0.0.4, with every sample keeping its text-format name.
// prom-client's own OpenMetrics mode appends `_total` to counters named without it
// (`pilot_xds_pushes` → `pilot_xds_pushes_total`), so a Prometheus that asks for OpenMetrics (2.x does
// by default) would store names Istio's dashboards never query; and switching a registry's mode
// renames its counters for every later scrape. istiod serves text only. Here: a counter whose name ends
// in `_total` is an OpenMetrics counter family of the name without it (its samples unchanged); one
// that does not is typed `unknown` under its own name, as the proxy's Envoy counters are.

export function textToOpenMetrics(text: string): string {
  const out: string[] = [];
  let help: { name: string; text: string } | undefined;
  const flushHelp = (name: string) => {
    if (help) out.push(`# HELP ${name} ${help.text.replace(/"/g, '\\"')}`);
    help = undefined;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const h = /^# HELP (\S+) ?(.*)$/.exec(line);
    if (h) {
      if (help) flushHelp(help.name);
      help = { name: h[1], text: h[2] };
      continue;
    }
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      let [, name, type] = t;
      if (type === 'counter') {
        if (name.endsWith('_total')) name = name.slice(0, -'_total'.length);
        else type = 'unknown';
      } else if (type === 'untyped') type = 'unknown';
      flushHelp(name);
      out.push(`# TYPE ${name} ${type}`);
      continue;
    }
    if (help) flushHelp(help.name);
    out.push(line);
  }
  if (help) flushHelp(help.name);
  return `${out.join('\n')}\n# EOF\n`;
}
