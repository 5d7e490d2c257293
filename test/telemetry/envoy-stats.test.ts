// The proxy's own stats, kept once: admin keys as Envoy prints them, Prometheus names and tags as
// Envoy's exporter writes them (and what OpenMetrics can express).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminKey, renderEnvoyPrometheus, type StatEntry } from '../../src/proxy/telemetry/envoy-stats.js';
import { parseExposition, sumOf } from '../helpers/prom-text.js';

const entries: StatEntry[] = [
  { scope: 'cluster', instance: 'outbound|9080||reviews.default.svc.cluster.local', stat: 'upstream_rq_total', value: 7 },
  { scope: 'cluster', instance: 'outbound|9080||reviews.default.svc.cluster.local', stat: 'outlier_detection.ejections_active', value: 1 },
  { scope: 'cluster', instance: 'xds-grpc', stat: 'upstream_cx_active', value: 1 },
  { scope: 'listener', instance: 'virtualInbound', tag: '0.0.0.0_15006', stat: 'downstream_cx_total', value: 3 },
  { scope: 'server', stat: 'live', value: 1 },
  { scope: 'cluster', instance: 'c', stat: 'upstream_rq_retry', value: 2 },
  { scope: 'filter', stat: 'inbound_0.0.0.0_15006.rbac.allowed', value: 4 },
];

test("admin keys are Envoy's dotted names", () => {
  assert.deepEqual(entries.map(adminKey), [
    'cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total',
    'cluster.outbound|9080||reviews.default.svc.cluster.local.outlier_detection.ejections_active',
    'cluster.xds-grpc.upstream_cx_active',
    'listener.virtualInbound.downstream_cx_total',
    'server.live',
    'cluster.c.upstream_rq_retry',
    'inbound_0.0.0.0_15006.rbac.allowed',
  ]);
});

test("Prometheus: envoy_<scope>_<stat> with Envoy's tags; gauges and counters typed", () => {
  const out: string[] = [];
  renderEnvoyPrometheus(entries, out, false);
  const text = out.join('');
  const s = parseExposition(text);
  assert.equal(sumOf(s, 'envoy_cluster_upstream_rq_total', { cluster_name: 'outbound|9080||reviews.default.svc.cluster.local' }), 7);
  assert.equal(sumOf(s, 'envoy_cluster_outlier_detection_ejections_active', { cluster_name: 'outbound|9080||reviews.default.svc.cluster.local' }), 1);
  assert.equal(sumOf(s, 'envoy_listener_downstream_cx_total', { listener_address: '0.0.0.0_15006' }), 3);
  assert.equal(sumOf(s, 'envoy_inbound_0_0_0_0_15006_rbac_allowed', {}), 4);
  assert.match(text, /# TYPE envoy_cluster_upstream_cx_active gauge\n/);
  assert.match(text, /# TYPE envoy_cluster_outlier_detection_ejections_active gauge\n/);
  assert.match(text, /# TYPE envoy_server_live gauge\n/);
  assert.match(text, /# TYPE envoy_cluster_upstream_rq_total counter\n/);
  // One TYPE line per family, however many instances.
  assert.equal(text.match(/# TYPE envoy_cluster_upstream_rq_total /g)?.length, 1);
});

test('OpenMetrics: counters ending in _total keep the family name without it; others are typed unknown', () => {
  const out: string[] = [];
  renderEnvoyPrometheus(entries, out, true);
  const text = out.join('');
  assert.match(text, /# TYPE envoy_cluster_upstream_rq counter\nenvoy_cluster_upstream_rq_total\{/);
  assert.match(text, /# TYPE envoy_cluster_upstream_rq_retry unknown\n/);
  assert.match(text, /# TYPE envoy_server_live gauge\n/);
});
