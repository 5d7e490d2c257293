// The ADS server against a real gRPC client on loopback: nonces, ACK/NACK bookkeeping, pushes only of
// the types whose resources changed.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { test } from 'node:test';
import { aggregatedDiscoveryService, TypeUrl, unpackAny, type DiscoveryRequestWire, type DiscoveryResponseWire } from '../../src/api/envoy.js';
import { configFrom, proxy } from '../translate/fixtures.js';
import { openAdsCall, serveLoopbackAds, sidecarNode } from './loopback-ads.js';

const extra = proxy('ratings', 'v1', 9);
let withRatings = false;
const { server, rebuild, address } = serveLoopbackAds({ graceMs: 50, config: () => configFrom(), extraProxies: () => (withRatings ? [extra] : []) });

let instances = 0;
function connect(service: string, version: string) {
  const c = openAdsCall<Partial<DiscoveryRequestWire>, DiscoveryResponseWire>(address(), 'StreamAggregatedResources');
  const node = sidecarNode(`sidecar~127.0.0.2~${service}-${version}.default~default.svc.cluster.local`, service, version, `127.0.1.${++instances}`);
  return {
    ...c,
    send: (typeUrl: string, extraFields: object = {}) => c.write({ node, type_url: typeUrl, version_info: '', resource_names: [], response_nonce: '', ...extraFields }),
  };
}

const statusOf = (id: string) => server.status().find((s) => s.id.includes(id))!;

test('initial request, ACK, NACK and stale nonce', async () => {
  const c = connect('reviews', 'v1');
  c.send(TypeUrl.cluster);
  const r1 = await c.next();
  assert.equal(r1.type_url, TypeUrl.cluster);
  assert.ok(r1.resources.map((a) => unpackAny(a).name).includes('outbound|9080||reviews.default.svc.cluster.local'));
  c.send(TypeUrl.cluster, { version_info: r1.version_info, response_nonce: r1.nonce });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(statusOf('reviews-v1').types.cluster!.acked, r1.version_info);

  // A config change pushes CDS again; the proxy NACKs it.
  withRatings = true;
  rebuild();
  const r2 = await c.next();
  assert.notEqual(r2.version_info, r1.version_info);
  assert.notEqual(r2.nonce, r1.nonce);
  c.send(TypeUrl.cluster, { version_info: r1.version_info, response_nonce: r2.nonce, error_detail: { code: 3, message: 'cluster x: bad lb_policy' } });
  await new Promise((r) => setTimeout(r, 50));
  const st = statusOf('reviews-v1').types.cluster!;
  assert.equal(st.acked, r1.version_info, 'a NACK keeps the proxy on its previous version');
  assert.equal(st.sent, r2.version_info);
  assert.match(st.nack!.message, /bad lb_policy/);

  // A stale ACK (old nonce) changes nothing and gets no response.
  c.send(TypeUrl.cluster, { version_info: r1.version_info, response_nonce: r1.nonce });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(c.pending(), 0);
  assert.equal(statusOf('reviews-v1').types.cluster!.acked, r1.version_info);
  c.close();
  withRatings = false;
});

test('an endpoint change pushes EDS only, and only the assignments that changed', async () => {
  await new Promise((r) => setTimeout(r, 200)); // let the previous test's proxy leave (grace period)
  withRatings = true;
  const names = ['outbound|9080||ratings.default.svc.cluster.local', 'outbound|9080||reviews.default.svc.cluster.local'];
  const c = connect('reviews', 'v2');
  c.send(TypeUrl.cluster);
  const cds = await c.next();
  c.send(TypeUrl.cluster, { version_info: cds.version_info, response_nonce: cds.nonce });
  c.send(TypeUrl.endpoint, { resource_names: names });
  const eds = await c.next();
  assert.equal(eds.type_url, TypeUrl.endpoint);
  assert.deepEqual(eds.resources.map((a) => unpackAny(a).cluster_name).sort(), names, 'the first response carries every subscribed name');
  c.send(TypeUrl.endpoint, { version_info: eds.version_info, response_nonce: eds.nonce, resource_names: names });
  await new Promise((r) => setTimeout(r, 50));
  // Another reviews instance joins: only EDS changes for this proxy, and only reviews' assignment.
  const other = connect('reviews', 'v3');
  other.send(TypeUrl.listener);
  const pushed = await c.next();
  assert.equal(pushed.type_url, TypeUrl.endpoint);
  assert.deepEqual(pushed.resources.map((a) => unpackAny(a).cluster_name), [names[1]]);
  assert.equal((unpackAny(pushed.resources[0]) as any).endpoints[0].lb_endpoints.length, 2);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(c.pending(), 0, 'no CDS/LDS/RDS push for an endpoint change');
  // It leaves: after the grace period its endpoint is withdrawn.
  other.close();
  const withdrawn = await c.next();
  assert.equal((unpackAny(withdrawn.resources[0]) as any).endpoints[0].lb_endpoints.length, 1);
  c.close();
  withRatings = false;
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
