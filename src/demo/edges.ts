// Each edge's security as the mesh saw it, not as it was configured: read off the server side's
// sidecar (admin /stats) — its inbound listener counts connections and the TLS handshakes among them
// (only an mTLS client gets past the handshake: the inbound chain requires a client certificate),
// and its RBAC filter counts denials. In the demo's bookinfo each server has exactly one calling
// service, so a server's inbound counters are that edge's. Latency and flags come from the other end,
// the caller's sidecar (edge-latency.ts).
import { renderFlags, renderLatency, type EdgeLatency } from './edge-latency.js';

export interface EdgeEnd {
  service: string;
  calls: string[];
  adminPort: number;
}

export type EdgeSecurity = 'mTLS' | 'plaintext' | 'mixed' | '—';

export interface Edge {
  from: string;
  to: string;
  /** What the newest connections were (the latest poll that saw any); '—' before the first. */
  security: EdgeSecurity;
  /** Since the demo started: connections that completed a TLS handshake, and plaintext ones. */
  tls: number;
  plaintext: number;
  /** Requests the server's RBAC filter denied since the demo started. */
  denied: number;
}

/** The counters of one server service, summed over its instances. */
interface Sample {
  total: number;
  tls: number;
  /** Connections that never reached a chain or failed their handshake: neither TLS nor plaintext. */
  refused: number;
  denied: number;
}

/** How many polls (a second apart) a handshake may take before its connection is taken for plaintext. */
const HANDSHAKE_POLLS = 3;

/** A sidecar's admin /stats?format=json body. */
export interface StatsBody {
  stats: { name: string; value: number }[];
}

/** Reads one end's sidecar stats; undefined when it does not answer. */
export type StatsReader = (end: EdgeEnd) => Promise<StatsBody | undefined>;

/** The sidecar's admin port on this host's loopback (explicit mode: every sidecar is local). */
export const loopbackStats: StatsReader = async (end) => {
  try {
    const res = await fetch(`http://127.0.0.1:${end.adminPort}/stats?format=json`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as StatsBody;
  } catch {
    return undefined;
  }
};

export class EdgeWatch {
  private readonly edges: Edge[];
  /** Per server: the last polls' samples, oldest first (an old `total` bounds what may be plaintext now). */
  private readonly history = new Map<string, Sample[]>();

  constructor(
    private readonly ends: EdgeEnd[],
    private readonly readStats: StatsReader = loopbackStats,
  ) {
    const seen = new Set<string>();
    this.edges = [];
    for (const e of ends)
      for (const to of e.calls) {
        const key = `${e.service}→${to}`;
        if (seen.has(key)) continue;
        seen.add(key);
        this.edges.push({ from: e.service, to, security: '—', tls: 0, plaintext: 0, denied: 0 });
      }
    // In the order a request travels: from the callers nobody calls (the load generator) inwards.
    const depth = new Map<string, number>();
    const depthOf = (svc: string, seen: string[] = []): number => {
      if (!depth.has(svc)) {
        const callers = this.edges.filter((e) => e.to === svc && !seen.includes(e.from)).map((e) => e.from);
        depth.set(svc, callers.length ? 1 + Math.max(...callers.map((c) => depthOf(c, [...seen, svc]))) : 0);
      }
      return depth.get(svc)!;
    };
    this.edges.sort((a, b) => depthOf(a.from) - depthOf(b.from));
  }

  list(): readonly Edge[] {
    return this.edges;
  }

  /** Read every server's counters once and update the edges; a sidecar that does not answer keeps its edge as it was. */
  async poll(): Promise<void> {
    const servers = [...new Set(this.edges.map((e) => e.to))];
    await Promise.all(
      servers.map(async (to) => {
        const ends = this.ends.filter((e) => e.service === to);
        const samples = await Promise.all(ends.map(async (e) => sampleOf(await this.readStats(e))));
        if (samples.some((s) => s === undefined)) return;
        const now = samples.reduce<Sample>((a, s) => add(a, s!), { total: 0, tls: 0, refused: 0, denied: 0 });
        const history = this.history.get(to) ?? [];
        this.history.set(to, [...history, now].slice(-HANDSHAKE_POLLS));
        if (history.length < HANDSHAKE_POLLS) return;
        // A connection is counted on accept and as TLS once its handshake is done: judge the
        // connections seen some polls ago, whose handshakes have had time to finish.
        const prev = history[0];
        const plaintext = Math.max(0, prev.total - now.tls - now.refused);
        for (const edge of this.edges.filter((e) => e.to === to)) {
          const newTls = now.tls - edge.tls;
          const newPlain = plaintext - edge.plaintext;
          if (newTls > 0 || newPlain > 0) edge.security = newTls > 0 && newPlain > 0 ? 'mixed' : newTls > 0 ? 'mTLS' : 'plaintext';
          edge.tls = now.tls;
          edge.plaintext = Math.max(edge.plaintext, plaintext);
          edge.denied = now.denied;
        }
      }),
    );
  }
}

function add(a: Sample, b: Sample): Sample {
  return { total: a.total + b.total, tls: a.tls + b.tls, refused: a.refused + b.refused, denied: a.denied + b.denied };
}

function sampleOf(body: StatsBody | undefined): Sample | undefined {
  if (!body) return undefined;
  const s: Sample = { total: 0, tls: 0, refused: 0, denied: 0 };
  for (const { name, value } of body.stats) {
    if (name === 'listener.virtualInbound.downstream_cx_total') s.total += value;
    else if (name === 'listener.virtualInbound.ssl_handshake') s.tls += value;
    else if (name === 'listener.virtualInbound.ssl_connection_error' || name === 'listener.virtualInbound.no_filter_chain_match') s.refused += value;
    // The inbound connection manager's HTTP RBAC filter (`http.inbound_….rbac.denied`).
    else if (name.startsWith('http.inbound') && name.endsWith('.rbac.denied')) s.denied += value;
  }
  return s;
}

/** The edge list under the table: one line per edge, indented. With `latency` (the callers' sidecars'
 * view of each edge), each line also shows p50/p99 and the response flags counted. */
export function renderEdges(edges: readonly Edge[], latency?: (from: string, to: string) => EdgeLatency): string[] {
  if (!edges.length) return [];
  const width = Math.max(...edges.map((e) => `${e.from} → ${e.to}`.length)) + 2;
  return [
    "edges (what each server's sidecar saw: TLS handshakes and plaintext connections, RBAC denials" +
      (latency ? "; each caller's sidecar: p50/p99 over the last 5 s, response flags since start)" : ')'),
    ...edges.map((e) => {
      const l = latency?.(e.from, e.to);
      const denied = e.denied ? `   ${e.denied} denied (403 RBAC)` : '';
      const timing = l ? `${renderLatency(l)}   ` : '';
      const flags = l ? `   ${renderFlags(l)}` : '';
      return `  ${`${e.from} → ${e.to}`.padEnd(width)}${e.security.padEnd(11)}${timing}${`${e.tls} mTLS / ${e.plaintext} plaintext connections`}${denied}${flags}`;
    }),
  ];
}
