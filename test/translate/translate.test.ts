// Table-driven translation tests: assert behaviour-relevant facts of the generated xDS, and keep the
// full output of a few scenarios as golden files (UPDATE_GOLDEN=1 npm test rewrites them).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { messageType, packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import type { MeshSnapshot } from '../../src/controlplane/model/snapshot.js';
import { translate, translateFor, type ResourceSet } from '../../src/controlplane/translate/index.js';
import { COMPOSITIONS, type ClientKind } from '../../src/controlplane/xds/compositions.js';
import { repoRoot } from '../helpers/processes.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { bookinfoProxies, capturedBookinfoProxies, capturedProxy, configFrom, EGRESS_TCP, fixture, MYSQL_TRAFFIC_TARGET, mysqldb, proxy, ratingsForReviewsOnly, snapshot, yaml } from './fixtures.js';

const client = proxy('productpage', 'v1', 2);
const byName = (set: ResourceSet, type: keyof ResourceSet, name: string) => set[type].find((r) => r.name === name)?.body as any;
const vhost = (set: ResourceSet, name: string) => byName(set, 'route', 'virtualOutbound').virtual_hosts.find((v: any) => v.name === name);

interface Case {
  name: string;
  config: ReturnType<typeof configFrom>;
  check: (out: ResourceSet) => void;
}

const cases: Case[] = [
  {
    name: 'no config: every service gets a cluster, EDS endpoints, and a catch-all route',
    config: configFrom(),
    check(out) {
      const c = byName(out, 'cluster', 'outbound|9080||reviews.default.svc.cluster.local');
      assert.equal(c.type, 'EDS');
      assert.equal(c.lb_policy, 'LEAST_REQUEST');
      const cla = byName(out, 'endpoint', 'outbound|9080||reviews.default.svc.cluster.local');
      assert.deepEqual(cla.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address.address), ['127.0.0.4', '127.0.0.5', '127.0.0.6']);
      assert.equal(cla.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 15006);
      const vh = vhost(out, 'reviews.default.svc.cluster.local:9080');
      assert.ok(vh.domains.includes('reviews') && vh.domains.includes('reviews:9080') && vh.domains.includes('reviews.default.svc.cluster.local:9080'));
      assert.equal(vh.routes[0].route.cluster, 'outbound|9080||reviews.default.svc.cluster.local');
      assert.deepEqual(byName(out, 'cluster', 'inbound|9080||').load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: '127.0.0.1', port_value: 9080 });
    },
  },
  {
    name: 'DestinationRule subsets become clusters with label-filtered endpoints',
    config: configFrom(fixture('istio/bookinfo/networking/destination-rule-all.yaml')),
    check(out) {
      const cla = byName(out, 'endpoint', 'outbound|9080|v2|reviews.default.svc.cluster.local');
      assert.deepEqual(cla.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address.address), ['127.0.0.5']);
      assert.deepEqual(byName(out, 'endpoint', 'outbound|9080|v2-mysql|ratings.default.svc.cluster.local').endpoints, []);
    },
  },
  {
    name: 'a weighted VirtualService becomes weighted_clusters',
    config: configFrom(fixture('istio/bookinfo/networking/destination-rule-all.yaml'), fixture('istio/bookinfo/networking/virtual-service-reviews-80-20.yaml')),
    check(out) {
      const route = vhost(out, 'reviews.default.svc.cluster.local:9080').routes[0].route;
      assert.deepEqual(route.weighted_clusters.clusters, [
        { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', weight: { value: 80 } },
        { name: 'outbound|9080|v2|reviews.default.svc.cluster.local', weight: { value: 20 } },
      ]);
    },
  },
  {
    name: 'header match precedes the fallback route',
    config: configFrom(fixture('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml')),
    check(out) {
      const routes = vhost(out, 'reviews.default.svc.cluster.local:9080').routes;
      assert.deepEqual(routes[0].match.headers, [{ name: 'end-user', string_match: { exact: 'jason' } }]);
      assert.equal(routes[0].route.cluster, 'outbound|9080|v2|reviews.default.svc.cluster.local');
      assert.equal(routes[1].route.cluster, 'outbound|9080|v3|reviews.default.svc.cluster.local');
      assert.equal(routes.length, 2);
    },
  },
  {
    name: 'fault injection rides on the route as typed_per_filter_config',
    config: configFrom(fixture('istio/bookinfo/networking/virtual-service-ratings-test-abort.yaml')),
    check(out) {
      const r = vhost(out, 'ratings.default.svc.cluster.local:9080').routes[0];
      assert.deepEqual(r.typed_per_filter_config['envoy.filters.http.fault'].abort, { http_status: 500, percentage: { numerator: 1_000_000, denominator: 'MILLION' } });
    },
  },
  {
    name: 'a VirtualService bound only to a gateway does not apply to sidecars',
    config: configFrom(fixture('istio/bookinfo/networking/bookinfo-gateway.yaml')),
    check(out) {
      assert.equal(vhost(out, 'productpage.default.svc.cluster.local:9080').routes[0].name, 'default');
    },
  },
  {
    name: 'a DNS ServiceEntry becomes a STRICT_DNS cluster; bare host means port 80',
    config: configFrom(fixture('istio/bookinfo/networking/egress-rule-google-apis.yaml')),
    check(out) {
      const c = byName(out, 'cluster', 'outbound|80||www.googleapis.com');
      assert.equal(c.type, 'STRICT_DNS');
      assert.equal(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address, 'www.googleapis.com');
      assert.equal(byName(out, 'cluster', 'outbound|443||www.googleapis.com').lb_policy, 'ROUND_ROBIN');
      assert.ok(vhost(out, 'www.googleapis.com:80').domains.includes('www.googleapis.com'));
      assert.equal(vhost(out, 'www.googleapis.com:443'), undefined, 'an HTTPS port is not routed as plain HTTP');
      // match.port: 80 sends port-80 traffic to the 443 cluster (TLS origination comes with the DestinationRule's tls).
      assert.equal(vhost(out, 'www.googleapis.com:80').routes[0].route.cluster, 'outbound|443||www.googleapis.com');
    },
  },
  {
    name: 'sourceLabels limit a rule to matching clients',
    config: configFrom(ratingsForReviewsOnly),
    check(out) {
      const routes = vhost(out, 'ratings.default.svc.cluster.local:9080').routes;
      assert.equal(routes.length, 1, 'productpage is not app=reviews');
      assert.equal(routes[0].route.cluster, 'outbound|9080|v2|ratings.default.svc.cluster.local');
    },
  },
];

