// Each edge's latency and response flags as the caller saw them: read off the caller's sidecar's Istio
// metrics (/stats/prometheus, reporter="source", by destination_service_name), as Istio's dashboards
// do. p50/p99 come from the istio_request_duration_milliseconds buckets over the last few refreshes
// (the difference of two cumulative snapshots, so the figure is recent, not since start), interpolated
// within a bucket as Prometheus' histogram_quantile does; flags are counted since the demo started.

import { DURATION_BUCKET, parseWanted, REQUESTS } from '../controlplane/observe/exposition.js';
import { histogramQuantile } from '../controlplane/observe/histogram.js';

export interface LatencyEnd {
  service: string;
  calls: string[];
  /** Its sidecar's /stats/prometheus port on this host's loopback. */
  telemetryPort: number;
}

/** One caller's exposition text; undefined when its sidecar does not answer. */
export type MetricsReader = (end: LatencyEnd) => Promise<string | undefined>;

/** The sidecar's telemetry port on this host's loopback (explicit mode: every sidecar is local). */
export const loopbackMetrics: MetricsReader = async (end) => {
  try {
    const res = await fetch(`http://127.0.0.1:${end.telemetryPort}/stats/prometheus`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
};

export interface EdgeLatency {
  /** Milliseconds over the window; undefined when no request finished in it. */
  p50: number | undefined;
  p99: number | undefined;
  /** Requests with response flags (`UO`, `FI`, `URX`, …) since the demo started, by flag set. */
  flags: Map<string, number>;
}

/** Per destination service: cumulative bucket counts by upper bound, and request counts by flags. */
interface Snapshot {
  buckets: Map<string, Map<number, number>>;
  flags: Map<string, Map<string, number>>;
}

/** Refreshes the quantiles span (a second apart: the table's five-second window). */
const WINDOW = 5;

/** The source-reporter series of the two metrics this needs, read with the dashboard's parser
 * (controlplane/observe/exposition.ts: every other family is skipped unparsed). */
export function snapshotOf(text: string): Snapshot {
  const snap: Snapshot = { buckets: new Map(), flags: new Map() };
  for (const { name, labels: l, value } of parseWanted(text)) {
    if (l.reporter !== 'source') continue;
    const to = l.destination_service_name ?? 'unknown';
    if (name === DURATION_BUCKET) {
      let b = snap.buckets.get(to);
      if (!b) snap.buckets.set(to, (b = new Map()));
      const le = l.le === '+Inf' ? Infinity : Number(l.le);
      b.set(le, (b.get(le) ?? 0) + value);
    } else if (name === REQUESTS && l.response_flags && l.response_flags !== '-') {
      let f = snap.flags.get(to);
      if (!f) snap.flags.set(to, (f = new Map()));
      f.set(l.response_flags, (f.get(l.response_flags) ?? 0) + value);
    }
  }
  return snap;
}

/** The q-quantile of cumulative buckets (upper bound → count): Prometheus' histogram_quantile, as
 * the dashboard computes it (controlplane/observe/histogram.ts); undefined without observations. */
export function quantile(q: number, cumulative: ReadonlyMap<number, number>): number | undefined {
  const v = histogramQuantile(q, [...cumulative].map(([le, count]) => ({ le, count })));
  return Number.isNaN(v) ? undefined : v;
}

function minus(now: ReadonlyMap<number, number>, then: ReadonlyMap<number, number> | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (const [le, n] of now) out.set(le, Math.max(0, n - (then?.get(le) ?? 0)));
  return out;
}

export class EdgeLatencyWatch {
  /** Per caller: its last snapshots, oldest first. */
  private readonly history = new Map<string, Snapshot[]>();

  constructor(
    private readonly callers: LatencyEnd[],
    private readonly read: MetricsReader = loopbackMetrics,
  ) {}

  /** Read every caller's sidecar once; one that does not answer keeps its last figures. */
  async poll(): Promise<void> {
    const services = [...new Set(this.callers.filter((c) => c.calls.length).map((c) => c.service))];
    await Promise.all(
      services.map(async (service) => {
        const texts = await Promise.all(this.callers.filter((c) => c.service === service).map((c) => this.read(c)));
        if (texts.some((t) => t === undefined)) return;
        // Instances of one service add up (the bounds are the same on every sidecar).
        const snap = texts.map((t) => snapshotOf(t!)).reduce(addSnapshots);
        const h = this.history.get(service) ?? [];
        this.history.set(service, [...h, snap].slice(-(WINDOW + 1)));
      }),
    );
  }

  /** `from` → `to` over the window; flags since start. */
  of(from: string, to: string): EdgeLatency {
    const h = this.history.get(from) ?? [];
    const now = h[h.length - 1];
    if (!now) return { p50: undefined, p99: undefined, flags: new Map() };
    const recent = minus(now.buckets.get(to) ?? new Map(), h.length > 1 ? h[0].buckets.get(to) : undefined);
    return { p50: quantile(0.5, recent), p99: quantile(0.99, recent), flags: new Map(now.flags.get(to) ?? []) };
  }
}

function addSnapshots(a: Snapshot, b: Snapshot): Snapshot {
  const out: Snapshot = { buckets: new Map(), flags: new Map() };
  for (const s of [a, b]) {
    for (const [to, m] of s.buckets) {
      const t = out.buckets.get(to) ?? new Map<number, number>();
      for (const [k, v] of m) t.set(k, (t.get(k) ?? 0) + v);
      out.buckets.set(to, t);
    }
    for (const [to, m] of s.flags) {
      const t = out.flags.get(to) ?? new Map<string, number>();
      for (const [k, v] of m) t.set(k, (t.get(k) ?? 0) + v);
      out.flags.set(to, t);
    }
  }
  return out;
}

/** `p50 1.2 ms  p99 4.8 ms`, fixed width; dashes before the first requests. */
export function renderLatency(l: EdgeLatency): string {
  const ms = (v: number | undefined) => (v === undefined ? '—' : v < 10 ? v.toFixed(1) : v.toFixed(0));
  return `p50 ${ms(l.p50).padStart(5)} ms  p99 ${ms(l.p99).padStart(5)} ms`;
}

/** `flags UO 12, FI 3`, or `flags -` for none (Envoy's "-"), most frequent first. */
export function renderFlags(l: EdgeLatency): string {
  const f = [...l.flags].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  return `flags ${f.length ? f.map(([k, n]) => `${k} ${n}`).join(', ') : '-'}`;
}
