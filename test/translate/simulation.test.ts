// Simulation: push synthetic calls through the config the control plane generates, as the proxy
// would run it (encoded, decoded and validated by the proxy's own edge, matched by its route table),
// and assert which workload each call reaches. Behaviour, not proto shape.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { translate } from '../../src/controlplane/translate/index.js';
import { RouteTable } from '../../src/proxy/http/route-table.js';
import type { RequestView } from '../../src/proxy/http/stream.js';
import type { FaultConfig, ModelByType } from '../../src/proxy/xds/model.js';
import { configFrom, fixture, fixturesDir, proxy, snapshot, yaml } from './fixtures.js';
import { decodeSet, request, type Decoded } from './simulate.js';

/** What the client proxy would run: the control plane's output through the proxy's validation. */
function proxyView(config: ReturnType<typeof configFrom>): Decoded {
  const d = decodeSet(translate(snapshot(config), proxy('productpage', 'v1', 2)));
  assert.ok(d.ok, `the proxy refuses the control plane's output: ${!d.ok && d.errors.join('; ')}`);
  return d.view;
}

/** The endpoints one call can reach: route → cluster → EDS addresses (random() fixed for weighted picks). */
function simulate(view: Decoded, call: RequestView, random = 0.5): { cluster: string; endpoints: string[] } | string {
  const table = new RouteTable(view.route.find((r) => r.name === 'virtualOutbound')!.model);
  const vh = table.selectVirtualHost(call.authority);
  if (!vh) return 'no virtual host (404)';
  const route = vh.match(call);
  if (!route) return 'no route (404)';
  const cluster = route.pickCluster(() => random);
  const c = view.cluster.find((x) => x.name === cluster)?.model;
  if (!c) return `unknown cluster ${cluster} (503)`;
  const cla: ModelByType['endpoint'] | undefined = c.loadAssignment ?? view.endpoint.find((e) => e.name === c.edsServiceName)?.model;
  return { cluster, endpoints: (cla?.endpoints ?? []).map((e) => `${e.host}:${e.port}`) };
}

const DR = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
const V1 = '127.0.0.4:15006';
const V2 = '127.0.0.5:15006';
const V3 = '127.0.0.6:15006';

