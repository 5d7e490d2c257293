// Simulation of captured sidecars (INTERCEPTION_MODE REDIRECT): a connection with an original
// destination <VIP>:<port> or <unknown-ip>:<port> (and a Host, for HTTP) goes through the control
// plane's output as the proxy decodes it — the use_original_dst hand-off, the proxy's filter-chain
// selection, its route table — and must land on the right cluster: the service's, PassthroughCluster
// (ALLOW_ANY) or BlackHoleCluster / a 502 (REGISTRY_ONLY).
//
// The whole-path cases need a proxy that accepts the transparent fields (use_original_dst,
// bind_to_port: false, the original_dst listener filter, ORIGINAL_DST clusters, upstream_bind_config):
// while its validator still refuses exactly those, they are marked todo with the refusals; any other
// refusal fails. The route-table cases run on today's proxy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultMeshConfig, type MeshConfig } from '../../src/config/mesh-config.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import type { MeshSnapshot } from '../../src/controlplane/model/snapshot.js';
import { translate, type ResourceSet } from '../../src/controlplane/translate/index.js';
import { decodeResources } from '../../src/proxy/xds/decode.js';
import { packAny, TypeUrl } from '../../src/api/envoy.js';
import { capturedBookinfoProxies, capturedProxy, configFrom, EGRESS_TCP, fixture, snapshot, yaml } from './fixtures.js';
import { decodeSet, request, routeCall, simulateConnection, type CapturedConnection, type RouteOutcome } from './simulate.js';

const DR = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
const JASON = fixture('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml');
const GOOGLE = fixture('istio/bookinfo/networking/egress-rule-google-apis.yaml');
const registryOnly: MeshConfig = { ...defaultMeshConfig, outboundTrafficPolicy: 'REGISTRY_ONLY', version: 'registry-only' };

const client = capturedProxy('productpage', 'v1', 2);
const meshOf = (mesh: MeshConfig) => snapshot(configFrom(DR, JASON, GOOGLE, EGRESS_TCP), capturedBookinfoProxies(), mesh);
const allowAny = meshOf(defaultMeshConfig);
const blocked = meshOf(registryOnly);
const out = (snap: MeshSnapshot, proxy: ProxyNode = client): ResourceSet => translate(snap, proxy);
const vip = (host: string) => allowAny.serviceByHost.get(host)!.addresses[0];

/** Refusals that only say the proxy does not run the transparent fields yet. */
const TRANSPARENT_FIELD = /use_original_dst|bind_to_port|original_dst|ORIGINAL_DST|upstream_bind_config|traffic_direction/;
function todoFor(set: ResourceSet): string | undefined {
  const d = decodeSet(set);
  if (d.ok) return undefined;
  const other = d.errors.filter((e) => !TRANSPARENT_FIELD.test(e));
  // Name only the refused fields (the reasons are long): "listener virtualOutbound: use_original_dst: …" → "use_original_dst".
  const fields = new Set(d.errors.map((e) => e.replace(/^\w+ \S+: /, '').split(':')[0]));
  return other.length ? undefined : `needs transparent-proxy (its validator refuses ${[...fields].join(', ')})`;
}

type Want = { listener: string; cluster: string; endpoints: string[] } | { listener: string; direct: number } | string;
interface Case {
  name: string;
  snap: MeshSnapshot;
  proxy?: ProxyNode;
  conn: CapturedConnection;
  want: Want;
}

const REVIEWS = 'reviews.default.svc.cluster.local';
// The jason VirtualService sends everyone else to v3.
const V3 = { cluster: `outbound|9080|v3|${REVIEWS}`, endpoints: ['127.0.0.6:9080'] };
const outbound = (destination: string, port: number, host?: string, headers?: Record<string, string>): CapturedConnection => ({
  capture: 'virtualOutbound',
  destination,
  port,
  ...(host !== undefined ? { call: request(host, '/', headers) } : {}),
});

