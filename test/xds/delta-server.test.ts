// Delta ADS against the real AdsServer over loopback gRPC: wildcard and named subscriptions, per-
// resource versions, initial_resource_versions on reconnect, removals, NACK, stale nonces, and VHDS
// (virtual hosts by host alias, a host that does not exist, a VirtualService edit reaching only the
// proxies subscribed to that host) with what /debug/syncz says meanwhile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeUrl, unpackAny, type DeltaDiscoveryRequestWire, type DeltaDiscoveryResponseWire } from '../../src/api/envoy.js';
import { configFrom, fixture, proxy, reviewsTo } from '../translate/fixtures.js';
import { openAdsCall, serveLoopbackAds, sidecarNode } from './loopback-ads.js';

const DR = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
let config = configFrom(DR);
// ratings and details always exist (registered by instances that never connect); reviews too.
const fixed = [proxy('ratings', 'v1', 20), proxy('details', 'v1', 21), proxy('reviews', 'v1', 22)];
let extra = [proxy('extra', 'v1', 23)];
const { server, rebuild, address, handled } = serveLoopbackAds({ graceMs: 20, config: () => config, extraProxies: () => [...fixed, ...extra] });

let instances = 0;
function connectDelta(service: string, version: string) {
  const c = openAdsCall<DeltaDiscoveryRequestWire, DeltaDiscoveryResponseWire>(address(), 'DeltaAggregatedResources');
  const id = `sidecar~127.0.2.${++instances}~${service}-${version}.default~default.svc.cluster.local`;
  const node = sidecarNode(id, service, version, `127.0.2.${instances}`);
  let sent = 0;
  const send = (typeUrl: string, fields: Partial<DeltaDiscoveryRequestWire> = {}) => {
    c.write({ ...(sent ? {} : { node }), type_url: typeUrl, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {}, response_nonce: '', ...fields });
    sent++;
  };
  const ack = (r: DeltaDiscoveryResponseWire, extraFields: Partial<DeltaDiscoveryRequestWire> = {}) => {
    c.write({ type_url: r.type_url, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {}, response_nonce: r.nonce, ...extraFields });
    sent++;
  };
  return {
    ...c,
    id,
    send,
    ack,
    /** Send, and resolve once the server has handled it and every request before it. */
    sendHandled: (typeUrl: string, fields: Partial<DeltaDiscoveryRequestWire> = {}) => (send(typeUrl, fields), handled(id, sent)),
    /** ACK (or NACK, with error_detail), and resolve once the server has handled it and all before. */
    ackHandled: (r: DeltaDiscoveryResponseWire, extraFields: Partial<DeltaDiscoveryRequestWire> = {}) => (ack(r, extraFields), handled(id, sent)),
  };
}

const statusOf = (id: string) => server.status().find((s) => s.id === id)!;
const names = (r: DeltaDiscoveryResponseWire) => r.resources.map((x) => x.name).sort();
const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const RATINGS = 'outbound|9080||ratings.default.svc.cluster.local';
const REVIEWS_VH = 'virtualOutbound/reviews.default.svc.cluster.local:9080';

test('delta: wildcard CDS, per-resource versions, ACK, and a NACK that keeps the old version', async () => {
  const c = connectDelta('productpage', 'v1');
  c.send(TypeUrl.cluster); // names nothing: wildcard
  const r1 = await c.next();
  assert.equal(r1.type_url, TypeUrl.cluster);
  assert.ok(names(r1).includes(REVIEWS));
  assert.ok(r1.resources.every((r) => /^[0-9a-f]{16}$/.test(r.version)), 'every resource carries a digest version');
  assert.deepEqual(r1.removed_resources, []);
  await c.ackHandled(r1);
  const st = statusOf(c.id);
  assert.equal(st.protocol, 'delta');
  assert.equal(st.types.cluster!.acked, r1.system_version_info);

  // A new service: one added cluster, nothing else resent.
  extra = [...extra, proxy('fresh', 'v1', 24)];
  rebuild();
  const r2 = await c.next();
  assert.deepEqual(names(r2), ['outbound|9080||fresh.default.svc.cluster.local']);
  await c.ackHandled(r2, { error_detail: { code: 3, message: 'cluster fresh: bad lb_policy' } });
  const nacked = statusOf(c.id).types.cluster!;
  assert.equal(nacked.acked, r1.system_version_info, 'a NACK keeps the proxy on its previous version');
  assert.equal(nacked.sent, r2.system_version_info);
  assert.match(nacked.nack!.message, /bad lb_policy/);

  // A stale ACK (old nonce) changes nothing and gets no response.
  let written = server.responses;
  await c.ackHandled(r1);
  assert.equal(server.responses, written);
  assert.equal(statusOf(c.id).types.cluster!.acked, r1.system_version_info);

  // The refused cluster goes again: the proxy never took it, so there is nothing to remove, and
  // the proxy is up to date with the new snapshot without a message.
  extra = extra.filter((p) => p.service !== 'fresh');
  written = server.responses;
  rebuild(); // pushes synchronously: whatever it sends is written when it returns
  assert.equal(server.responses, written, 'nothing sent');
  const after = statusOf(c.id).types.cluster!;
  assert.notEqual(after.sent, r2.system_version_info);
  assert.equal(after.acked, after.sent);

  // A service the proxy has goes: its cluster is removed by name.
  extra = [...extra, proxy('fresh', 'v1', 24)];
  rebuild();
  c.ack(await c.next());
  extra = extra.filter((p) => p.service !== 'fresh');
  rebuild();
  const r3 = await c.next();
  assert.deepEqual(r3.resources, []);
  assert.deepEqual(r3.removed_resources, ['outbound|9080||fresh.default.svc.cluster.local']);
  await c.ackHandled(r3);
  assert.equal(statusOf(c.id).types.cluster!.acked, r3.system_version_info);
  c.close();
});

