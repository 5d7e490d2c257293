// The demo's live table. On a terminal it repaints in place; otherwise it prints one block per tick.
import type { Row } from './stats.js';

export interface View {
  rows: Row[];
  dir: string;
  configDir: string;
  monitorPort: number;
  message: string;
  /** The mesh's own counters for the scenario (overflows, ejections). */
  counters?: string;
  /** The edge list: each caller → server with its security as the server's sidecar saw it. */
  edges?: string[];
  uptimeSeconds: number;
  tty: boolean;
  /** What the title says of where the workloads run (default: loopback, explicit sidecars). */
  where?: string;
  /** How to see the proxies' sync state (default: the monitor port on loopback). */
  syncHint?: string;
}

const BAR_WIDTH = 30;

export function render(v: View): string {
  const lines = [
    `Weft demo — bookinfo ${v.where ?? 'on loopback, every workload behind its own weft proxy'}   (up ${Math.round(v.uptimeSeconds)}s)`,
    '',
    `${'service'.padEnd(13)}${'version'.padEnd(9)}${'req/s'.padStart(7)}${'success'.padStart(10)}   share of service`,
  ];
  for (const r of v.rows) {
    const bar = '█'.repeat(Math.round(r.share * BAR_WIDTH)).padEnd(BAR_WIDTH, '·');
    lines.push(
      `${r.service.padEnd(13)}${r.version.padEnd(9)}${r.rps.toFixed(1).padStart(7)}${`${(100 * r.successRate).toFixed(1)}%`.padStart(10)}   ${bar} ${(100 * r.share).toFixed(0).padStart(3)}%`,
    );
  }
  if (!v.rows.length) lines.push('(waiting for the first requests…)');
  lines.push(
    '',
    ...(v.edges?.length ? [...v.edges, ''] : []),
    ...(v.counters ? [v.counters] : []),
    v.message,
    `config: ${v.configDir}   ${v.syncHint ? '' : `dashboard: http://127.0.0.1:${v.monitorPort}/dashboard   `}proxies' sync state: ${v.syncHint ?? `http://127.0.0.1:${v.monitorPort}/debug/syncz`}`,
    'Ctrl-C stops the demo and every process it started.',
    ...(v.where === undefined ? ['Transparent version (apps call services by name, capture in network namespaces): sudo weft demo --netns [--capture iptables|cni|ebpf]'] : []),
  );
  const block = lines.join('\n') + '\n';
  return v.tty ? `\x1b[H\x1b[2J${block}` : `${block}\n`;
}