for (const c of cases) {
  test(`translate: ${c.name}`, () => {
    const out = translate(snapshot(c.config), client);
    c.check(out);
    // Everything the translator emits must encode as Envoy's real messages and survive a round trip.
    for (const type of ['cluster', 'endpoint', 'listener', 'route'] as const)
      for (const r of out[type]) {
        const t = messageType(TypeUrl[type]);
        assert.equal(t.verify(t.fromObject(r.body)), null, `${type} ${r.name} is a valid ${TypeUrl[type]}`);
        const back = unpackAny(packAny(TypeUrl[type], r.body));
        assert.equal(back.name ?? back.cluster_name, r.name);
      }
  });
}

test('translate is pure: same inputs, same output', () => {
  const config = configFrom(fixture('istio/bookinfo/networking/destination-rule-all.yaml'));
  assert.deepEqual(translate(snapshot(config), client), translate(snapshot(config), client));
});

const goldenDir = path.join(repoRoot, 'test/translate/golden');
const DR_ALL = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
// A meshed TCP workload (mysqldb, port 3306) whose inbound chain is tcp_proxy behind network RBAC,
// with an AuthorizationPolicy (an HTTP-only ALLOW rule dropped, a DENY's HTTP-only field dropped) and
// an SMI TrafficTarget on a TCPRoute.
const TCP_POLICIES = yaml('tcp-authz.yaml', `${MYSQL_TRAFFIC_TARGET}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: mysqldb }
spec:
  selector: { matchLabels: { app: mysqldb } }
  rules:
  - from: [{ source: { namespaces: [default] } }]
    to: [{ operation: { ports: ["3306"], methods: [GET] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-ratings }
spec:
  action: DENY
  rules:
  - from: [{ source: { principals: [cluster.local/ns/default/sa/bookinfo-ratings] } }]
    to: [{ operation: { paths: [/admin] } }]
`);
const goldens: Array<[string, ReturnType<typeof configFrom>, ProxyNode?]> = [
  ['bookinfo-default', configFrom()],
  ['bookinfo-jason-v2-v3', configFrom(DR_ALL, fixture('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml'))],
  ['bookinfo-90-10', configFrom(DR_ALL, fixture('istio/bookinfo/networking/virtual-service-reviews-90-10.yaml'))],
  ['tcp-inbound-rbac', configFrom(TCP_POLICIES), mysqldb()],
];
/** Captured sidecars (INTERCEPTION_MODE REDIRECT) in a captured bookinfo: Istio's transparent layout. */
const capturedGoldens: Array<[string, ReturnType<typeof configFrom>, ProxyNode?]> = [
  ['captured-bookinfo-default', configFrom()],
  ['captured-bookinfo-jason-egress', configFrom(DR_ALL, fixture('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml'), fixture('istio/bookinfo/networking/egress-rule-google-apis.yaml'), EGRESS_TCP)],
];
const capturedClient = capturedProxy('productpage', 'v1', 2);
// One golden file per client kind, from the same compositions production serves (xds/compositions.ts):
// `<name>.json` for SotW sidecars (the ResourceSet of translate()), `<name>.delta.json` for Delta ones.
// `<name>.proxyless.json` for proxyless gRPC clients (an application in productpage's namespace, no sidecar).
const proxylessClient: ProxyNode = { ...client, id: 'proxyless~127.0.0.2~productpage-v1.default~default.svc.cluster.local', client: 'grpc', ports: [] };
const goldenOutput = (kind: ClientKind, snap: MeshSnapshot, p?: ProxyNode) => {
  if (kind === 'proxyless-grpc') return translateFor(snap, proxylessClient, kind);
  const c = p ?? (kind.startsWith('captured-') ? capturedClient : client);
  return kind === 'sidecar-sotw' ? translate(snap, c) : translateFor(snap, c, kind);
};
const goldenFile = (name: string, kind: ClientKind) =>
  kind === 'proxyless-grpc' ? `${name}.proxyless.json` : kind.endsWith('-sotw') ? `${name}.json` : `${name}.delta.json`;
