// Istio loadBalancer → Envoy, field by field: what each DestinationRule setting becomes on the
// cluster (CDS), the route (RDS hash_policy) and the endpoints (EDS localities and priorities), and
// that the proxy's own validator takes it (PASSTHROUGH: refused, saying what is missing). The whole
// mapping is also kept as a golden file (UPDATE_GOLDEN=1 npm test rewrites it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { translate, type ResourceSet } from '../../src/controlplane/translate/index.js';
import { validateResource } from '../../src/proxy/xds/decode.js';
import { repoRoot } from '../helpers/processes.js';
import { bookinfoProxies, configFrom, proxy, snapshot, yaml } from './fixtures.js';

const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';

/** A DestinationRule for reviews with this loadBalancer (YAML flow style) and optional extras. */
const dr = (lb: string, extra = '') =>
  yaml('dr.yaml', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: ${lb}
${extra}  subsets: [{ name: v1, labels: { version: v1 } }]
`);

/** Reviews instances in three localities; the client sits in r1/z1/s1. */
const located = () => [
  proxy('productpage', 'v1', 2, { locality: 'r1/z1/s1' }),
  proxy('reviews', 'v1', 4, { locality: 'r1/z1/s1' }),
  proxy('reviews', 'v2', 5, { locality: 'r1/z2/s1' }),
  proxy('reviews', 'v3', 6, { locality: 'r2/z1/s1' }),
];
const client = located()[0];

const pick = (out: ResourceSet, type: 'cluster' | 'endpoint', name: string) => out[type].find((r) => r.name === name)!.body as any;
const lbFields = (c: any) =>
  Object.fromEntries(Object.entries(c).filter(([k]) => ['type', 'lb_policy', 'ring_hash_lb_config', 'maglev_lb_config', 'round_robin_lb_config', 'least_request_lb_config', 'common_lb_config', 'eds_cluster_config'].includes(k)));
const reviewsRoute = (out: ResourceSet) =>
  (out.route[0].body as any).virtual_hosts.find((v: any) => v.name === 'reviews.default.svc.cluster.local:9080').routes[0].route;
const localities = (cla: any) =>
  cla.endpoints.map((g: any) => ({ locality: g.locality, priority: g.priority ?? 0, weight: g.load_balancing_weight?.value, hosts: g.lb_endpoints.map((e: any) => e.endpoint.address.socket_address.address) }));

/** The three reviews localities of `located()` with these priorities, one host of weight 1 each. */
const threeLocalities = (priorities: number[]) =>
  [['r1', 'z1', '127.0.0.4'], ['r1', 'z2', '127.0.0.5'], ['r2', 'z1', '127.0.0.6']].map(([region, zone, host], i) => ({
    locality: { region, zone, sub_zone: 's1' },
    priority: priorities[i],
    weight: 1,
    hosts: [host],
  }));

interface Case {
  name: string;
  lb: string;
  extra?: string;
  cluster?: Record<string, unknown>;
  hashPolicy?: unknown[];
  eds?: unknown[];
  nack?: RegExp;
}

const cases: Case[] = [
  { name: 'ROUND_ROBIN', lb: '{ simple: ROUND_ROBIN }', cluster: { lb_policy: 'ROUND_ROBIN' } },
  { name: 'LEAST_REQUEST', lb: '{ simple: LEAST_REQUEST }', cluster: { lb_policy: 'LEAST_REQUEST' } },
  { name: 'RANDOM', lb: '{ simple: RANDOM }', cluster: { lb_policy: 'RANDOM' } },
  { name: 'PASSTHROUGH → ORIGINAL_DST / CLUSTER_PROVIDED', lb: '{ simple: PASSTHROUGH }', cluster: { type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' } },
  { name: 'consistentHash.httpHeaderName → RING_HASH + header hash_policy', lb: '{ consistentHash: { httpHeaderName: x-user } }', cluster: { lb_policy: 'RING_HASH' }, hashPolicy: [{ header: { header_name: 'x-user' } }] },
  {
    name: 'httpCookie (name, path, ttl) and ringHash.minimumRingSize',
    lb: '{ consistentHash: { httpCookie: { name: sticky, path: /, ttl: 3600s }, ringHash: { minimumRingSize: 2048 } } }',
    cluster: { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 2048 } } },
    hashPolicy: [{ cookie: { name: 'sticky', path: '/', ttl: { seconds: 3600, nanos: 0 } } }],
  },
  { name: 'useSourceIp on maglev.tableSize', lb: '{ consistentHash: { useSourceIp: true, maglev: { tableSize: 251 } } }', cluster: { lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 251 } } }, hashPolicy: [{ connection_properties: { source_ip: true } }] },
  { name: 'httpQueryParameterName', lb: '{ consistentHash: { httpQueryParameterName: user } }', cluster: { lb_policy: 'RING_HASH' }, hashPolicy: [{ query_parameter: { name: 'user' } }] },
  {
    name: 'warmupDurationSecs on ROUND_ROBIN → slow_start_config',
    lb: '{ simple: ROUND_ROBIN, warmupDurationSecs: 60s }',
    cluster: { lb_policy: 'ROUND_ROBIN', round_robin_lb_config: { slow_start_config: { slow_start_window: { seconds: 60, nanos: 0 } } } },
  },
  {
    name: 'warmup (duration, minimumPercent, aggression) on the default LEAST_REQUEST',
    lb: '{ warmup: { duration: 30s, minimumPercent: 20, aggression: 2 } }',
    cluster: {
      lb_policy: 'LEAST_REQUEST',
      least_request_lb_config: { slow_start_config: { slow_start_window: { seconds: 30, nanos: 0 }, aggression: { default_value: 2, runtime_key: '' }, min_weight_percent: { value: 20 } } },
    },
  },
  {
    name: 'localityLbSetting.distribute → locality weights, unnamed localities dropped',
    lb: "{ localityLbSetting: { distribute: [{ from: 'r1/z1/*', to: { 'r1/z1/*': 80, 'r1/z2/*': 20 } }] } }",
    cluster: { lb_policy: 'LEAST_REQUEST', common_lb_config: { locality_weighted_lb_config: {} } },
    eds: [
      { locality: { region: 'r1', zone: 'z1', sub_zone: 's1' }, priority: 0, weight: 80, hosts: ['127.0.0.4'] },
      { locality: { region: 'r1', zone: 'z2', sub_zone: 's1' }, priority: 0, weight: 20, hosts: ['127.0.0.5'] },
    ],
  },
  {
    name: 'locality failover by region/zone (needs outlierDetection, as in Istio)',
    lb: '{ simple: ROUND_ROBIN }',
    extra: '    outlierDetection: { consecutive5xxErrors: 3 }\n',
    cluster: { lb_policy: 'ROUND_ROBIN' },
    eds: threeLocalities([0, 1, 2]),
  },
  {
    name: 'failoverPriority ranks by matching labels (the client is version v1)',
    lb: '{ localityLbSetting: { failoverPriority: [version] } }',
    extra: '    outlierDetection: { consecutive5xxErrors: 3 }\n',
    // outlierDetection also sets Istio's panic threshold (minHealthPercent, 0 by default).
    cluster: { lb_policy: 'LEAST_REQUEST', common_lb_config: { locality_weighted_lb_config: {}, healthy_panic_threshold: { value: 0 } } },
    eds: threeLocalities([0, 1, 1]),
  },
  {
    name: 'failoverPriority on a topology label reads the locality (region: both r1 zones first)',
    lb: "{ localityLbSetting: { failoverPriority: ['topology.kubernetes.io/region'] } }",
    extra: '    outlierDetection: { consecutive5xxErrors: 3 }\n',
    cluster: { lb_policy: 'LEAST_REQUEST' },
    eds: threeLocalities([0, 0, 1]),
  },
  {
    name: 'without outlierDetection there is no failover: one priority, weights only',
    lb: '{ simple: ROUND_ROBIN }',
    cluster: { lb_policy: 'ROUND_ROBIN' },
    eds: threeLocalities([0, 0, 0]),
  },
];

function run(c: Case) {
  const out = translate(snapshot(configFrom(dr(c.lb, c.extra)), located()), client);
  const cluster = pick(out, 'cluster', REVIEWS);
  return { out, cluster, route: reviewsRoute(out), cla: out.endpoint.find((r) => r.name === REVIEWS)?.body ?? { endpoints: [] } };
}

describe('Istio loadBalancer → Envoy fields', () => {
  for (const c of cases)
    it(c.name, () => {
      const { cluster, route, cla } = run(c);
      for (const [k, v] of Object.entries(c.cluster ?? {})) assert.deepEqual(cluster[k], v, k);
      assert.deepEqual(route.hash_policy, c.hashPolicy);
      if (c.eds) assert.deepEqual(localities(cla), c.eds);
      // The proxy takes it (or refuses exactly what it cannot do).
      const v = validateResource('cluster', unpackAny(packAny(TypeUrl.cluster, cluster)));
      if (c.nack) assert.ok(!v.valid && v.errors.some((e) => c.nack!.test(e)), JSON.stringify(v));
      else assert.ok(v.valid, JSON.stringify(!v.valid && v.errors));
      if (cluster.type === 'ORIGINAL_DST') assert.equal(cla.cluster_name, undefined, 'no EDS for an ORIGINAL_DST cluster');
      else assert.ok(validateResource('endpoint', unpackAny(packAny(TypeUrl.endpoint, cla))).valid);
    });

  it('a subset inherits the hash; the subset route carries it too', () => {
    const out = translate(snapshot(configFrom(dr('{ consistentHash: { httpHeaderName: x-user } }'), yaml('vs.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v1 } }] }]
`)), located()), client);
    assert.equal(pick(out, 'cluster', V1).lb_policy, 'RING_HASH');
    assert.deepEqual(reviewsRoute(out).hash_policy, [{ header: { header_name: 'x-user' } }]);
  });

  it('a client without locality gets plain endpoints (no priorities)', () => {
    const out = translate(snapshot(configFrom(dr('{ simple: ROUND_ROBIN }', '    outlierDetection: { consecutive5xxErrors: 3 }\n')), located()), proxy('productpage', 'v1', 2));
    assert.ok(localities(pick(out, 'endpoint', REVIEWS)).every((g: any) => g.priority === 0));
  });

  it('a mesh without localities keeps one plain group (no locality fields)', () => {
    const out = translate(snapshot(configFrom(dr('{ simple: ROUND_ROBIN }')), bookinfoProxies()), proxy('productpage', 'v1', 2));
    assert.deepEqual(Object.keys(pick(out, 'endpoint', REVIEWS).endpoints[0]), ['lb_endpoints']);
  });
});