const cases: Array<{ name: string; config: ReturnType<typeof configFrom>; call: RequestView; random?: number; want: string[] | string }> = [
  { name: 'no config: reviews reaches every instance', config: configFrom(), call: request('reviews'), want: [V1, V2, V3] },
  { name: 'FQDN with port is the same service', config: configFrom(), call: request('reviews.default.svc.cluster.local:9080'), want: [V1, V2, V3] },
  { name: 'namespace-qualified short name', config: configFrom(), call: request('reviews.default:9080'), want: [V1, V2, V3] },
  { name: 'an unknown host has no virtual host', config: configFrom(), call: request('nosuch:9080'), want: 'no virtual host (404)' },
  { name: 'a port the service does not have', config: configFrom(), call: request('reviews:8080'), want: 'no virtual host (404)' },
  { name: 'all-v1', config: configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-all-v1.yaml')), call: request('reviews'), want: [V1] },
  { name: 'jason goes to v2', config: configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml')), call: request('reviews:9080', '/reviews/0', { 'end-user': 'jason' }), want: [V2] },
  { name: 'everyone else goes to v3', config: configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml')), call: request('reviews:9080', '/reviews/0', { 'end-user': 'json' }), want: [V3] },
  { name: '90/10: a draw below 0.9 is v1', config: configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-reviews-90-10.yaml')), call: request('reviews'), random: 0.89, want: [V1] },
  { name: '90/10: a draw above 0.9 is v2', config: configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-reviews-90-10.yaml')), call: request('reviews'), random: 0.91, want: [V2] },
  { name: 'a subset with no instances has no endpoints (503 at the proxy)', config: configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-ratings-mysql.yaml')), call: request('ratings'), want: [] },
];

for (const c of cases)
  test(`simulate: ${c.name}`, () => {
    const got = simulate(proxyView(c.config), c.call, c.random);
    assert.deepEqual(typeof got === 'string' ? got : got.endpoints, c.want);
  });

test('simulate: the 80/20 split over evenly spread draws is exactly 80/20', () => {
  const view = proxyView(configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-reviews-80-20.yaml')));
  const counts: Record<string, number> = {};
  for (let i = 0; i < 1000; i++) {
    const r = simulate(view, request('reviews'), (i + 0.5) / 1000);
    const key = typeof r === 'string' ? r : r.cluster;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  assert.deepEqual(counts, { 'outbound|9080|v1|reviews.default.svc.cluster.local': 800, 'outbound|9080|v2|reviews.default.svc.cluster.local': 200 });
});

test('simulate: fault injection reaches the proxy as a route fault', () => {
  const view = proxyView(configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-ratings-test-abort.yaml')));
  const table = new RouteTable(view.route[0].model);
  const jason = table.selectVirtualHost('ratings')!.match(request('ratings', '/', { 'end-user': 'jason' }))!;
  const other = table.selectVirtualHost('ratings')!.match(request('ratings'))!;
  const fault = (r: typeof jason) => r.route.perFilter.get('envoy.filters.http.fault')?.config as FaultConfig | undefined;
  assert.equal(fault(jason)?.abort?.httpStatus, 500);
  assert.equal(fault(other), undefined);
});

test('every bookinfo networking fixture translates into config the proxy accepts', () => {
  const dir = path.join(fixturesDir, 'istio/bookinfo/networking');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 20);
  for (const f of files) proxyView(configFrom(fixture(`istio/bookinfo/networking/${f}`)));
});

test('simulate: retries — the mesh default on every route, a VirtualService can change or disable it', () => {
  const view = proxyView(configFrom(DR, yaml('retries.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - match: [{ uri: { prefix: /none } }]
    retries: { attempts: 0 }
    route: [{ destination: { host: ratings } }]
  - retries: { attempts: 5, perTryTimeout: 2s, retryOn: 5xx }
    route: [{ destination: { host: ratings } }]
`)));
  const table = new RouteTable(view.route[0].model);
  const retryOf = (host: string, p = '/') => {
    const a = table.selectVirtualHost(host)!.match(request(host, p))!.route.action;
    return a.kind === 'route' ? a.retry : undefined;
  };
  assert.equal(retryOf('reviews')?.numRetries, 2, 'Istio default: 2 retries');
  assert.deepEqual(retryOf('reviews')?.retriableStatusCodes, [503]);
  assert.equal(retryOf('ratings', '/none')?.numRetries ?? 0, 0);
  assert.equal(retryOf('ratings', '/x')?.numRetries, 5);
  assert.equal(retryOf('ratings', '/x')?.perTryTimeoutMs, 2000);
  assert.equal(retryOf('ratings', '/x')?.on.status5xx, true);
});

test('simulate: mirror and mirrorPercentage reach the proxy as request_mirror_policies; grpcStatus aborts as grpc_status', () => {
  const view = proxyView(
    configFrom(
      DR,
      yaml('mirror.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews, subset: v1 } }]
    mirror: { host: reviews, subset: v2 }
    mirrorPercentage: { value: 20 }
    fault: { abort: { grpcStatus: UNAVAILABLE, percentage: { value: 5 } } }
`),
    ),
  );
  const table = new RouteTable(view.route[0].model);
  const route = table.selectVirtualHost('reviews')!.match(request('reviews'))!.route;
  assert.equal(route.action.kind, 'route');
  if (route.action.kind !== 'route') return;
  assert.deepEqual(route.action.mirrors, [{ cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local', percent: { numerator: 200_000, denominator: 1_000_000 }, shadowSuffix: true }]);
  const fault = route.perFilter.get('envoy.filters.http.fault')?.config as FaultConfig;
  assert.equal(fault.abort?.grpcStatus, 14);
  assert.equal(fault.abort?.httpStatus, 503);
});
