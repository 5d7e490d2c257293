// New connections per second through a pair: wrk with `Connection: close`, so every request is a
// new client connection (the backend closes after answering and wrk reconnects). Through the TCP
// rows each client connection is one new upstream connection per hop, so with TLS between the
// sidecars every request pays a full handshake there; through the HTTP rows the sidecars keep their
// pooled upstream connections and only the client's accept is new. Rows run one at a time, in
// interleaved rounds; CPU per connection is utime+stime of each sidecar over the connections made.
import { cpuSeconds } from '../lib/procstat.js';
import { round } from '../lib/stats.js';
import type { Running, Topology } from './topologies.js';
import { runWrk, type WrkResult } from './wrk.js';

export interface ConnRateResult {
  /** The median round by connections/s (each wrk request is one connection). */
  median: WrkResult;
  rounds: WrkResult[];
  /** Per sidecar, in the row's proxy order: CPU milliseconds per new connection over all rounds. */
  cpuMsPerConn: Array<{ role: 'client' | 'server'; ms: number }>;
}

export interface ConnRateOptions {
  wrkPath: string;
  host: string;
  connections: number;
  seconds: number;
  rounds: number;
  log(msg: string): void;
}

/** The rows this phase measures: HTTP/1.1 and TCP (the ones a wrk client can drive). */
export const connRateRow = (t: Topology): boolean => t.group === 'http1' || t.group === 'tcp';

export async function runConnRate(rows: Map<Topology, Running>, o: ConnRateOptions): Promise<Map<Topology, ConnRateResult>> {
  const rounds = new Map<Topology, WrkResult[]>();
  const cpu = new Map<Topology, number[]>();
  for (let r = 0; r < o.rounds; r++) {
    for (const [t, run] of rows) {
      if (!connRateRow(t)) continue;
      o.log(`dataplane: ${t.name} new connections/s (wrk -c ${o.connections} -d ${o.seconds}s, Connection: close), round ${r + 1}/${o.rounds}`);
      const cpu0 = run.proxies.map((p) => cpuSeconds(p.proc.pid));
      try {
        const w = await runWrk(o.wrkPath, { port: run.port, host: o.host, connections: o.connections, threads: 1, seconds: o.seconds, headers: ['Connection: close'] });
        rounds.set(t, [...(rounds.get(t) ?? []), w]);
        o.log(`  ${w.rps.toFixed(0)} conn/s, errors ${w.errors}, non-2xx ${w.non2xx}`);
      } catch (e) {
        o.log(`  ${t.name}: ${String((e as Error).message ?? e).split('\n')[0]}`);
      }
      const cpu1 = run.proxies.map((p) => cpuSeconds(p.proc.pid));
      const prev = cpu.get(t) ?? run.proxies.map(() => 0);
      cpu.set(t, prev.map((c, i) => c + cpu1[i] - cpu0[i]));
    }
  }
  const out = new Map<Topology, ConnRateResult>();
  for (const [t, ws] of rounds) {
    const run = rows.get(t)!;
    const conns = ws.reduce((s, w) => s + w.requests, 0);
    out.set(t, {
      median: [...ws].sort((a, b) => a.rps - b.rps)[Math.floor((ws.length - 1) / 2)],
      rounds: ws,
      cpuMsPerConn: run.proxies.map((p, i) => ({ role: p.role, ms: conns ? round((cpu.get(t)![i] * 1000) / conns, 4) : NaN })),
    });
  }
  return out;
}
