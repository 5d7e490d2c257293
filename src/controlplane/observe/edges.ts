// What the dashboard shows per edge (source workload → destination service and version), and the one
// place that turns rows from either metrics source (the embedded scraper, a real Prometheus) into it.
// Like Kiali, an edge is read from the destination's sidecar when one reported it, else from the
// source's (a destination outside the mesh, or a request answered before it left the caller).

import type { IstioLabel } from '../../proxy/telemetry/istio-metrics.js';

/** The labels of Istio's request metrics that name an edge (typed against the proxy's label list, so a
 * rename there is a compile error here). */
export const EDGE_LABELS = [
  'source_workload',
  'source_workload_namespace',
  'source_app',
  'source_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_workload',
  'destination_workload_namespace',
  'destination_version',
] as const satisfies readonly IstioLabel[];
export type EdgeLabel = (typeof EDGE_LABELS)[number];
export type EdgeLabels = Record<EdgeLabel, string>;
export type Reporter = 'source' | 'destination';

/** Requests of one edge, reporter, response code and flags over the range. */
export interface RequestRow {
  edge: EdgeLabels;
  reporter: Reporter;
  code: string;
  flags: string;
  /** Per second over the range. */
  rps: number;
  /** Requests in the range. */
  count: number;
}

/** Latency quantiles (ms) of one edge and reporter; null where there were no observations. */
export interface LatencyRow {
  edge: EdgeLabels;
  reporter: Reporter;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** One caller's view of one upstream cluster (what its outlier detector and health checks hold). */
export interface ClusterHealthRow {
  /** The reporting proxy: its node id (embedded) or Prometheus' instance label. */
  proxy: string;
  cluster: string;
  healthy: number;
  total: number;
  ejectionsActive: number;
}

export interface MeshRates {
  source: 'embedded' | 'prometheus';
  rangeSeconds: number;
  requests: RequestRow[];
  latency: LatencyRow[];
  clusters: ClusterHealthRow[];
  /** Targets or queries that failed this time, said on the page rather than hidden. */
  errors: string[];
}

/** One interface, two sources: `weft control-plane` scrapes its proxies itself, or asks Prometheus. */
export interface MetricsSource {
  readonly kind: MeshRates['source'];
  read(rangeSeconds: number): Promise<MeshRates>;
  close(): void;
}

export interface EdgeStats {
  id: string;
  source: { workload: string; namespace: string; app: string; version: string };
  destination: { service: string; name: string; namespace: string; workload: string; version: string };
  reporter: Reporter;
  rps: number;
  requests: number;
  /** Share of responses that are not 5xx (nor 0: no response), 0..1; null without requests. */
  successRate: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Requests per second by response code. */
  codes: Record<string, number>;
  /** Requests in the range by response flag (Envoy's short names, "-" left out). */
  flags: Record<string, number>;
}

export function edgeKey(e: EdgeLabels): string {
  return EDGE_LABELS.map((l) => e[l]).join('|');
}

export function edgeLabelsOf(labels: Readonly<Record<string, string>>): EdgeLabels {
  const out = {} as EdgeLabels;
  for (const l of EDGE_LABELS) out[l] = labels[l] ?? 'unknown';
  return out;
}

export const isFailure = (code: string): boolean => code.startsWith('5') || code === '0';

/**
 * Edges from the rows: per edge, the destination reporter when a destination sidecar reported it,
 * else the source. Response flags come from the source reporter when it has the edge: most are set
 * where the local reply is made, the caller's sidecar (FI, UO, UH, URX), and never reach the destination.
 */
export function deriveEdges(rates: Pick<MeshRates, 'requests' | 'latency'>): EdgeStats[] {
  const byEdge = new Map<string, { edge: EdgeLabels; rows: RequestRow[] }>();
  for (const r of rates.requests) {
    const k = edgeKey(r.edge);
    let g = byEdge.get(k);
    if (!g) byEdge.set(k, (g = { edge: r.edge, rows: [] }));
    g.rows.push(r);
  }
  const latency = new Map<string, LatencyRow>();
  for (const l of rates.latency) latency.set(`${l.reporter}|${edgeKey(l.edge)}`, l);
  const out: EdgeStats[] = [];
  for (const [k, { edge, rows }] of byEdge) {
    const reporter: Reporter = rows.some((r) => r.reporter === 'destination') ? 'destination' : 'source';
    const flagReporter: Reporter = rows.some((r) => r.reporter === 'source') ? 'source' : reporter;
    let rps = 0;
    let failed = 0;
    let requests = 0;
    const codes: Record<string, number> = {};
    const flags: Record<string, number> = {};
    for (const r of rows) {
      if (r.reporter === reporter) {
        rps += r.rps;
        requests += r.count;
        codes[r.code] = (codes[r.code] ?? 0) + r.rps;
        if (isFailure(r.code)) failed += r.rps;
      }
      if (r.reporter === flagReporter && r.flags !== '-' && r.flags !== '')
        for (const f of r.flags.split(',')) flags[f] = (flags[f] ?? 0) + r.count;
    }
    const lat = latency.get(`${reporter}|${k}`);
    out.push({
      id: k,
      source: { workload: edge.source_workload, namespace: edge.source_workload_namespace, app: edge.source_app, version: edge.source_version },
      destination: {
        service: edge.destination_service,
        name: edge.destination_service_name,
        namespace: edge.destination_service_namespace,
        workload: edge.destination_workload,
        version: edge.destination_version,
      },
      reporter,
      rps,
      requests,
      successRate: rps > 0 ? (rps - failed) / rps : null,
      p50: lat?.p50 ?? null,
      p95: lat?.p95 ?? null,
      p99: lat?.p99 ?? null,
      codes,
      flags,
    });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
