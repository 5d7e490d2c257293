// The series cache of Istio's metrics: labels resolved once per outcome key, and bounded against
// callers that write junk peer headers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IstioMetrics, ISTIO_LABELS, type IstioLabels } from '../../src/proxy/telemetry/istio-metrics.js';
import { MetricRegistry } from '../../src/proxy/telemetry/registry.js';
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
