// The ADS server against a real gRPC client on loopback: nonces, ACK/NACK bookkeeping, pushes only of
// the types whose resources changed, and what a NACK means for the next push. No sleeps: a check waits
// for the server to have handled the request (and counts what it wrote) or for the message it expects.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { test } from 'node:test';
import { aggregatedDiscoveryService, TypeUrl, unpackAny, type DiscoveryRequestWire, type DiscoveryResponseWire } from '../../src/api/envoy.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { configFrom, fixture, proxy, reviewsTo } from '../translate/fixtures.js';
import { openAdsCall, serveLoopbackAds, sidecarNode } from './loopback-ads.js';

const DR = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
const ratings = proxy('ratings', 'v1', 9);
const secondRatings = proxy('ratings', 'v2', 10);
const reviews = proxy('reviews', 'v1', 11);
/** Registered besides the connected proxies (instances that never connect). */
let extra: ProxyNode[] = [];
let config = configFrom();
const { server, rebuild, address, handled, gone } = serveLoopbackAds({ graceMs: 50, config: () => config, extraProxies: () => extra });
const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const RATINGS = 'outbound|9080||ratings.default.svc.cluster.local';

let instances = 0;
function connect(service: string, version: string) {
  const c = openAdsCall<Partial<DiscoveryRequestWire>, DiscoveryResponseWire>(address(), 'StreamAggregatedResources');
  const id = `sidecar~127.0.0.2~${service}-${version}.default~default.svc.cluster.local`;
  const node = sidecarNode(id, service, version, `127.0.1.${++instances}`);
  let sent = 0;
  const send = (typeUrl: string, extraFields: object = {}) => {
    c.write({ node, type_url: typeUrl, version_info: '', resource_names: [], response_nonce: '', ...extraFields });
    sent++;
  };
  return {
    ...c,
    id,
    send,
    /** Send, and resolve once the server has handled it and every request before it. */
    sendHandled: (typeUrl: string, extraFields: object = {}) => (send(typeUrl, extraFields), handled(id, sent)),
  };
}

const statusOf = (id: string) => server.status().find((s) => s.id === id)!;
const clusterNames = (r: DiscoveryResponseWire) => r.resources.map((a) => String(unpackAny(a).cluster_name)).sort();

test('initial request, ACK, NACK and stale nonce', async () => {
  const c = connect('reviews', 'v1');
  c.send(TypeUrl.cluster);
  const r1 = await c.next();
  assert.equal(r1.type_url, TypeUrl.cluster);
  assert.ok(r1.resources.map((a) => unpackAny(a).name).includes(REVIEWS));
  await c.sendHandled(TypeUrl.cluster, { version_info: r1.version_info, response_nonce: r1.nonce });
  assert.equal(statusOf(c.id).types.cluster!.acked, r1.version_info);

  // A config change pushes CDS again; the proxy NACKs it.
  extra = [ratings];
  rebuild();
  const r2 = await c.next();
  assert.notEqual(r2.version_info, r1.version_info);
  assert.notEqual(r2.nonce, r1.nonce);
  await c.sendHandled(TypeUrl.cluster, { version_info: r1.version_info, response_nonce: r2.nonce, error_detail: { code: 3, message: 'cluster x: bad lb_policy' } });
  const st = statusOf(c.id).types.cluster!;
  assert.equal(st.acked, r1.version_info, 'a NACK keeps the proxy on its previous version');
  assert.equal(st.sent, r2.version_info);
  assert.match(st.nack!.message, /bad lb_policy/);

  // A stale ACK (old nonce) changes nothing and gets no response.
  const written = server.responses;
  await c.sendHandled(TypeUrl.cluster, { version_info: r1.version_info, response_nonce: r1.nonce });
  assert.equal(server.responses, written, 'nothing written for a stale ACK');
  assert.equal(statusOf(c.id).types.cluster!.acked, r1.version_info);
  c.close();
  extra = [];
});

