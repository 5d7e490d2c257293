// The proxyless gRPC composition: what it serves, and that gRPC's own xDS client takes all of it.
// Every resource is encoded as the server sends it and decoded by @grpc/grpc-js-xds's resource
// types (the validation a real client runs before it ACKs), for every bookinfo routing fixture and
// for the configs gRPC rejects when served as a sidecar gets them.
import * as xds from '@grpc/grpc-js-xds';
import { ClusterResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/cluster-resource-type.js';
import { EndpointResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/endpoint-resource-type.js';
import { ListenerResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/listener-resource-type.js';
import { RouteConfigurationResourceType } from '@grpc/grpc-js-xds/build/src/xds-resource-type/route-config-resource-type.js';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { packAny, TypeUrl, type XdsType } from '../../src/api/envoy.js';
import { policyWarnings } from '../../src/config/policy-warnings.js';
import { translateFor } from '../../src/controlplane/translate/index.js';
import { XdsCache } from '../../src/controlplane/xds/cache.js';
import { grpcCluster } from '../../src/controlplane/translate/proxyless/clusters.js';
import { grpcRoute } from '../../src/controlplane/translate/proxyless/routes.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import type { XdsResource } from '../../src/controlplane/translate/types.js';
import { configFrom, fixture, fixturesDir, proxy, snapshot, yaml } from './fixtures.js';

xds.register(); // the HTTP filter registry (fault, router) the listener and route validation consult

const client: ProxyNode = { ...proxy('productpage', 'v1', 2), id: 'proxyless~127.0.0.2~app.default~default.svc.cluster.local', client: 'grpc', ports: [] };
const TYPES = { listener: ListenerResourceType.get(), route: RouteConfigurationResourceType.get(), cluster: ClusterResourceType.get(), endpoint: EndpointResourceType.get() } as const;
// What a client decodes with: its bootstrap's certificate providers (none) and the server it talks to.
const context = { server: { serverUri: '127.0.0.1:15010', channelCreds: [], serverFeatures: ['xds_v3'] }, bootstrap: { certificateProviders: {} } } as never;

/** Decode every resource as grpc-js-xds does; the errors it would NACK with. */
function grpcErrors(set: Record<XdsType, XdsResource[]>): string[] {
  const errors: string[] = [];
  for (const type of ['listener', 'route', 'cluster', 'endpoint'] as const) {
    for (const r of set[type]) {
      const any = packAny(TypeUrl[type], r.body);
      const decoded = TYPES[type].decode(context, { type_url: any.type_url, value: any.value } as never) as { error?: string; name: string };
      if (decoded.error) errors.push(`${type} ${r.name}: ${decoded.error}`);
      assert.equal(decoded.name, r.name);
    }
  }
  return errors;
}

const DR_ALL = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
const networking = path.join(fixturesDir, 'istio/bookinfo/networking');
const routingFixtures = fs.readdirSync(networking).filter((f) => f.startsWith('virtual-service-') || f.startsWith('fault-') || f.startsWith('egress-'));

for (const f of routingFixtures)
  test(`grpc-js-xds takes every proxyless resource: bookinfo ${f}`, () => {
    const set = translateFor(snapshot(configFrom(DR_ALL, fixture(`istio/bookinfo/networking/${f}`))), client, 'proxyless-grpc');
    assert.ok(set.listener.length > 0 && set.cluster.length > 0);
    assert.deepEqual(grpcErrors(set), []);
  });

/** What a sidecar's table may hold and gRPC rejects as a whole: a direct response, a redirect, 0 retries. */
const HOSTILE = yaml('hostile.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - match: [{ uri: { prefix: /health } }]
    directResponse: { status: 200, body: { string: ok } }
  - match: [{ uri: { prefix: /old } }]
    redirect: { uri: /new }
  - match: [{ queryParams: { debug: { exact: "1" } } }]
    route: [{ destination: { host: ratings, subset: v1 } }]
  - match: [{ headers: { x-slow: { exact: "1" } } }]
    timeout: 1.5s
    retries: { attempts: 0 }
    fault: { delay: { fixedDelay: 2s, percentage: { value: 100 } } }
    route: [{ destination: { host: ratings, subset: v1 } }]
  - route: [{ destination: { host: ratings, subset: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ratings }
spec:
  host: ratings
  trafficPolicy:
    loadBalancer: { simple: LEAST_REQUEST }
    outlierDetection: { consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s }
  subsets: [{ name: v1, labels: { version: v1 }, trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy: { loadBalancer: { consistentHash: { maglev: { tableSize: 65537 }, httpHeaderName: x-user } } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: legacy }
spec:
  hosts: [legacy.example]
  ports: [{ number: 7070, name: grpc, protocol: GRPC }]
  resolution: DNS
  endpoints: [{ address: legacy-a.example }, { address: legacy-b.example }]
`);

test('routes gRPC cannot take are left out or translated, and grpc-js-xds takes the rest', () => {
  const set = translateFor(snapshot(configFrom(HOSTILE)), client, 'proxyless-grpc');
  assert.deepEqual(grpcErrors(set), []);
  const ratings = set.route.find((r) => r.name === 'ratings.default.svc.cluster.local:9080')!;
  const [vh] = ratings.body.virtual_hosts as Array<{ domains: string[]; routes: Array<Record<string, any>> }>;
  assert.equal((ratings.body.virtual_hosts as unknown[]).length, 1, "one table per target: the target's virtual host only");
  assert.ok(vh.domains.includes('ratings:9080') && vh.domains.includes('ratings.default.svc.cluster.local:9080'));
  // The direct response, the redirect and the query match are gone; the slow route and the default stay.
  assert.equal(vh.routes.length, 2, JSON.stringify(vh.routes.map((r) => r.match)));
  const slow = vh.routes[0];
  assert.deepEqual(slow.route.max_stream_duration, { max_stream_duration: { seconds: 1, nanos: 500_000_000 }, grpc_timeout_header_max: { seconds: 1, nanos: 500_000_000 } });
  assert.deepEqual(slow.route.retry_policy, { retry_on: '', num_retries: { value: 1 } }, 'attempts 0: a policy that retries no gRPC code');
  assert.ok(slow.typed_per_filter_config['envoy.filters.http.fault'], 'the fault stays on its route');
  // sourceIp hashing becomes gRPC's channel id.
  assert.deepEqual(vh.routes[1].route.hash_policy, [{ filter_state: { key: 'io.grpc.channel_id' } }]);
  const cluster = (name: string) => set.cluster.find((c) => c.name === name)!.body;
  assert.equal(cluster('outbound|9080||ratings.default.svc.cluster.local').lb_policy, 'ROUND_ROBIN', 'LEAST_REQUEST: grpc-js has no such policy');
  assert.equal(cluster('outbound|9080|v1|ratings.default.svc.cluster.local').lb_policy, 'RING_HASH');
  assert.equal(cluster('outbound|9080||reviews.default.svc.cluster.local').lb_policy, 'RING_HASH', 'MAGLEV hashes as a ring');
  const legacy = cluster('outbound|7070||legacy.example');
  assert.equal(legacy.type, 'LOGICAL_DNS');
  assert.deepEqual((legacy.load_assignment as any).endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address.address), ['legacy-a.example']);
  assert.equal(set.listener.filter((l) => l.name.startsWith('legacy.example')).length, 2, 'legacy.example:7070 and legacy.example');
});

test('EDS: every locality has a locality and a weight (gRPC drops one without)', () => {
  for (const la of translateFor(snapshot(configFrom()), client, 'proxyless-grpc').endpoint)
    for (const g of la.body.endpoints as Array<Record<string, unknown>>) {
      assert.ok(g.locality, la.name);
      assert.ok((g.load_balancing_weight as { value: number }).value >= 1, la.name);
    }
});

test('grpcCluster: what no gRPC client can run is left out; transport sockets go', () => {
  assert.equal(grpcCluster({ name: 'passthrough', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' }), undefined);
  const out = grpcCluster({ name: 'c', type: 'EDS', lb_policy: 'RANDOM', transport_socket: { name: 'tls' }, transport_socket_matches: [] })!;
  assert.deepEqual([out.lb_policy, 'transport_socket' in out, 'transport_socket_matches' in out], ['ROUND_ROBIN', false, false]);
});

test('grpcRoute: a route without a route action is not served', () => {
  assert.equal(grpcRoute({ name: 'r', match: { prefix: '/' }, direct_response: { status: 200 } }), undefined);
  assert.ok(grpcRoute({ name: 'r', match: { prefix: '/' }, route: { cluster: 'c' } }));
});

test("the checker bites: the sidecar's own route table of the same config is what gRPC rejects", () => {
  const sidecar = translateFor(snapshot(configFrom(HOSTILE)), proxy('productpage', 'v1', 2), 'sidecar-sotw');
  const errors = grpcErrors({ ...sidecar, listener: [], cluster: sidecar.cluster.filter((c) => c.name.includes('ratings')) });
  assert.ok(errors.some((e) => /unsupported action|direct_response|redirect/.test(e)), errors.join('\n'));
  assert.ok(errors.some((e) => /num_retries/.test(e)), errors.join('\n'));
  assert.ok(errors.some((e) => /lb_policy/.test(e)), errors.join('\n'));
});

test('weft analyze warns of each route proxyless gRPC clients are served differently', () => {
  const warnings = policyWarnings(configFrom(HOSTILE)).filter((w) => w.code === 'WEFT_E_PROXYLESS_ROUTE');
  assert.deepEqual(warnings.map((w) => `${w.resource} ${w.path}`), [
    'VirtualService default/ratings spec.http[0].directResponse',
    'VirtualService default/ratings spec.http[1].redirect',
    'VirtualService default/ratings spec.http[2].match[0].queryParams',
    'VirtualService default/ratings spec.http[3].retries.attempts',
  ]);
  assert.match(warnings[0].message, /not served to proxyless gRPC clients/);
  assert.deepEqual(policyWarnings(configFrom(DR_ALL, fixture('istio/bookinfo/networking/virtual-service-reviews-80-20.yaml'))), [], 'a plain split warns of nothing');
});

test('an xDS-enabled gRPC server (a gRPC node with WEFT_PORTS) gets the inbound listener of its port, which grpc-js-xds takes', () => {
  const server: ProxyNode = { ...client, address: '10.0.0.5', ports: [{ servicePort: 7070, endpointPort: 7070, appPort: 7070, protocol: 'GRPC' }] };
  const set = translateFor(snapshot(configFrom()), server, 'proxyless-grpc');
  const inbound = set.listener.filter((l) => l.name.startsWith('grpc/server?'));
  assert.deepEqual(inbound.map((l) => l.name), [
    'grpc/server?xds.resource.listening_address=10.0.0.5:7070',
    'grpc/server?xds.resource.listening_address=0.0.0.0:7070',
    'grpc/server?xds.resource.listening_address=[::]:7070',
  ]);
  assert.deepEqual((inbound[0].body.address as any).socket_address, { address: '10.0.0.5', port_value: 7070 });
  assert.deepEqual(grpcErrors({ ...set, listener: inbound }), []);
  assert.equal(translateFor(snapshot(configFrom()), client, 'proxyless-grpc').listener.filter((l) => l.name.startsWith('grpc/server?')).length, 0, 'a plain client gets none');
});

test('a PASSTHROUGH destination (ORIGINAL_DST, which gRPC cannot run) leaves out its cluster and the routes to it', () => {
  const passthrough = yaml('pt.yaml', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: details }
spec:
  host: details
  trafficPolicy: { loadBalancer: { simple: PASSTHROUGH } }
`);
  const set = translateFor(snapshot(configFrom(passthrough)), client, 'proxyless-grpc');
  assert.equal(set.cluster.some((c) => c.name === 'outbound|9080||details.default.svc.cluster.local'), false);
  const details = set.route.find((r) => r.name === 'details.default.svc.cluster.local:9080')!;
  assert.deepEqual((details.body.virtual_hosts as Array<{ routes: unknown[] }>)[0].routes, []);
  assert.deepEqual(grpcErrors(set), []);
  // The cache would hold back a set naming a cluster it lacks: this one is published.
  const cache = new XdsCache();
  cache.setSnapshot(snapshot(configFrom(passthrough)));
  cache.resourcesFor(client, 'sotw');
  assert.deepEqual(cache.consistencyReport().inconsistent, []);
});