test('delta: named EDS, a name that does not exist is reported removed once, unsubscribe', async () => {
  const c = connectDelta('productpage', 'v2');
  c.send(TypeUrl.endpoint, { resource_names_subscribe: [REVIEWS, 'outbound|1||nosuch.default.svc.cluster.local'] });
  const r = await c.next();
  assert.deepEqual(names(r), [REVIEWS]);
  assert.deepEqual(r.removed_resources, ['outbound|1||nosuch.default.svc.cluster.local']);
  c.ack(r);
  c.send(TypeUrl.endpoint, { resource_names_subscribe: [RATINGS], response_nonce: r.nonce });
  const r2 = await c.next();
  assert.deepEqual(names(r2), [RATINGS], 'a new subscription gets only the new name');
  c.ack(r2);
  const written = server.responses;
  await c.sendHandled(TypeUrl.endpoint, { resource_names_unsubscribe: [RATINGS] });
  assert.equal(server.responses, written, 'unsubscribing needs no response');
  assert.equal(statusOf(c.id).types.endpoint!.resources, 1);
  c.close();
});

test('delta: a reconnect with initial_resource_versions gets only what changed meanwhile', async () => {
  const c = connectDelta('productpage', 'v3');
  c.send(TypeUrl.endpoint, { resource_names_subscribe: [REVIEWS, RATINGS] });
  const r = await c.next();
  c.ack(r);
  const have = Object.fromEntries(r.resources.map((x) => [x.name, x.version]));
  c.close();

  // Meanwhile another reviews instance registers: only reviews' assignment changes.
  extra = [...extra, proxy('reviews', 'v2', 25)];
  rebuild();
  const again = connectDelta('productpage', 'v3');
  again.send(TypeUrl.endpoint, { resource_names_subscribe: [REVIEWS, RATINGS], initial_resource_versions: have });
  const resumed = await again.next();
  assert.deepEqual(names(resumed), [REVIEWS]);
  assert.equal((unpackAny(resumed.resources[0].resource!) as any).endpoints[0].lb_endpoints.length, 2);
  again.ack(resumed);

  // Nothing changed at all: a reconnect gets no response and is up to date at once.
  const have2 = { ...have, [REVIEWS]: resumed.resources[0].version };
  again.close();
  const third = connectDelta('productpage', 'v3');
  const written = server.responses;
  await third.sendHandled(TypeUrl.endpoint, { resource_names_subscribe: [REVIEWS, RATINGS], initial_resource_versions: have2 });
  assert.equal(server.responses, written, 'nothing resent');
  const st = statusOf(third.id).types.endpoint!;
  assert.ok(st.sent && st.sent === st.acked, 'an empty diff counts as synced');
  third.close();
  extra = extra.filter((p) => p.address !== '127.0.0.25');
});

test('delta: RDS names vhds; LDS carries the on-demand filter before the router', async () => {
  const c = connectDelta('productpage', 'v4');
  c.send(TypeUrl.listener);
  const lds = await c.next();
  const outbound = unpackAny(lds.resources.find((r) => r.name === 'virtualOutbound')!.resource!) as any;
  const filters = outbound.filter_chains[0].filters[0].typed_config.http_filters.map((f: { name: string }) => f.name);
  assert.deepEqual(filters, ['envoy.filters.http.on_demand', 'envoy.filters.http.fault', 'istio.stats', 'envoy.filters.http.router']);
  c.send(TypeUrl.route, { resource_names_subscribe: ['virtualOutbound'] });
  const rds = await c.next();
  const rc = unpackAny(rds.resources[0].resource!) as any;
  assert.deepEqual(rc.vhds, { config_source: { ads: {}, resource_api_version: 'V3' } });
  assert.equal(rc.virtual_hosts, undefined, 'no inline virtual hosts on a Delta stream');
  c.close();
});