// Proxyless clients run beside the explicit-mode mesh, not the captured one.
const kindsOf = (captured: boolean) => (Object.keys(COMPOSITIONS) as ClientKind[]).filter((k) => k.startsWith('captured-') === captured && (!captured || k !== 'proxyless-grpc'));
for (const [captured, list] of [[false, goldens], [true, capturedGoldens]] as const) {
  for (const [name, config, goldenClient] of list) {
    for (const kind of kindsOf(captured)) {
      const fileName = goldenFile(name, kind);
      test(`golden: ${name} (${kind})`, () => {
        const base = captured ? capturedBookinfoProxies() : bookinfoProxies();
        const proxies = goldenClient ? [...base, goldenClient] : base;
        const got = JSON.stringify(goldenOutput(kind, snapshot(config, proxies), goldenClient), null, 2) + '\n';
        const file = path.join(goldenDir, fileName);
        if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, got);
        assert.ok(fs.existsSync(file), `${file} missing: run UPDATE_GOLDEN=1 npm test`);
        assert.equal(got, fs.readFileSync(file, 'utf8'), `${fileName} differs from its golden file (UPDATE_GOLDEN=1 npm test to accept)`);
      });
    }
  }
}

test('golden: every client kind has its goldens (a new composition gets golden files too)', () => {
  const files = new Set(fs.readdirSync(goldenDir));
  for (const [name] of [...goldens, ...capturedGoldens]) {
    assert.ok(files.has(`${name}.json`) && files.has(`${name}.delta.json`), `${name}: SotW and Delta goldens`);
  }
  for (const [name] of goldens) assert.ok(files.has(`${name}.proxyless.json`), `${name}: proxyless gRPC golden`);
  assert.deepEqual(Object.keys(COMPOSITIONS).sort(), ['captured-delta', 'captured-sotw', 'proxyless-grpc', 'sidecar-delta', 'sidecar-sotw']);
});
