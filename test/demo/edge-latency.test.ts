// The demo's per-edge latency and flags: quantiles as Prometheus' histogram_quantile computes them, from
// the bucket deltas between refreshes (not since start), and flags counted from the caller's sidecar.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EdgeLatencyWatch, quantile, renderFlags, renderLatency, type LatencyEnd } from '../../src/demo/edge-latency.js';

const cumulative = (pairs: [number, number][]) => new Map(pairs);

test('quantile: linear within the bucket holding the rank, the highest finite bound in +Inf, nothing without requests', () => {
  const b = cumulative([[1, 0], [5, 10], [10, 20], [Infinity, 20]]);
  assert.equal(quantile(0.5, b), 5);
  assert.ok(Math.abs(quantile(0.99, b)! - 9.9) < 1e-9);
  assert.equal(quantile(0.5, cumulative([[1, 0], [Infinity, 5]])), 1);
  assert.equal(quantile(0.25, cumulative([[2, 4], [Infinity, 4]])), 0.5, 'the first bucket starts at 0');
  assert.equal(quantile(0.5, cumulative([[1, 0], [Infinity, 0]])), undefined);
});

/** One caller's exposition: `slow` requests in the 1000 ms bucket and `fast` in the 1 ms one, to reviews,
 * and `overflows` answered with UO; plus a destination-reporter series that must be ignored. */
function exposition(fast: number, slow: number, overflows: number): string {
  const l = (extra: string) => `{reporter="source",destination_service_name="reviews",response_flags="-"${extra}}`;
  const lines = [
    '# TYPE istio_request_duration_milliseconds histogram',
    ...[[0.5, 0], [1, fast], [500, fast], [1000, fast + slow], [Infinity, fast + slow]].map(([le, n]) => `istio_request_duration_milliseconds_bucket${l(`,le="${le === Infinity ? '+Inf' : le}"`)} ${n}`),
    `istio_request_duration_milliseconds_bucket{reporter="destination",destination_service_name="reviews",le="+Inf"} 999`,
    `istio_requests_total{reporter="source",destination_service_name="reviews",response_flags="UO"} ${overflows}`,
    `istio_requests_total{reporter="source",destination_service_name="reviews",response_flags="-"} ${fast + slow}`,
    `istio_requests_total{reporter="destination",destination_service_name="reviews",response_flags="FI"} 7`,
  ];
  return lines.join('\n') + '\n';
}

test('p50/p99 come from the requests since earlier refreshes; flags count since start, source reporter only', async () => {
  const ends: LatencyEnd[] = [{ service: 'productpage', calls: ['reviews'], telemetryPort: 1 }];
  const texts = [exposition(0, 100, 2), exposition(50, 100, 3)];
  const watch = new EdgeLatencyWatch(ends, async () => texts.shift());
  assert.equal(renderLatency(watch.of('productpage', 'reviews')), 'p50     — ms  p99     — ms');
  await watch.poll();
  // One refresh: the cumulative counts themselves (100 slow ones).
  assert.ok(watch.of('productpage', 'reviews').p50! > 500);
  await watch.poll();
  // Since then only fast requests finished: the slow ones from before are not in the window.
  const l = watch.of('productpage', 'reviews');
  assert.ok(l.p50! <= 1 && l.p99! <= 1, renderLatency(l));
  assert.equal(renderFlags(l), 'flags UO 3');
  assert.equal(renderFlags(watch.of('productpage', 'details')), 'flags -');
  // A sidecar that does not answer keeps the last figures.
  await watch.poll();
  assert.equal(renderFlags(watch.of('productpage', 'reviews')), 'flags UO 3');
});