test('an endpoint change pushes EDS only, and only the assignments that changed', async () => {
  await gone('reviews-v1'); // the previous test's proxy has left and its push is done
  extra = [ratings];
  const names = [RATINGS, REVIEWS];
  const c = connect('reviews', 'v2');
  c.send(TypeUrl.cluster);
  const cds = await c.next();
  await c.sendHandled(TypeUrl.cluster, { version_info: cds.version_info, response_nonce: cds.nonce });
  c.send(TypeUrl.endpoint, { resource_names: names });
  const eds = await c.next();
  assert.equal(eds.type_url, TypeUrl.endpoint);
  assert.deepEqual(clusterNames(eds), names, 'the first response carries every subscribed name');
  await c.sendHandled(TypeUrl.endpoint, { version_info: eds.version_info, response_nonce: eds.nonce, resource_names: names });
  // Another reviews instance joins: only EDS changes for this proxy, and only reviews' assignment.
  const written = server.responses;
  const other = connect('reviews', 'v3');
  await other.sendHandled(TypeUrl.listener);
  assert.equal(server.responses - written, 2, 'one EDS push to the first proxy, one LDS answer to the new one: no CDS push');
  const pushed = await c.next();
  assert.equal(pushed.type_url, TypeUrl.endpoint);
  assert.deepEqual(clusterNames(pushed), [REVIEWS]);
  assert.equal((unpackAny(pushed.resources[0]) as any).endpoints[0].lb_endpoints.length, 2);
  // It leaves: after the grace period its endpoint is withdrawn.
  other.close();
  const withdrawn = await c.next();
  assert.equal((unpackAny(withdrawn.resources[0]) as any).endpoints[0].lb_endpoints.length, 1);
  c.close();
  extra = [];
});

test('SotW EDS: after a NACK the next push resends the refused assignment with the changed one', async () => {
  await gone('reviews-v2');
  extra = [ratings];
  const names = [RATINGS, REVIEWS];
  const c = connect('reviews', 'v4');
  c.send(TypeUrl.endpoint, { resource_names: names });
  const eds = await c.next();
  await c.sendHandled(TypeUrl.endpoint, { version_info: eds.version_info, response_nonce: eds.nonce, resource_names: names });
  // reviews changes; the proxy refuses that push and keeps its old reviews assignment.
  const other = connect('reviews', 'v5');
  other.send(TypeUrl.listener);
  const refused = await c.next();
  assert.deepEqual(clusterNames(refused), [REVIEWS]);
  await c.sendHandled(TypeUrl.endpoint, { version_info: eds.version_info, response_nonce: refused.nonce, resource_names: names, error_detail: { code: 3, message: 'refused' } });
  assert.equal(statusOf(c.id).types.endpoint!.acked, eds.version_info);
  // Now only ratings changes: the push must carry reviews again, which the proxy never took.
  extra = [ratings, secondRatings];
  rebuild();
  const next = await c.next();
  assert.deepEqual(clusterNames(next), names);
  await c.sendHandled(TypeUrl.endpoint, { version_info: next.version_info, response_nonce: next.nonce, resource_names: names });
  assert.equal(statusOf(c.id).types.endpoint!.acked, next.version_info);
  other.close();
  c.close();
  extra = [];
});

test('SotW RDS: a NACK keeps the proxy on its version; the next edit is sent and ACKed', async () => {
  await gone('reviews-v4');
  await gone('reviews-v5');
  extra = [reviews];
  const c = connect('productpage', 'v1');
  c.send(TypeUrl.route, { resource_names: ['virtualOutbound'] });
  const rds = await c.next();
  assert.deepEqual(rds.resources.map((a) => unpackAny(a).name), ['virtualOutbound']);
  await c.sendHandled(TypeUrl.route, { version_info: rds.version_info, response_nonce: rds.nonce, resource_names: ['virtualOutbound'] });
  const reviewsCluster = (r: DiscoveryResponseWire) =>
    JSON.stringify((unpackAny(r.resources[0]) as any).virtual_hosts.find((v: { name: string }) => v.name.startsWith('reviews')).routes[0].route);

  config = configFrom(DR, reviewsTo('v2'));
  rebuild();
  const refused = await c.next();
  assert.match(reviewsCluster(refused), /\|v2\|reviews/);
  await c.sendHandled(TypeUrl.route, { version_info: rds.version_info, response_nonce: refused.nonce, resource_names: ['virtualOutbound'], error_detail: { code: 3, message: 'refused' } });
  const st = statusOf(c.id).types.route!;
  assert.equal(st.acked, rds.version_info, 'a NACK keeps the proxy on its previous version');
  assert.equal(st.nack!.message, 'refused');

  config = configFrom(DR, reviewsTo('v3'));
  rebuild();
  const next = await c.next();
  assert.match(reviewsCluster(next), /\|v3\|reviews/);
  await c.sendHandled(TypeUrl.route, { version_info: next.version_info, response_nonce: next.nonce, resource_names: ['virtualOutbound'] });
  assert.equal(statusOf(c.id).types.route!.acked, next.version_info);
  c.close();
  config = configFrom();
  extra = [];
});

test('a stream whose node lacks an id is refused', async () => {
  const Client = aggregatedDiscoveryService();
  const client = new Client(address(), grpc.credentials.createInsecure()) as any;
  const call = client.StreamAggregatedResources();
  const err = await new Promise<grpc.ServiceError>((resolve) => {
    call.on('error', resolve);
    call.on('data', () => {});
    call.write({ type_url: TypeUrl.cluster, node: { id: '' } });
  });
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  assert.match(err.details, /node\.id/);
  client.close();
});