test('VHDS: a host alias resolves to its virtual host; a missing host gets an empty resource', async () => {
  const c = connectDelta('productpage', 'v5');
  // Envoy's first VHDS request names the route configuration: an empty base set, but an answer.
  c.send(TypeUrl.virtualHost, { resource_names_subscribe: ['virtualOutbound'] });
  const base = await c.next();
  assert.deepEqual(base.resources, []);
  await c.ackHandled(base);
  assert.ok(statusOf(c.id).types.virtualHost!.acked, 'VHDS is synced with nothing subscribed');

  c.send(TypeUrl.virtualHost, { resource_names_subscribe: ['virtualOutbound/reviews:9080', 'virtualOutbound/nosuch.example'] });
  const r = await c.next();
  const byName = new Map(r.resources.map((x) => [x.name, x]));
  const vh = byName.get(REVIEWS_VH)!;
  assert.deepEqual(vh.aliases, ['virtualOutbound/reviews:9080']);
  const body = unpackAny(vh.resource!) as any;
  assert.equal(body.name, REVIEWS_VH, "the VirtualHost's own name is the resource name, as Envoy reads it");
  assert.ok(body.domains.includes('reviews:9080'));
  const missing = byName.get('virtualOutbound/nosuch.example')!;
  assert.deepEqual(missing.aliases, ['virtualOutbound/nosuch.example']);
  assert.ok(!missing.resource, 'no resource: the host does not exist');
  c.ack(r);

  // The same virtual host under its full name needs no second copy.
  const written = server.responses;
  await c.sendHandled(TypeUrl.virtualHost, { resource_names_subscribe: [REVIEWS_VH] });
  assert.equal(server.responses, written);
  c.close();
});

test('VHDS: an edit reaches the proxies subscribed to that host; the others are up to date at once', async () => {
  const caller = connectDelta('productpage', 'v6');
  const bystander = connectDelta('details', 'v6');
  for (const c of [caller, bystander]) c.send(TypeUrl.virtualHost, { resource_names_subscribe: ['virtualOutbound'] });
  for (const c of [caller, bystander]) c.ack(await c.next());
  caller.send(TypeUrl.virtualHost, { resource_names_subscribe: ['virtualOutbound/reviews'] });
  const first = await caller.next();
  assert.deepEqual(names(first), [REVIEWS_VH]);
  await caller.ackHandled(first);
  const bytesBefore = server.bytesPushed;
  const written = server.responses;

  config = configFrom(DR, reviewsTo('v2'));
  rebuild();
  assert.equal(server.responses - written, 1, 'one push, to the caller; a proxy that never asked for reviews gets nothing');
  const pushed = await caller.next();
  assert.deepEqual(names(pushed), [REVIEWS_VH]);
  assert.deepEqual(pushed.resources[0].aliases, [], 'an alias is answered once; updates go by name');
  const route = (unpackAny(pushed.resources[0].resource!) as any).routes[0].route;
  assert.equal(route.cluster, 'outbound|9080|v2|reviews.default.svc.cluster.local');
  await caller.ackHandled(pushed);
  assert.ok(server.bytesPushed - bytesBefore < 2000, `one virtual host pushed, ${server.bytesPushed - bytesBefore} bytes`);
  for (const c of [caller, bystander]) {
    const st = statusOf(c.id).types.virtualHost!;
    assert.equal(st.sent, pushed.system_version_info);
    assert.equal(st.acked, st.sent, `${c.id} is synced with the new snapshot`);
  }

  // The service disappears: its virtual host is removed; the alias now names nothing.
  config = configFrom(DR);
  const reviewsGone = fixed.filter((p) => p.service !== 'reviews');
  const saved = fixed.splice(0, fixed.length, ...reviewsGone);
  rebuild();
  const gone = await caller.next();
  assert.deepEqual(gone.removed_resources, [REVIEWS_VH]);
  assert.deepEqual(gone.resources.map((r) => [r.name, r.aliases, !!r.resource]), [['virtualOutbound/reviews', ['virtualOutbound/reviews'], false]]);
  fixed.splice(0, fixed.length, ...saved);
  rebuild();
  caller.close();
  bystander.close();
});