const cases: Case[] = [
  { name: 'http://reviews:9080 (the app resolved the VIP) reaches reviews', snap: allowAny, conn: outbound(vip(REVIEWS), 9080, 'reviews:9080'), want: { listener: '0.0.0.0_9080', ...V3 } },
  { name: 'a Host without the port names the same service', snap: allowAny, conn: outbound(vip(REVIEWS), 9080, 'reviews'), want: { listener: '0.0.0.0_9080', ...V3 } },
  { name: 'a Host that is the VIP itself', snap: allowAny, conn: outbound(vip(REVIEWS), 9080, `${vip(REVIEWS)}:9080`), want: { listener: '0.0.0.0_9080', ...V3 } },
  { name: 'the VirtualService still routes: jason reaches v2', snap: allowAny, conn: outbound(vip(REVIEWS), 9080, 'reviews.default.svc.cluster.local:9080', { 'end-user': 'jason' }), want: { listener: '0.0.0.0_9080', cluster: `outbound|9080|v2|${REVIEWS}`, endpoints: ['127.0.0.5:9080'] } },
  { name: 'ALLOW_ANY: an unknown host on a mesh HTTP port passes through to where the app connected', snap: allowAny, conn: outbound('198.18.9.9', 9080, 'example.org:9080'), want: { listener: '0.0.0.0_9080', cluster: 'PassthroughCluster', endpoints: ['198.18.9.9:9080'] } },
  { name: 'REGISTRY_ONLY: an unknown host on a mesh HTTP port gets a 502', snap: blocked, conn: outbound('198.18.9.9', 9080, 'example.org:9080'), want: { listener: '0.0.0.0_9080', direct: 502 } },
  { name: 'ALLOW_ANY: TCP to an unknown address and port passes through', snap: allowAny, conn: outbound('198.18.9.9', 7777), want: { listener: 'virtualOutbound', cluster: 'PassthroughCluster', endpoints: ['198.18.9.9:7777'] } },
  { name: 'REGISTRY_ONLY: TCP to an unknown address and port is dropped', snap: blocked, conn: outbound('198.18.9.9', 7777), want: { listener: 'virtualOutbound', cluster: 'BlackHoleCluster', endpoints: [] } },
  { name: 'a connection straight to the capture port is dropped (it would loop)', snap: allowAny, conn: outbound('127.0.0.1', 15001), want: { listener: 'virtualOutbound', cluster: 'BlackHoleCluster', endpoints: [] } },
  { name: 'TCP ServiceEntry (STATIC) by its declared address', snap: blocked, conn: outbound('198.18.7.10', 3306), want: { listener: '198.18.7.10_3306', cluster: 'outbound|3306||mysqldb.vm.example', endpoints: ['198.18.7.10:3306'] } },
  { name: 'TCP ServiceEntry (DNS) by its auto-allocated VIP: the proxy resolves the host', snap: blocked, conn: outbound(vip('smtp.example.com'), 25), want: { listener: `${vip('smtp.example.com')}_25`, cluster: 'outbound|25||smtp.example.com', endpoints: ['smtp.example.com:25'] } },
  { name: 'TCP ServiceEntry (NONE) by a CIDR address: through to the original destination', snap: blocked, conn: outbound('198.18.64.20', 5432), want: { listener: '0.0.0.0_5432', cluster: 'outbound|5432||lab.example', endpoints: ['198.18.64.20:5432'] } },
  { name: 'the same port outside the CIDR follows the outbound traffic policy', snap: blocked, conn: outbound('198.18.65.1', 5432), want: { listener: '0.0.0.0_5432', cluster: 'BlackHoleCluster', endpoints: [] } },
  { name: 'HTTP ServiceEntry: www.googleapis.com on 80 goes to its 443 cluster (VirtualService match.port)', snap: blocked, conn: outbound(vip('www.googleapis.com'), 80, 'www.googleapis.com'), want: { listener: '0.0.0.0_80', cluster: 'outbound|443||www.googleapis.com', endpoints: ['www.googleapis.com:443'] } },
];

