// The dashboard's numbers from a real Prometheus (`--prometheus-url`) over its HTTP API, with the
// PromQL Kiali runs: request rates summed by edge, reporter, code and flags, and histogram_quantile()
// over the summed bucket rates. Same rows as the embedded scraper, so the pages cannot tell them apart.
import { EDGE_LABELS, edgeLabelsOf, type ClusterHealthRow, type LatencyRow, type MeshRates, type MetricsSource, type RequestRow } from './edges.js';
import { CLUSTER_GAUGES } from './exposition.js';

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

const EDGE_BY = EDGE_LABELS.join(', ');

/** The queries for one range, by what they answer (exported for the docs and tests). */
export function dashboardQueries(rangeSeconds: number): { requests: string; quantiles: Record<'p50' | 'p95' | 'p99', string>; clusters: string } {
  const r = `${rangeSeconds}s`;
  const quantile = (q: number) => `histogram_quantile(${q}, sum by (le, reporter, ${EDGE_BY}) (rate(istio_request_duration_milliseconds_bucket[${r}])))`;
  return {
    requests: `sum by (reporter, ${EDGE_BY}, response_code, response_flags) (rate(istio_requests_total[${r}]))`,
    quantiles: { p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99) },
    clusters: `{__name__=~"${CLUSTER_GAUGES.join('|')}"}`,
  };
}

export class PrometheusSource implements MetricsSource {
  readonly kind = 'prometheus' as const;
  private readonly base: string;

  constructor(url: string, private readonly timeoutMs = 5000) {
    this.base = url.replace(/\/+$/, '');
  }

  private async query(q: string): Promise<VectorSample[]> {
    const res = await fetch(`${this.base}/api/v1/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    const body = (await res.json().catch(() => undefined)) as { status?: string; error?: string; data?: { resultType?: string; result?: VectorSample[] } } | undefined;
    if (!res.ok || body?.status !== 'success') throw new Error(`Prometheus ${res.status}: ${body?.error ?? 'no answer'}`);
    if (body.data?.resultType !== 'vector') throw new Error(`Prometheus: expected a vector, got ${body.data?.resultType}`);
    return body.data.result ?? [];
  }

  async read(rangeSeconds: number): Promise<MeshRates> {
    const q = dashboardQueries(rangeSeconds);
    const errors: string[] = [];
    const run = (query: string) =>
      this.query(query).catch((err: Error) => {
        errors.push(`${err.message} (query: ${query})`);
        return [] as VectorSample[];
      });
    const [req, p50, p95, p99, gauges] = await Promise.all([run(q.requests), run(q.quantiles.p50), run(q.quantiles.p95), run(q.quantiles.p99), run(q.clusters)]);
    const num = (s: VectorSample) => Number(s.value[1]);
    const requests: RequestRow[] = req.map((s) => ({
      edge: edgeLabelsOf(s.metric),
      reporter: s.metric.reporter === 'destination' ? 'destination' : 'source',
      code: s.metric.response_code ?? '',
      flags: s.metric.response_flags ?? '-',
      rps: num(s),
      count: num(s) * rangeSeconds,
    }));
    const latency = new Map<string, LatencyRow>();
    for (const [which, rows] of [['p50', p50], ['p95', p95], ['p99', p99]] as const)
      for (const s of rows) {
        const key = JSON.stringify(s.metric);
        let row = latency.get(key);
        if (!row) latency.set(key, (row = { edge: edgeLabelsOf(s.metric), reporter: s.metric.reporter === 'destination' ? 'destination' : 'source', p50: null, p95: null, p99: null }));
        const v = num(s);
        row[which] = Number.isFinite(v) ? v : null;
      }
    const clusters = new Map<string, ClusterHealthRow>();
    for (const s of gauges) {
      const proxy = s.metric.instance ?? s.metric.pod ?? 'unknown';
      const key = `${proxy}|${s.metric.cluster_name}`;
      let row = clusters.get(key);
      if (!row) clusters.set(key, (row = { proxy, cluster: s.metric.cluster_name ?? '', healthy: 0, total: 0, ejectionsActive: 0 }));
      if (s.metric.__name__ === 'envoy_cluster_membership_healthy') row.healthy = num(s);
      else if (s.metric.__name__ === 'envoy_cluster_membership_total') row.total = num(s);
      else row.ejectionsActive = num(s);
    }
    return { source: 'prometheus', rangeSeconds, requests, latency: [...latency.values()], clusters: [...clusters.values()], errors };
  }

  close(): void {}
}
