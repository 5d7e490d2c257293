// The series cache of Istio's metrics: labels resolved once per outcome key, and bounded against
// callers that write junk peer headers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IstioMetrics, ISTIO_LABELS, type IstioLabels } from '../../src/proxy/telemetry/istio-metrics.js';
import { MetricRegistry, observe } from '../../src/proxy/telemetry/registry.js';
import { parseExposition, sumOf } from '../helpers/prom-text.js';

const labels = (sourceWorkload: string): IstioLabels => ({ ...(Object.fromEntries(ISTIO_LABELS.map((l) => [l, 'x'])) as IstioLabels), reporter: 'destination', source_workload: sourceWorkload });

function exposition(m: IstioMetrics) {
  const out: string[] = [];
  m.registry.render(out, false);
  return parseExposition(out.join(''));
}

test('labels are resolved once per key; the series is reused', () => {
  const m = new IstioMetrics();
  let resolved = 0;
  for (let i = 0; i < 100; i++) {
    m.request('k', false, () => (resolved++, labels('productpage-v1'))).requests.value++;
  }
  assert.equal(resolved, 1);
  assert.equal(sumOf(exposition(m), 'istio_requests_total', { source_workload: 'productpage-v1' }), 100);
  // Message counters exist for gRPC series only.
  assert.equal(m.request('k', false, () => labels('a')).requestMessages, undefined);
  assert.ok(m.request('g', true, () => labels('a')).requestMessages);
});

test('past the series limit, new outcomes are counted with unknown workloads (and the overflow is counted)', () => {
  const m = new IstioMetrics(new MetricRegistry(), 2);
  for (let i = 0; i < 10; i++) m.request(`junk-${i}`, false, () => labels(`junk-${i}`)).requests.value++;
  const s = exposition(m);
  assert.equal(sumOf(s, 'istio_requests_total', {}), 10, 'every request is still counted');
  assert.equal(s.filter((x) => x.name === 'istio_requests_total').length, 3, 'two series, then one overflow series');
  assert.equal(sumOf(s, 'istio_requests_total', { source_workload: 'unknown' }), 8);
  assert.equal(sumOf(s, 'weft_istio_series_overflow_total', {}), 8);
});

test("the size histograms have Envoy's default buckets, as an Istio sidecar's (no size buckets of Istio's own)", () => {
  const m = new IstioMetrics();
  const s = m.request('k', false, () => labels('productpage-v1'));
  observe(m.responseBytes, s.responseBytes, 18);
  observe(m.requestBytes, s.requestBytes, 0);
  const out = exposition(m);
  const les = (name: string) => out.filter((x) => x.name === name).map((x) => x.labels.le);
  const envoyDefault = ['0.5', '1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000', '60000', '300000', '600000', '1800000', '3600000', '+Inf'];
  assert.deepEqual(les('istio_response_bytes_bucket'), envoyDefault);
  assert.deepEqual(les('istio_request_bytes_bucket'), envoyDefault);
  // 18 bytes: above 10, within 25.
  assert.equal(sumOf(out, 'istio_response_bytes_bucket', { le: '10' }), 0);
  assert.equal(sumOf(out, 'istio_response_bytes_bucket', { le: '25' }), 1);
  assert.equal(sumOf(out, 'istio_request_bytes_bucket', { le: '0.5' }), 1, 'an empty body is in the first bucket');
});

test('two outcome keys with the same labels share one series (Prometheus refuses a scrape with a label set twice)', () => {
  const m = new IstioMetrics();
  // As a subset's cluster and the plain one reaching the same workload do.
  m.request('outbound|9080||reviews|200', false, () => labels('productpage-v1')).requests.value += 3;
  m.request('outbound|9080|v1|reviews|200', false, () => labels('productpage-v1')).requests.value += 2;
  m.tcp('a', () => labels('tcp-client-v1')).opened.value++;
  m.tcp('b', () => labels('tcp-client-v1')).opened.value++;
  const s = exposition(m);
  assert.equal(s.filter((x) => x.name === 'istio_requests_total').length, 1);
  assert.equal(sumOf(s, 'istio_requests_total', {}), 5);
  assert.equal(s.filter((x) => x.name === 'istio_request_duration_milliseconds_count').length, 1);
  assert.equal(s.filter((x) => x.name === 'istio_tcp_connections_opened_total').length, 1);
  assert.equal(sumOf(s, 'istio_tcp_connections_opened_total', {}), 2);
});