it('golden: load-balancing (Istio setting → Envoy cluster, route and endpoint fields)', () => {
  const mapping = cases.map((c) => {
    const { cluster, route, cla } = run(c);
    return { istio: { loadBalancer: c.lb, extra: c.extra?.trim() }, cluster: lbFields(cluster), hash_policy: route.hash_policy, endpoints: localities(cla) };
  });
  const got = JSON.stringify(mapping, null, 2) + '\n';
  const file = path.join(repoRoot, 'test/translate/golden/load-balancing.json');
  if (process.env.UPDATE_GOLDEN) fs.writeFileSync(file, got);
  assert.ok(fs.existsSync(file), `${file} missing: run UPDATE_GOLDEN=1 npm test`);
  assert.equal(got, fs.readFileSync(file, 'utf8'), 'load-balancing differs from its golden file (UPDATE_GOLDEN=1 npm test to accept)');
});

it("a proxy's locality travels in node.locality and lands on its endpoints", async () => {
  const { buildNode } = await import('../../src/proxy/xds/node.js');
  const { parseProxyNode } = await import('../../src/controlplane/model/proxy-node.js');
  const node = buildNode({ service: 'reviews', namespace: 'default', labels: {}, serviceAccount: 'sa', address: '127.0.0.9', appPort: 1, servicePort: 9080, outboundPort: 2, inboundPort: 3, protocol: 'HTTP', locality: 'eu/west-1a/rack7' });
  const parsed = parseProxyNode(node);
  assert.ok(parsed.ok);
  assert.equal(parsed.ok && parsed.node.locality, 'eu/west-1a/rack7');
  const snap = snapshot(configFrom(), [...bookinfoProxies(), ...(parsed.ok ? [parsed.node] : [])]);
  assert.equal(snap.endpoints.get('reviews.default.svc.cluster.local|9080')!.find((e) => e.address === '127.0.0.9')!.locality, 'eu/west-1a/rack7');
});

it("a WorkloadEntry's locality lands on its endpoint, grouped and ranked like a proxy's", () => {
  const we = yaml('we.yaml', `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: reviews-vm }
spec: { address: 10.9.9.9, labels: { app: reviews, version: v9 }, locality: r2/z1/s1 }
`);
  const out = translate(snapshot(configFrom(dr('{ simple: ROUND_ROBIN }', '    outlierDetection: { consecutive5xxErrors: 3 }\n'), we), located()), client);
  const groups = localities(pick(out, 'endpoint', REVIEWS));
  assert.deepEqual(groups.find((g: any) => g.hosts.includes('10.9.9.9')), { locality: { region: 'r2', zone: 'z1', sub_zone: 's1' }, priority: 2, weight: 2, hosts: ['10.9.9.9', '127.0.0.6'] });
});