// Inbound: reviews-v1 receives; the capture redirected the connection to virtualInbound.
const reviewsV1 = capturedProxy('reviews', 'v1', 4);
const STRICT = yaml('strict.yaml', `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec: { mtls: { mode: STRICT } }
`);
const withIdentity = (p: ProxyNode): ProxyNode => ({ ...p, labels: { ...p.labels, 'security.istio.io/tlsMode': 'istio' } });
const strict = snapshot(configFrom(STRICT), capturedBookinfoProxies().map(withIdentity));
const inbound = (port: number, transport: 'raw_buffer' | 'tls' = 'raw_buffer', withRequest = true): CapturedConnection => ({ capture: 'virtualInbound', destination: '127.0.0.4', port, transport, ...(withRequest ? { call: request('reviews:9080') } : {}) });
cases.push(
  { name: 'inbound: a request to the app port reaches the app at its original destination', snap: allowAny, proxy: reviewsV1, conn: inbound(9080), want: { listener: 'virtualInbound', cluster: 'inbound|9080||', endpoints: ['127.0.0.4:9080'] } },
  { name: 'inbound: a port no service declares passes through to the app', snap: allowAny, proxy: reviewsV1, conn: inbound(8888, 'raw_buffer', false), want: { listener: 'virtualInbound', cluster: 'InboundPassthroughClusterIpv4', endpoints: ['127.0.0.4:8888'] } },
  { name: 'inbound: a connection straight to 15006 is dropped', snap: allowAny, proxy: reviewsV1, conn: inbound(15006, 'raw_buffer', false), want: { listener: 'virtualInbound', cluster: 'BlackHoleCluster', endpoints: [] } },
  { name: 'inbound STRICT: mTLS to the app port is taken', snap: strict, proxy: withIdentity(reviewsV1), conn: inbound(9080, 'tls'), want: { listener: 'virtualInbound', cluster: 'inbound|9080||', endpoints: ['127.0.0.4:9080'] } },
  { name: 'inbound STRICT: plaintext to the app port is refused', snap: strict, proxy: withIdentity(reviewsV1), conn: inbound(9080), want: 'virtualInbound: no filter chain matches (connection closed)' },
);

for (const c of cases) {
  const set = out(c.snap, c.proxy);
  const todo = todoFor(set);
  test(`captured simulate: ${c.name}`, todo ? { todo } : {}, () => {
    const d = decodeSet(set);
    assert.ok(d.ok, `the proxy refuses the control plane's output: ${!d.ok && d.errors.join('; ')}`);
    const got = simulateConnection(d.view, c.conn);
    if (typeof c.want === 'string') return assert.equal(got, c.want);
    assert.equal(typeof got, 'object', String(got));
    if (typeof got === 'string') return;
    const want = c.want;
    if ('direct' in want) return assert.deepEqual({ listener: got.listener, result: got.result }, { listener: want.listener, result: { direct: want.direct } });
    assert.deepEqual({ listener: got.listener, cluster: 'cluster' in got.result ? got.result.cluster : got.result, endpoints: got.endpoints }, want);
  });
}

// The route tables alone decode on today's proxy: the HTTP cases' Host routing, table by table.
for (const c of cases) {
  const call = c.conn.call;
  if (!call || c.conn.capture !== 'virtualOutbound' || typeof c.want === 'string') continue;
  const want = c.want;
  test(`captured route table "${c.conn.port}": ${c.name}`, () => {
    const routes = out(c.snap).route;
    const r = decodeResources('route', routes.map((x) => packAny(TypeUrl.route, x.body)));
    assert.ok(r.valid, `the proxy refuses the route tables: ${!r.valid && r.errors.join('; ')}`);
    const table = r.result.find((x) => x.name === String(c.conn.port));
    assert.ok(table, `route table "${c.conn.port}"`);
    const expected: RouteOutcome = 'direct' in want ? { direct: want.direct } : { cluster: want.cluster };
    assert.deepEqual(routeCall(table.model, call), expected);
  });
}

test('captured: every listener a connection can be handed to is the one Istio names', () => {
  const names = out(allowAny).listener.map((l) => l.name);
  assert.deepEqual(names.slice(0, 2), ['virtualOutbound', 'virtualInbound']);
  for (const n of ['0.0.0.0_80', '0.0.0.0_9080', '0.0.0.0_5432', '198.18.7.10_3306', `${vip('smtp.example.com')}_25`, `${vip('www.googleapis.com')}_443`]) assert.ok(names.includes(n), n);
  for (const l of out(allowAny).listener.slice(2)) assert.deepEqual((l.body as { bind_to_port: unknown }).bind_to_port, { value: false }, `${l.name} does not bind`);
});
