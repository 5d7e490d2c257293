// The dashboard's window math: histogram_quantile() as PromQL computes it (the expected values are
// Prometheus' own, promql/testdata/histograms.test), counter increases across resets, and the
// embedded window's rates, bounds and expiry — all on explicit timestamps, no clock.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { histogramQuantile, increase } from '../../src/controlplane/observe/histogram.js';
import { MetricWindow } from '../../src/controlplane/observe/window.js';
import { parseWanted, type ScrapedSample } from '../../src/controlplane/observe/exposition.js';
import { deriveEdges, type RequestRow } from '../../src/controlplane/observe/edges.js';

// Prometheus' testhistogram at 50m: `0+5x10` etc. are cumulative counts 50, 70, 110, 120.
const positive = [
  { le: 0.1, count: 50 },
  { le: 0.2, count: 70 },
  { le: 1, count: 110 },
  { le: Infinity, count: 120 },
];
const negative = [
  { le: -0.2, count: 10 },
  { le: -0.1, count: 20 },
  { le: 0.3, count: 20 },
  { le: Infinity, count: 30 },
];

describe('histogramQuantile matches PromQL', () => {
  const cases: Array<{ q: number; positive: number; negative: number }> = [
    { q: -0.1, positive: -Infinity, negative: -Infinity },
    { q: 1.01, positive: Infinity, negative: Infinity },
    { q: 0, positive: 0, negative: -0.2 },
    { q: 1, positive: 1, negative: 0.3 },
    { q: 0.2, positive: 0.048, negative: -0.2 },
    { q: 0.5, positive: 0.15, negative: -0.15 },
    { q: 0.8, positive: 0.72, negative: 0.3 },
  ];
  for (const c of cases)
    it(`q=${c.q}`, () => {
      assert.ok(Math.abs(histogramQuantile(c.q, positive) - c.positive) < 1e-12 || histogramQuantile(c.q, positive) === c.positive, `positive: ${histogramQuantile(c.q, positive)}`);
      assert.ok(Math.abs(histogramQuantile(c.q, negative) - c.negative) < 1e-12 || histogramQuantile(c.q, negative) === c.negative, `negative: ${histogramQuantile(c.q, negative)}`);
    });
  it('NaN without +Inf, with one bucket, or with no observations', () => {
    assert.ok(Number.isNaN(histogramQuantile(0.5, positive.slice(0, 3))));
    assert.ok(Number.isNaN(histogramQuantile(0.5, [{ le: Infinity, count: 3 }])));
    assert.ok(Number.isNaN(histogramQuantile(0.5, positive.map((b) => ({ ...b, count: 0 })))));
  });
  it('buckets in any order; non-monotonic counts are made monotonic', () => {
    assert.equal(histogramQuantile(0.5, [...positive].reverse()), histogramQuantile(0.5, positive));
    // A dip (bucket rates read a moment apart) counts as the running maximum, as Prometheus does.
    assert.equal(histogramQuantile(0.5, [{ le: 1, count: 10 }, { le: 2, count: 8 }, { le: Infinity, count: 10 }]), 0.5);
  });
});

describe('increase', () => {
  it('sums growth and counts up from zero after a reset', () => {
    assert.deepEqual(increase([{ t: 0, v: 10 }, { t: 1000, v: 15 }, { t: 2000, v: 3 }, { t: 4000, v: 7 }]), { increase: 5 + 3 + 4, seconds: 4 });
    assert.equal(increase([{ t: 0, v: 1 }]), undefined);
  });
});

const labels = (o: Record<string, string>) => ({
  source_workload: 'productpage-v1', source_workload_namespace: 'default', source_app: 'productpage', source_version: 'v1',
  destination_service: 'reviews.default.svc.cluster.local', destination_service_name: 'reviews', destination_service_namespace: 'default',
  destination_workload: 'reviews-v2', destination_workload_namespace: 'default', destination_version: 'v2', response_flags: '-', ...o,
});
const req = (reporter: string, code: string, value: number, extra: Record<string, string> = {}): ScrapedSample => ({ name: 'istio_requests_total', labels: labels({ reporter, response_code: code, ...extra }), value });

