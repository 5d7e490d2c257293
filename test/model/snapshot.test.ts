// The mesh snapshot: which services and endpoints exist, given config and registered proxies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toStruct } from '../../src/api/envoy.js';
import { parseProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { endpointKey } from '../../src/controlplane/model/snapshot.js';
import { configFrom, proxy, snapshot, yaml } from '../translate/fixtures.js';

const addrs = (snap: ReturnType<typeof snapshot>, host: string, port: number) =>
  (snap.endpoints.get(endpointKey(host, port)) ?? []).map((e) => `${e.address}:${e.port}`);

test('snapshot: proxies of one service share a service; each registers its endpoint port', () => {
  const snap = snapshot(configFrom(), [proxy('reviews', 'v1', 4), proxy('reviews', 'v2', 5, { ports: [{ servicePort: 9080, endpointPort: 16006, appPort: 9081, protocol: 'HTTP' }] })]);
  assert.deepEqual(snap.services.map((s) => s.hostname), ['reviews.default.svc.cluster.local']);
  assert.deepEqual(addrs(snap, 'reviews.default.svc.cluster.local', 9080), ['127.0.0.4:15006', '127.0.0.5:16006']);
});

test('snapshot: a WorkloadEntry joins the registry service named by its app label', () => {
  const snap = snapshot(configFrom(yaml('we.yaml', `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: reviews-vm }
spec: { address: 198.18.0.10, labels: { app: reviews, version: v9 } }
`)), [proxy('reviews', 'v1', 4)]);
  assert.deepEqual(addrs(snap, 'reviews.default.svc.cluster.local', 9080), ['127.0.0.4:15006', '198.18.0.10:9080']);
});

test('snapshot: a STATIC ServiceEntry with endpoints and a workloadSelector', () => {
  const snap = snapshot(configFrom(yaml('se.yaml', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db }
spec:
  hosts: [db.internal.example]
  location: MESH_INTERNAL
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
  resolution: STATIC
  endpoints: [{ address: 198.18.0.20, ports: { tcp-pg: 15432 } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vms }
spec:
  hosts: [legacy.example]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  workloadSelector: { labels: { app: legacy } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: legacy-1 }
spec: { address: 198.18.0.30, labels: { app: legacy } }
`)), []);
  const db = snap.serviceByHost.get('db.internal.example')!;
  assert.equal(db.resolution, 'EDS');
  assert.equal(db.external, false);
  assert.deepEqual(addrs(snap, 'db.internal.example', 5432), ['198.18.0.20:15432']);
  assert.deepEqual(addrs(snap, 'legacy.example', 80), ['198.18.0.30:80']);
});

test('snapshot: versions separate config, services and endpoints', () => {
  const a = snapshot(configFrom(), [proxy('reviews', 'v1', 4)]);
  const b = snapshot(configFrom(), [proxy('reviews', 'v1', 4), proxy('reviews', 'v2', 5)]);
  assert.equal(a.versions.virtualServices, b.versions.virtualServices);
  assert.equal(a.versions.destinationRules, b.versions.destinationRules);
  assert.equal(a.versions.services, b.versions.services, 'same service, same ports');
  assert.notEqual(a.versions.endpoints, b.versions.endpoints);
});

test('snapshot: one version per config kind; a policy edit changes its own kind\'s version only', () => {
  const policy = (action: string) => yaml('ap.yaml', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-ratings }
spec: { action: ${action}, rules: [{ to: [{ operation: { paths: ["/ratings*"] } }] }] }
`);
  const a = snapshot(configFrom(policy('DENY')), [proxy('reviews', 'v1', 4)]);
  const b = snapshot(configFrom(policy('AUDIT')), [proxy('reviews', 'v1', 4)]);
  assert.deepEqual(Object.keys(a.versions).sort(), [
    'authorizationPolicies', 'destinationRules', 'dnsEndpoints', 'endpoints', 'httpRouteGroups', 'identityBindings', 'jwks', 'mesh',
    'peerAuthentications', 'requestAuthentications', 'serviceEntries', 'services', 'tcpRoutes', 'telemetries', 'trafficTargets', 'virtualServices', 'workloadEntries',
  ]);
  const changed = (Object.keys(a.versions) as (keyof typeof a.versions)[]).filter((k) => a.versions[k] !== b.versions[k]);
  assert.deepEqual(changed, ['authorizationPolicies']);
});

test('a VirtualService edit inside a field named origin changes the routes version; moving the rule does not', () => {
  const vs = (value: string, file = 'vs.yaml', pad = '') => configFrom(yaml(file, `${pad}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match:
    - headers:
        origin: { exact: "${value}" }
    route:
    - destination: { host: reviews }
`));
  const a = snapshot(vs('https://a.example'), []).versions.virtualServices;
  assert.notEqual(snapshot(vs('https://b.example'), []).versions.virtualServices, a, 'an origin header match is part of the route');
  assert.equal(snapshot(vs('https://a.example', 'other.yaml', '# moved\n\n'), []).versions.virtualServices, a, 'where the rule is written is not');
});

const node = (metadata: Record<string, any>, id = 'sidecar~127.0.0.9~x.default~default.svc.cluster.local') => ({ id, cluster: 'x', metadata: toStruct(metadata) });

const nodeCases: Array<{ name: string; metadata: Record<string, any>; want?: object; error?: RegExp }> = [
  {
    name: 'full metadata',
    metadata: { NAMESPACE: 'shop', LABELS: { version: 'v2' }, SERVICE_ACCOUNT: 'cart', INSTANCE_IPS: '127.0.0.9,::1', WEFT_SERVICE: 'cart', WEFT_PORTS: [{ service_port: 8080, endpoint_port: 15006, app_port: 8081, protocol: 'http' }], WEFT_OUTBOUND_PORT: 25001, WEFT_INBOUND_PORT: 25006 },
    want: { service: 'cart', namespace: 'shop', address: '127.0.0.9', serviceAccount: 'cart', labels: { version: 'v2' }, ports: [{ servicePort: 8080, endpointPort: 15006, appPort: 8081, protocol: 'HTTP' }], outboundPort: 25001, inboundPort: 25006 },
  },
  { name: 'defaults (an Envoy or gRPC client without Weft metadata)', metadata: {}, want: { service: 'x', namespace: 'default', address: '127.0.0.1', ports: [], outboundPort: 15001 } },
  { name: 'bad port', metadata: { WEFT_PORTS: [{ service_port: 70000 }] }, error: /WEFT_PORTS\[0\]\.service_port: expected a port 1\.\.65535, got 70000/ },
  { name: 'labels must be strings', metadata: { LABELS: { version: 2 } }, error: /LABELS\.version: expected a string/ },
  // Issue 8 item 4: what one node claims must not be able to break every sidecar's EDS or name another service.
  { name: 'every INSTANCE_IPS entry is an IP', metadata: { INSTANCE_IPS: '127.0.0.9,db.internal' }, error: /INSTANCE_IPS\[1\]: "db\.internal" is not an IP address/ },
  { name: 'no multicast endpoint', metadata: { INSTANCE_IPS: '239.1.1.1' }, error: /INSTANCE_IPS\[0\].*multicast/ },
  { name: 'service is one DNS label', metadata: { WEFT_SERVICE: 'ratings.prod' }, error: /WEFT_SERVICE: "ratings\.prod" is not a DNS label/ },
  { name: 'namespace is one DNS label', metadata: { NAMESPACE: 'Kube System' }, error: /NAMESPACE: .* is not a DNS label/ },
  { name: 'label keys', metadata: { LABELS: { 'bad key': 'x' } }, error: /LABELS: "bad key" is not a label key/ },
  { name: 'label count', metadata: { LABELS: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }, error: /65 labels, more than the limit of 64/ },
  { name: 'protocol', metadata: { WEFT_PORTS: [{ service_port: 80, protocol: 'QUIC' }] }, error: /WEFT_PORTS\[0\]\.protocol: expected one of/ },
  { name: 'a service port once', metadata: { WEFT_PORTS: [{ service_port: 80 }, { service_port: 80 }] }, error: /WEFT_PORTS\[1\]\.service_port: 80 is listed twice/ },
  // Istio's INTERCEPTION_MODE: REDIRECT selects the captured layout; peers then reach the app on its own port.
  { name: 'INTERCEPTION_MODE absent: explicit', metadata: {}, want: { interceptionMode: 'NONE' } },
  {
    name: 'INTERCEPTION_MODE REDIRECT: endpoint port defaults to the app port',
    metadata: { INTERCEPTION_MODE: 'REDIRECT', WEFT_PORTS: [{ service_port: 80, app_port: 8080 }] },
    want: { interceptionMode: 'REDIRECT', ports: [{ servicePort: 80, endpointPort: 8080, appPort: 8080, protocol: 'HTTP' }] },
  },
  { name: 'INTERCEPTION_MODE TPROXY is refused by name', metadata: { INTERCEPTION_MODE: 'TPROXY' }, error: /INTERCEPTION_MODE: TPROXY is not supported \(use REDIRECT, or NONE for explicit mode\)/ },
  { name: 'INTERCEPTION_MODE unknown', metadata: { INTERCEPTION_MODE: 'redirect' }, error: /INTERCEPTION_MODE: expected REDIRECT or NONE, got "redirect"/ },
  {
    name: 'INTERCEPTION_MODE REDIRECT: an endpoint port other than the app port reaches no app',
    metadata: { INTERCEPTION_MODE: 'REDIRECT', WEFT_PORTS: [{ service_port: 80, app_port: 8080, endpoint_port: 15006 }] },
    error: /WEFT_PORTS\[0\]\.endpoint_port: 15006 differs from app_port 8080; under INTERCEPTION_MODE REDIRECT/,
  },
  // The admin address is only shown (weft proxy-config finds the proxy by it), never dialled: loopback only.
  { name: 'WEFT_ADMIN_ADDRESS shown as sent', metadata: { WEFT_ADMIN_ADDRESS: '127.0.0.1:15000' }, want: { adminAddress: '127.0.0.1:15000' } },
  { name: 'WEFT_ADMIN_ADDRESS not loopback', metadata: { WEFT_ADMIN_ADDRESS: '10.0.0.9:15000' }, error: /WEFT_ADMIN_ADDRESS: expected a loopback HOST:PORT, got "10\.0\.0\.9:15000"/ },
  { name: 'WEFT_ADMIN_ADDRESS not a string', metadata: { WEFT_ADMIN_ADDRESS: 15000 }, error: /WEFT_ADMIN_ADDRESS: expected a loopback HOST:PORT, got 15000/ },
  // The dashboard scrapes the port a proxy reports; absent when it serves none.
  { name: 'telemetry port', metadata: { WEFT_TELEMETRY_PORT: 15020 }, want: { telemetryPort: 15020 } },
  { name: 'no telemetry port', metadata: {}, want: { telemetryPort: undefined } },
  { name: 'bad telemetry port', metadata: { WEFT_TELEMETRY_PORT: 0 }, error: /WEFT_TELEMETRY_PORT: expected a port 1\.\.65535, got 0/ },
  { name: 'metadata depth', metadata: { DEEP: JSON.parse('['.repeat(40) + ']'.repeat(40)) }, error: /node\.metadata: nested deeper than 16 levels/ },
];
test("node metadata: an Envoy with Istio's cluster convention (<service>.<namespace>) and no Weft metadata", () => {
  const r = parseProxyNode({ id: 'sidecar~10.0.0.7~productpage-1.shop~shop.svc.cluster.local', cluster: 'productpage.shop', metadata: toStruct({ INSTANCE_IPS: '10.0.0.7' }) });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual([r.node.service, r.node.namespace, r.node.address], ['productpage', 'shop', '10.0.0.7']);
});

for (const c of nodeCases)
  test(`node metadata: ${c.name}`, () => {
    const r = parseProxyNode(node(c.metadata));
    if (c.error) {
      assert.equal(r.ok, false);
      assert.match(!r.ok ? r.errors.join('\n') : '', c.error);
    } else {
      assert.ok(r.ok, JSON.stringify(r));
      for (const [k, v] of Object.entries(c.want!)) assert.deepEqual((r.node as any)[k], v, k);
    }
  });
