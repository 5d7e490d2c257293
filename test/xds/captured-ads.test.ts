// A captured sidecar (node metadata INTERCEPTION_MODE REDIRECT) against the real AdsServer over
// loopback gRPC, SotW and Delta: it is served Istio's transparent layout (virtualOutbound with
// use_original_dst, a listener and a route table per port), registers its endpoint on the app's own
// port, and an explicit sidecar of the same mesh keeps its layout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toStruct, TypeUrl, unpackAny, type DeltaDiscoveryRequestWire, type DeltaDiscoveryResponseWire, type DiscoveryRequestWire, type DiscoveryResponseWire, type NodeWire } from '../../src/api/envoy.js';
import { configFrom, proxy } from '../translate/fixtures.js';
import { openAdsCall, serveLoopbackAds, sidecarNode } from './loopback-ads.js';

const { address } = serveLoopbackAds({ graceMs: 20, config: () => configFrom(), extraProxies: () => [proxy('reviews', 'v1', 30)] });

const capturedNode = (id: string): NodeWire => ({
  id,
  cluster: 'productpage',
  metadata: toStruct({ NAMESPACE: 'default', LABELS: { app: 'productpage', version: 'v1' }, INSTANCE_IPS: '127.0.3.2', WEFT_SERVICE: 'productpage', INTERCEPTION_MODE: 'REDIRECT', WEFT_PORTS: [{ service_port: 9080, app_port: 8080, protocol: 'HTTP' }] }),
});

async function sotw(node: NodeWire, typeUrl: string, names: string[] = []): Promise<Array<Record<string, any>>> {
  const c = openAdsCall<Partial<DiscoveryRequestWire>, DiscoveryResponseWire>(address(), 'StreamAggregatedResources');
  try {
    c.write({ node, type_url: typeUrl, resource_names: names, response_nonce: '', version_info: '' });
    const r = await c.next();
    return r.resources.map((a) => unpackAny(a) as Record<string, any>);
  } finally {
    c.close();
  }
}

test('captured SotW: virtualOutbound with use_original_dst, 0.0.0.0_9080 with route table "9080", virtualInbound', async () => {
  const node = capturedNode('sidecar~127.0.3.2~productpage-1.default~default.svc.cluster.local');
  const listeners = await sotw(node, TypeUrl.listener);
  const byName = new Map(listeners.map((l) => [l.name, l]));
  assert.deepEqual(byName.get('virtualOutbound')?.use_original_dst, { value: true });
  assert.equal(byName.get('virtualOutbound')?.address.socket_address.address, '0.0.0.0');
  assert.equal(byName.get('0.0.0.0_9080')?.filter_chains[0].filters[0].typed_config.rds.route_config_name, '9080');
  assert.deepEqual(byName.get('0.0.0.0_9080')?.bind_to_port, { value: false });
  assert.equal(byName.get('virtualInbound')?.listener_filters[0].name, 'envoy.filters.listener.original_dst');
  const routes = await sotw(node, TypeUrl.route, ['9080']);
  assert.deepEqual(routes.map((r) => r.name), ['9080']);
  assert.ok(routes[0].virtual_hosts.some((v: any) => v.name === 'reviews.default.svc.cluster.local:9080' && v.domains.includes('reviews')));
  assert.equal(routes[0].virtual_hosts.at(-1).name, 'allow_any');
  // Its own endpoint is registered on the app port (peers' captures send there).
  const endpoints = await sotw(node, TypeUrl.endpoint, ['outbound|9080||productpage.default.svc.cluster.local']);
  assert.deepEqual(endpoints[0]?.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address), [{ address: '127.0.3.2', port_value: 8080 }]);
});

test('an explicit sidecar of the same mesh keeps the explicit layout', async () => {
  const listeners = await sotw(sidecarNode('sidecar~127.0.3.3~details-1.default~default.svc.cluster.local', 'details', 'v1', '127.0.3.3'), TypeUrl.listener);
  assert.deepEqual(listeners.map((l) => l.name), ['virtualOutbound', 'virtualInbound']);
  assert.equal(listeners[0].address.socket_address.address, '127.0.0.1');
  assert.equal(listeners[0].use_original_dst, undefined);
});

test('captured Delta: the same listeners, and whole route tables (no VHDS)', async () => {
  const c = openAdsCall<DeltaDiscoveryRequestWire, DeltaDiscoveryResponseWire>(address(), 'DeltaAggregatedResources');
  try {
    const base = { resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {}, response_nonce: '' };
    c.write({ ...base, node: capturedNode('sidecar~127.0.3.4~productpage-2.default~default.svc.cluster.local'), type_url: TypeUrl.listener });
    const l = await c.next();
    const names = l.resources.map((r) => r.name);
    for (const n of ['virtualOutbound', 'virtualInbound', '0.0.0.0_9080']) assert.ok(names.includes(n), n);
    c.write({ ...base, type_url: TypeUrl.route, resource_names_subscribe: ['9080'] });
    const r = await c.next();
    assert.deepEqual(r.resources.map((x) => x.name), ['9080']);
    const table = unpackAny(r.resources[0].resource!) as Record<string, any>;
    assert.equal(table.vhds, undefined);
    assert.ok(table.virtual_hosts.length >= 2);
  } finally {
    c.close();
  }
});