describe('MetricWindow', () => {
  const limits = { windowMs: 60_000, maxSamples: 100, maxSeries: 1000 };
  it('rates over the scrapes in range; raw series that differ in other labels are summed', () => {
    const w = new MetricWindow(limits);
    w.ingest('pp', 0, [req('source', '200', 10, { source_principal: 'a' }), req('source', '200', 5, { source_principal: 'b' })]);
    w.ingest('pp', 10_000, [req('source', '200', 60, { source_principal: 'a' }), req('source', '200', 5, { source_principal: 'b' })]);
    const r = w.rates(60, 10_000);
    assert.equal(r.requests.length, 1);
    assert.equal(r.requests[0].count, 50);
    assert.equal(r.requests[0].rps, 5);
  });
  it("a series first seen on a known proxy counts from zero since the proxy's last scrape", () => {
    const w = new MetricWindow(limits);
    w.ingest('pp', 0, [req('source', '200', 10)]);
    w.ingest('pp', 5000, [req('source', '200', 20), req('source', '503', 4, { response_flags: 'FI' })]);
    const rows = w.rates(60, 5000).requests;
    const fi = rows.find((r) => r.code === '503')!;
    assert.equal(fi.count, 4, 'the first four fault-injected 503s are counted');
    assert.equal(fi.rps, 4 / 5);
  });
  it('a counter reset (the proxy restarted under the same id) is not a negative rate', () => {
    const w = new MetricWindow(limits);
    w.ingest('pp', 0, [req('source', '200', 100)]);
    w.ingest('pp', 1000, [req('source', '200', 110)]);
    w.ingest('pp', 2000, [req('source', '200', 6)]);
    assert.equal(w.rates(60, 2000).requests[0].count, 16);
  });
  it('only scrapes inside the range count', () => {
    const w = new MetricWindow(limits);
    for (let i = 0; i <= 6; i++) w.ingest('pp', i * 10_000, [req('source', '200', i < 3 ? i * 100 : 200 + (i - 2) * 10)]);
    // Last 30 s: scrapes at 30, 40, 50, 60 s with values 210, 220, 230, 240.
    const r = w.rates(30, 60_000).requests[0];
    assert.equal(r.count, 30);
    assert.equal(r.rps, 1);
  });
  it('bounded: samples per series, series in all, and expiry past the window', () => {
    const w = new MetricWindow({ windowMs: 60_000, maxSamples: 3, maxSeries: 2 });
    w.ingest('pp', 0, [req('source', '200', 1), req('source', '404', 1), req('source', '500', 1)]);
    assert.equal(w.series, 2);
    assert.equal(w.droppedSeries, 1);
    for (let i = 1; i <= 5; i++) w.ingest('pp', i * 1000, [req('source', '200', 1 + i)]);
    // Three samples kept: t = 3, 4, 5 s.
    assert.equal(w.rates(60, 5000).requests.find((r) => r.code === '200')!.count, 2);
    w.ingest('pp', 200_000, []);
    assert.equal(w.series, 0, 'every sample aged out');
    assert.deepEqual(w.targetNames(), ['pp']);
    w.forget('pp');
    assert.deepEqual(w.targetNames(), []);
  });
  it('latency quantiles from summed bucket increases', () => {
    const w = new MetricWindow(limits);
    const bucket = (le: string, v: number): ScrapedSample => ({ name: 'istio_request_duration_milliseconds_bucket', labels: labels({ reporter: 'destination', le }), value: v });
    w.ingest('rv', 0, [bucket('1', 0), bucket('5', 0), bucket('10', 0), bucket('+Inf', 0)]);
    w.ingest('rv', 2000, [bucket('1', 50), bucket('5', 90), bucket('10', 100), bucket('+Inf', 100)]);
    const l = w.rates(60, 2000).latency[0];
    assert.equal(l.p50, 1);
    assert.equal(l.p95, 7.5);
    assert.equal(l.p99, 9.5);
  });
});

describe('parseWanted', () => {
  it('keeps the dashboard families only, unescapes labels, skips malformed lines', () => {
    const text = [
      '# TYPE istio_requests_total counter',
      'istio_requests_total{reporter="source",source_workload="a\\"b",response_code="200"} 7',
      'istio_requests_total{reporter="source" 3',
      'envoy_cluster_upstream_rq_total{cluster_name="x"} 9',
      'envoy_cluster_membership_healthy{cluster_name="outbound|9080||reviews.default.svc.cluster.local"} 3',
      'istio_request_duration_milliseconds_bucket{le="+Inf"} 4 1700000000000',
    ].join('\n');
    const s = parseWanted(text);
    assert.deepEqual(s.map((x) => x.name), ['istio_requests_total', 'envoy_cluster_membership_healthy', 'istio_request_duration_milliseconds_bucket']);
    assert.equal(s[0].labels.source_workload, 'a"b');
    assert.equal(s[2].value, 4);
  });
});

describe('deriveEdges', () => {
  const edge = labels({}) as never;
  const row = (reporter: 'source' | 'destination', code: string, rps: number, flags = '-'): RequestRow => ({ edge, reporter, code, flags, rps, count: rps * 60 });
  it('the destination reporter when a destination sidecar reported the edge; flags from the source', () => {
    const [e] = deriveEdges({ requests: [row('source', '200', 9), row('source', '503', 1, 'UO'), row('destination', '200', 9), row('destination', '500', 1)], latency: [] });
    assert.equal(e.reporter, 'destination');
    assert.equal(e.rps, 10);
    assert.equal(e.successRate, 0.9);
    assert.deepEqual(e.flags, { UO: 60 });
  });
  it('the source reporter when no destination sidecar reported it', () => {
    const [e] = deriveEdges({ requests: [row('source', '200', 3), row('source', '0', 1, 'UF,URX')], latency: [{ edge, reporter: 'source', p50: 1, p95: 2, p99: 3 }] });
    assert.equal(e.reporter, 'source');
    assert.equal(e.successRate, 0.75, 'no response (code 0) is a failure');
    assert.deepEqual(e.flags, { UF: 60, URX: 60 });
    assert.equal(e.p99, 3);
  });
});
