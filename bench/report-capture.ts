// The capture table: each capture mode's sidecar pair across network namespaces, against the
// explicit-mode pair of the same run (the difference is what capture itself costs) and the direct row.
import type { DataplaneResult, RowResult } from './dataplane/run.js';

const f = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
const sub = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : a - b);
const div = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || !(b > 0) ? undefined : a / b);

export const EXPLICIT_ROW = 'weft-explicit-netns';

export function captureMd(dp: DataplaneResult): string[] {
  const rows = dp.rows.filter((r) => r.group === 'capture');
  if (!rows.length) return [];
  const c = dp.config;
  const direct = rows.find((r) => r.name === 'direct-netns');
  const explicit = rows.find((r) => r.name === EXPLICIT_ROW && r.status === 'ok');
  const lines = [
    '## Data plane: the cost of capture (network namespaces)',
    '',
    'One bridge in 198.18.0.0/24 made by the bench; per row a client pod and a server pod (network namespaces); the server app is the same nginx (`return 200`, 1 KiB) in the server pod. ' +
      'The open-loop generator and wrk run inside the client pod. `direct-netns`: client → app. `weft-explicit-netns`: the client sends to its sidecar (127.0.0.1:15001, `Host: <service>`), as the `weft` row, across pods. ' +
      '`weft-iptables-netns`: `weft proxy --mode transparent` (uid 1337) in both pods with `weft iptables` capture; the client calls the service VIP on port 8080 knowing nothing of the mesh. ' +
      '`weft-ebpf-netns`: the same with `weft ebpf install` on per-pod app and proxy cgroups (inbound by tc on the pod\'s eth0) instead of iptables. ' +
      '`weft cni` applies the same rules as `weft iptables`, so the iptables row stands for it. All sidecars are fed by one `weft control-plane` in the bridge\'s namespace (captured layout for the transparent ones), plaintext between the sidecars (the mTLS rows give the cost of TLS). ' +
      `Open loop ${c.rps} rps over ${c.openLoopConnections} connections, ${c.rounds} × ${c.seconds} s per row, rows interleaved${c.rounds >= 3 ? ', median of rounds' : ''}; max \`wrk -t 1 -c ${c.wrkConnections} -d ${c.wrkSeconds}s\`${c.rounds > 1 ? `, median of ${c.rounds} rounds` : ''}. ` +
      '"vs explicit" is the row minus the explicit-mode row (ms) and the throughput ratio to it.',
    '',
    `Direct (\`direct-netns\`): p50 ${f(direct?.latency?.p50)} ms, p90 ${f(direct?.latency?.p90)} ms, p99 ${f(direct?.latency?.p99)} ms, max ${f(direct?.max?.rps, 0)} req/s.`,
    '',
    '| pair | added p50 ms | added p90 ms | added p99 ms | p50 / p99 vs explicit ms | max req/s | vs explicit | CPU s/1k req client / server (at max) | RSS MiB at 1k rps → max, client / server |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of rows) {
    if (r.name === 'direct-netns') continue;
    if (r.status !== 'ok') {
      lines.push(`| ${r.name} | ${r.status}: ${(r.error ?? '').split('\n')[0].replace(/\|/g, '/')} | | | | | | | |`);
      continue;
    }
    const px = r.proxies ?? [];
    const vs = (k: 'p50' | 'p99'): number | undefined => sub(r.added?.[k], explicit?.added?.[k]);
    lines.push(
      `| ${r.name} | ${f(r.added?.p50)} | ${f(r.added?.p90)} | ${f(r.added?.p99)} | ${f(vs('p50'))} / ${f(vs('p99'))} | ${f(r.max?.rps, 0)} | ${f(div(r.max?.rps, explicit?.max?.rps), 2)}× | ` +
        `${px.map((p) => `${f(p.cpuPer1kAtRate)} (${f(p.cpuPer1kAtMax)})`).join(' / ')} | ${px.map((p) => `${f(p.loadRssMiB, 1)} → ${f(p.maxRssMiB, 1)}`).join(' / ')} |`,
    );
  }
  const problems = rows.flatMap((r: RowResult) =>
    (r.openLoop ?? []).filter((o) => o.errors || o.non2xx || o.completed < o.sent).map((o) => `${r.name}: ${o.errors} errors, ${o.non2xx} non-2xx, ${o.sent - o.completed} unanswered of ${o.sent}`),
  );
  if (problems.length) lines.push('', `Warnings: ${problems.join('; ')}`);
  return lines;
}
