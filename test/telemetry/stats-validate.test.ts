// The proxy's xDS edge for telemetry config, through the real protobuf round trip: Istio's
// stats.PluginConfig (HTTP and network), traffic_direction, and the endpoints' istio workload metadata.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HCM_TYPE_URL, packAny, ROUTER_TYPE_URL, TCP_PROXY_TYPE_URL, toStruct, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { ISTIO_STATS_FILTER, ISTIO_STATS_TYPE_URL } from '../../src/api/mesh-names.js';
import { validateResource, type ProxyXdsType } from '../../src/proxy/xds/decode.js';
import type { ClusterLoadAssignment, Listener } from '../../src/proxy/xds/model.js';

function roundTrip<K extends ProxyXdsType>(type: K, obj: object) {
  return validateResource<K>(type, unpackAny(packAny(TypeUrl[type], obj)));
}

const stats = (config: Record<string, unknown> = {}) => ({ name: ISTIO_STATS_FILTER, typed_config: { '@type': ISTIO_STATS_TYPE_URL, ...config } });
const hcm = (httpFilters: object[]) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: { '@type': HCM_TYPE_URL, stat_prefix: 's', rds: { route_config_name: 'r', config_source: { ads: {} } }, http_filters: httpFilters },
});
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE_URL } };
const tcp = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: 't', cluster: 'c' } };
const listener = (filters: object[], extra: object = {}) => ({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 15001 } }, filter_chains: [{ filters }], ...extra });

test('the HTTP stats filter with its defaults is accepted; traffic_direction is read', () => {
  const r = roundTrip('listener', listener([hcm([stats({ disable_host_header_fallback: true, tcp_reporting_duration: { seconds: 5 } }), router])], { traffic_direction: 'INBOUND' }));
  assert.ok(r.valid, JSON.stringify(r));
  const l = r.result as Listener;
  assert.equal(l.trafficDirection, 'INBOUND');
  const f = l.filterChains[0].terminal;
  assert.ok(f.kind === 'http_connection_manager' && f.hcm.httpFilters.some((x) => x.typeUrl === ISTIO_STATS_TYPE_URL));
  const unspecified = roundTrip('listener', listener([hcm([router])]));
  assert.ok(unspecified.valid && (unspecified.result as Listener).trafficDirection === 'UNSPECIFIED');
});

test('PluginConfig fields that would change the metrics are a NACK naming the field', () => {
  const r = roundTrip('listener', listener([hcm([stats({ metrics: [{ name: 'requests_total', tags_to_remove: ['x'] }], reporter: 'SERVER_GATEWAY' }), router])]));
  assert.ok(!r.valid);
  assert.match(r.errors.join('\n'), /http_filters\[0\]\.typed_config\.metrics\[0\]\.tags_to_remove\[0\]: "x" is not a label/);
  assert.match(r.errors.join('\n'), /http_filters\[0\]\.typed_config\.reporter: not supported/);
});

test('the network stats filter marks its tcp_proxy; before an HCM it is a NACK', () => {
  const ok = roundTrip('listener', listener([stats(), tcp], { traffic_direction: 'OUTBOUND' }));
  assert.ok(ok.valid, JSON.stringify(ok));
  const t = (ok.result as Listener).filterChains[0].terminal;
  assert.ok(t.kind === 'tcp_proxy' && t.tcp.istioStats);
  const plain = roundTrip('listener', listener([tcp]));
  assert.ok(plain.valid && plain.result.filterChains[0].terminal.kind === 'tcp_proxy' && !plain.result.filterChains[0].terminal.tcp.istioStats);
  const bad = roundTrip('listener', listener([stats(), hcm([router])]));
  assert.ok(!bad.valid);
  assert.match(bad.errors[0], /filters\[0\]: the istio\.stats network filter reports tcp_proxy connections/);
});

test("endpoints' istio workload metadata is parsed; a malformed value is a NACK with its path", () => {
  const lb = (workload: string) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9 } } }, metadata: { filter_metadata: { istio: toStruct({ workload }) } } });
  const ok = roundTrip('endpoint', { cluster_name: 'c', endpoints: [{ lb_endpoints: [lb('reviews-v2;default;reviews;v2;Kubernetes')] }] });
  assert.ok(ok.valid, JSON.stringify(ok));
  assert.deepEqual((ok.result as ClusterLoadAssignment).endpoints[0].workload, { workload: 'reviews-v2', namespace: 'default', app: 'reviews', version: 'v2', cluster: 'Kubernetes' });
  const bad = roundTrip('endpoint', { cluster_name: 'c', endpoints: [{ lb_endpoints: [lb('reviews')] }] });
  assert.ok(!bad.valid);
  assert.match(bad.errors[0], /endpoints\[0\]\.lb_endpoints\[0\]\.metadata\.filter_metadata\["istio"\]\.workload: expected "name;namespace;app;version;cluster", got "reviews"/);
});

test('an unknown traffic_direction is a NACK', () => {
  // Past protobuf (which knows the enum), as a decoded resource from another client would carry it.
  const r = validateResource('listener', { ...listener([hcm([router])]), traffic_direction: 'SIDEWAYS' });
  assert.ok(!r.valid);
  assert.match(r.errors[0], /traffic_direction: unknown value "SIDEWAYS"/);
});
