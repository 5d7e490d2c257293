// SotW LDS and CDS by name, as gRPC's proxyless clients ask for them (the listener of the dial
// target, then the clusters its routes name): a response holds exactly the subscribed resources that
// exist, every one of them each time; a push that changes none of them sends nothing. A node without
// Weft metadata is served, not registered.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toStruct, TypeUrl, unpackAny, type DiscoveryRequestWire, type DiscoveryResponseWire } from '../../src/api/envoy.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { configFrom, fixture, proxy } from '../translate/fixtures.js';
import { openAdsCall, serveLoopbackAds } from './loopback-ads.js';

let extra: ProxyNode[] = [proxy('reviews', 'v1', 3), proxy('ratings', 'v1', 4)];
let config = configFrom();
const { server, registry, rebuild, address, handled } = serveLoopbackAds({ graceMs: 50, config: () => config, extraProxies: () => extra });

const ID = 'proxyless~127.0.0.9~app.default~default.svc.cluster.local';
const node = { id: ID, cluster: '', user_agent_name: 'gRPC Node Pure JS', client_features: ['envoy.lb.does_not_support_overprovisioning'], metadata: toStruct({ GENERATOR: 'grpc', NAMESPACE: 'default' }) };
const names = (r: DiscoveryResponseWire) => r.resources.map((a) => String(unpackAny(a).name)).sort();

test('named LDS and CDS: exactly what was asked for, all of it each time, nothing when none changed', async () => {
  const c = openAdsCall<Partial<DiscoveryRequestWire>, DiscoveryResponseWire>(address(), 'StreamAggregatedResources');
  let sent = 0;
  const send = (req: Partial<DiscoveryRequestWire>) => (c.write({ node, version_info: '', response_nonce: '', resource_names: [], ...req }), handled(ID, ++sent));
  await send({ type_url: TypeUrl.listener, resource_names: ['reviews:9080'] });
  const l1 = await c.next();
  assert.deepEqual(names(l1), ['reviews:9080']);
  assert.ok(unpackAny(l1.resources[0]).api_listener, 'an API listener');
  assert.equal(registry.proxies().some((p) => p.id === ID), false, 'a proxyless client is not a registry workload');

  // Another target joins the subscription: the response holds both (SotW LDS: absent means removed).
  await send({ type_url: TypeUrl.listener, resource_names: ['reviews:9080', 'ratings.default.svc.cluster.local:9080', 'nosuch:1'], version_info: l1.version_info, response_nonce: l1.nonce });
  const l2 = await c.next();
  assert.deepEqual(names(l2), ['ratings.default.svc.cluster.local:9080', 'reviews:9080']);
  await send({ type_url: TypeUrl.listener, resource_names: ['reviews:9080', 'ratings.default.svc.cluster.local:9080', 'nosuch:1'], version_info: l2.version_info, response_nonce: l2.nonce });

  await send({ type_url: TypeUrl.cluster, resource_names: ['outbound|9080||reviews.default.svc.cluster.local'] });
  const c1 = await c.next();
  assert.deepEqual(names(c1), ['outbound|9080||reviews.default.svc.cluster.local']);
  await send({ type_url: TypeUrl.cluster, resource_names: ['outbound|9080||reviews.default.svc.cluster.local'], version_info: c1.version_info, response_nonce: c1.nonce });

  // A DestinationRule for other hosts changes CDS as a whole but not the subscribed cluster: no push.
  const written = server.responses;
  config = configFrom(fixture('istio/bookinfo/networking/destination-rule-all.yaml'));
  rebuild();
  await new Promise((r) => setImmediate(r));
  assert.equal(server.responses, written, 'nothing this client asked for changed');
  assert.equal(c.pending(), 0);

  // A new instance of the service changes no listener or cluster either; its endpoints it did not ask for.
  extra = [...extra, proxy('reviews', 'v2', 5)];
  rebuild();
  await new Promise((r) => setImmediate(r));
  assert.equal(server.responses, written);
  c.close();
});
