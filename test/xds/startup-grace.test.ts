// The control plane's startup grace (issue 8 item 5) at the protocol level, on the real ADS server:
// while it is warming, a proxy that reconnects with a config (SotW: a version on its first request;
// Delta: initial_resource_versions) is registered but not answered, so it keeps what it runs; a new
// proxy is answered at once. When warm-up ends, the held streams get the whole world.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeUrl, unpackAny, type DeltaDiscoveryRequestWire, type DeltaDiscoveryResponseWire, type DiscoveryRequestWire, type DiscoveryResponseWire } from '../../src/api/envoy.js';
import { configFrom, proxy } from '../translate/fixtures.js';
import { openAdsCall, serveLoopbackAds, sidecarNode } from './loopback-ads.js';

const { server, registry, address } = serveLoopbackAds({ graceMs: 20, config: () => configFrom(), extraProxies: () => [proxy('ratings', 'v1', 30)] });
const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

test('warming: reconnecting streams are held (both protocols), new ones are served, all are answered after', async () => {
  server.warming = true;
  const sotw = openAdsCall<Partial<DiscoveryRequestWire>, DiscoveryResponseWire>(address(), 'StreamAggregatedResources');
  sotw.write({ node: sidecarNode('sidecar~127.0.5.1~client-1', 'client', 'v1', '127.0.5.1'), type_url: TypeUrl.cluster, version_info: 'ran-before-the-restart', resource_names: [], response_nonce: '' });
  const delta = openAdsCall<Partial<DeltaDiscoveryRequestWire>, DeltaDiscoveryResponseWire>(address(), 'DeltaAggregatedResources');
  delta.write({ node: sidecarNode('sidecar~127.0.5.2~client-2', 'client', 'v1', '127.0.5.2'), type_url: TypeUrl.cluster, resource_names_subscribe: [], initial_resource_versions: { [REVIEWS]: 'abc' }, response_nonce: '' });
  const fresh = openAdsCall<Partial<DiscoveryRequestWire>, DiscoveryResponseWire>(address(), 'StreamAggregatedResources');
  fresh.write({ node: sidecarNode('sidecar~127.0.5.3~new-1', 'new', 'v1', '127.0.5.3'), type_url: TypeUrl.cluster, version_info: '', resource_names: [], response_nonce: '' });
  // The upstream the clients call comes back later, while they are held.
  const reviews = openAdsCall<Partial<DiscoveryRequestWire>, DiscoveryResponseWire>(address(), 'StreamAggregatedResources');
  reviews.write({ node: sidecarNode('sidecar~127.0.5.4~reviews-1', 'reviews', 'v1', '127.0.5.4'), type_url: TypeUrl.listener, version_info: 'ran-before', resource_names: [], response_nonce: '' });

  const first = await fresh.next();
  assert.equal(first.type_url, TypeUrl.cluster, 'a new proxy is served while warming');
  await settle();
  assert.equal(sotw.pending() + delta.pending() + reviews.pending(), 0, 'reconnecting proxies get nothing while warming');
  assert.equal(registry.proxies().length, 4, 'but all of them are registered');

  server.endWarmup();
  const cds = await sotw.next();
  assert.equal(cds.type_url, TypeUrl.cluster);
  assert.ok(cds.resources.map((a) => String(unpackAny(a).name)).includes(REVIEWS), 'the held proxy gets the world with reviews in it');
  const d = await delta.next();
  assert.equal(d.type_url, TypeUrl.cluster);
  assert.ok(!d.removed_resources.includes(REVIEWS), 'nothing it has is removed');
  assert.equal((await reviews.next()).type_url, TypeUrl.listener);
  for (const c of [sotw, delta, fresh, reviews]) c.close();
  await settle();
});
