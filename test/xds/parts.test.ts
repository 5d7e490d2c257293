// Translator parts declare what they read: the cache's memo keys come from the declaration, and a part
// that reads anything undeclared fails at once instead of being served stale.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultMeshConfig } from '../../src/config/mesh-config.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { buildSnapshot, type MeshSnapshot } from '../../src/controlplane/model/snapshot.js';
import { translateFor } from '../../src/controlplane/translate/index.js';
import type { TranslatorPart } from '../../src/controlplane/translate/types.js';
import { packAny, PUSH_ORDER, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { lookup, XdsCache } from '../../src/controlplane/xds/cache.js';
import { COMPOSITIONS, PARTS, type ClientKind } from '../../src/controlplane/xds/compositions.js';
import { partKey, runPart, UndeclaredInputError } from '../../src/controlplane/xds/part-inputs.js';
import { bookinfoProxies, configFrom, fixture, proxy, ratingsForReviewsOnly, yaml } from '../translate/fixtures.js';

const DR = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
const JASON = fixture('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml');
const AUTHZ = fixture('istio/security/deny-and-allow-in.yaml');
const PEER = fixture('istio/security/peer-authn-strict.yaml');
const FAILOVER = yaml('failover.yaml', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: details }
spec:
  host: details
  trafficPolicy: { loadBalancer: { localityLbSetting: { failoverPriority: [version] } }, outlierDetection: { consecutive5xxErrors: 3 } }
`);
const OUTLIER = yaml('outlier.yaml', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy: { outlierDetection: { consecutive5xxErrors: 3 } }
`);
const located = bookinfoProxies().map((p, i) => ({ ...p, locality: i % 2 ? 'r1/z1' : 'r2/z2' }));
const snap = (docs: Array<{ file: string; text: string }>, proxies = bookinfoProxies(), mesh?: MeshSnapshot['mesh']) =>
  buildSnapshot({ config: configFrom(...docs), proxies, domain: 'cluster.local', ...(mesh ? { mesh } : {}) });

/** Snapshots that differ in one input each, and clients that differ in one field each. */
const variants: MeshSnapshot[] = [
  snap([DR]),
  snap([DR, JASON]),
  snap([DR, ratingsForReviewsOnly]),
  snap([FAILOVER]),
  snap([DR], [...bookinfoProxies(), proxy('reviews', 'v2', 9)]),
  snap([DR, AUTHZ]),
  snap([DR, PEER]),
  // Located endpoints and an outlier-detecting rule: EDS ranks localities from the client's own.
  snap([FAILOVER, OUTLIER], located),
  snap([DR], bookinfoProxies(), { ...defaultMeshConfig, pathNormalization: 'MERGE_SLASHES', connectTimeoutMs: 2000, version: 'm2' }),
  // Captured proxies' catch-alls read the outbound traffic policy.
  snap([DR], bookinfoProxies(), { ...defaultMeshConfig, outboundTrafficPolicy: 'REGISTRY_ONLY', version: 'm3' }),
];
const clients: ProxyNode[] = [
  proxy('productpage', 'v1', 2),
  proxy('reviews', 'v1', 4),
  proxy('reviews', 'v2', 5, { locality: 'r1/z1' }),
  proxy('reviews', 'v2', 5, { locality: 'r2/z2' }),
  proxy('productpage', 'v1', 2, { labels: { app: 'productpage', version: 'v1', team: 'a' } }),
  proxy('productpage', 'v1', 2, { namespace: 'other' }),
  proxy('productpage', 'v1', 2, { inboundPort: 15016 }),
  proxy('productpage', 'v1', 2, { ports: [{ servicePort: 9080, endpointPort: 15006, appPort: 9081, protocol: 'HTTP' }] }),
  proxy('productpage', 'v1', 2, { interceptionMode: 'REDIRECT', ports: [{ servicePort: 9080, endpointPort: 9080, appPort: 9080, protocol: 'HTTP' }] }),
];
/** A client of `kind` (captured kinds need a captured proxy: the cache picks the kind from the node). */
const clientOf = (kind: ClientKind): ProxyNode =>
  kind === 'proxyless-grpc' ? { ...clients[0], client: 'grpc', ports: [] } : kind.startsWith('captured-') ? clients[clients.length - 1] : clients[0];

describe('translator parts', () => {
  it('every part of every composition runs on every variant without reading an undeclared input', () => {
    for (const s of variants) {
      for (const c of clients) {
        for (const kind of Object.keys(COMPOSITIONS) as ClientKind[]) {
          const out = translateFor(s, c, kind);
          assert.ok(out.cluster.length > 0 && out.endpoint.length > 0, kind);
          const names = out.listener.map((l) => l.name);
          if (kind === 'proxyless-grpc') {
            // An API listener per dial target, a route table per service port; no sidecar listeners.
            assert.ok(names.includes('reviews.default.svc.cluster.local:9080') && names.includes(c.namespace === 'default' ? 'reviews:9080' : 'reviews.default:9080'), names.join());
            assert.ok(!names.includes('virtualOutbound'));
            assert.ok(out.route.every((r) => (r.body.virtual_hosts as unknown[]).length === 1), 'one virtual host per route table');
            continue;
          }
          // Captured kinds add a listener per destination after the two capture listeners.
          assert.deepEqual(kind.startsWith('captured-') ? names.slice(0, 2) : names, ['virtualOutbound', 'virtualInbound']);
          assert.equal(names.includes('0.0.0.0_9080'), kind.startsWith('captured-'), kind);
          assert.equal(out.virtualHost.length > 0, kind === 'sidecar-delta', 'only Delta clients get VHDS');
        }
      }
    }
  });

  it('equal memo keys mean equal output: no part reads more than its key holds', () => {
    for (const part of Object.values(PARTS) as TranslatorPart[]) {
      const seen = new Map<string, string>();
      for (const s of variants) {
        for (const c of clients) {
          const out = JSON.stringify(runPart(part, s, c));
          const key = partKey(part, s, c);
          const before = seen.get(key);
          if (before !== undefined) assert.equal(out, before, `${part.name}: same key ${key}, different output`);
          seen.set(key, out);
        }
      }
      assert.ok(seen.size >= 1, part.name);
    }
  });

  it('part names are unique (they head the memo keys)', () => {
    const names = (Object.values(PARTS) as TranslatorPart[]).map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
  });

  it('reading an undeclared snapshot part throws, naming the field and the input to declare', () => {
    const forgetful: TranslatorPart = { ...PARTS.listeners, name: 'lds-forgetful', snapshot: ['mesh'], build: (s) => s.config.authorizationPolicies.map((p) => ({ name: p.metadata.name, body: {} })) };
    assert.throws(() => runPart(forgetful, variants[5], clients[0]), (e: Error) => e instanceof UndeclaredInputError && /snapshot\.config\.authorizationPolicies/.test(e.message) && /declare authorizationPolicies/.test(e.message));
    const declared: TranslatorPart = { ...forgetful, snapshot: ['mesh', 'authorizationPolicies'] };
    assert.deepEqual(runPart(declared, variants[5], clients[0]).map((r) => r.name), ['httpbin-deny', 'httpbin-allow']);
    const versions: TranslatorPart = { ...declared, build: (s) => [{ name: s.versions.mesh, body: {} }] };
    assert.throws(() => runPart(versions, variants[0], clients[0]), /snapshot\.versions without declaring it \(declare nothing: it may not be read\)/);
  });

  it('reading an undeclared proxy field throws, an absent optional one too', () => {
    const reads = (field: keyof ProxyNode, proxyInputs: TranslatorPart['proxy']): TranslatorPart => ({ name: `reads-${field}`, type: 'listener', snapshot: [], proxy: proxyInputs, build: (_s, p) => [{ name: String(p[field]), body: {} }] });
    assert.throws(() => runPart(reads('serviceAccount', ['workload']), variants[0], clients[0]), /proxy\.serviceAccount without declaring it \(declare identity\)/);
    assert.throws(() => runPart(reads('locality', ['namespace']), variants[0], clients[0]), /proxy\.locality .*declare locality/);
    assert.throws(() => runPart(reads('id', ['identity', 'workload']), variants[0], clients[0]), /proxy\.id .*may not be read/);
    assert.equal(runPart(reads('locality', ['locality']), variants[0], clients[2])[0].name, 'r1/z1');
  });

  it('labels are cut to the keys the declaration covers', () => {
    const labels = (inputs: TranslatorPart['proxy']): TranslatorPart => ({ name: 'labels', type: 'route', snapshot: ['virtualServices'], proxy: inputs, build: (_s, p) => [{ name: JSON.stringify(p.labels), body: {} }] });
    const c = clients[4];
    assert.equal(runPart(labels(['sourceLabels']), variants[2], c)[0].name, '{"app":"productpage"}', 'ratingsForReviewsOnly reads only app');
    assert.equal(runPart(labels(['sourceLabels']), variants[0], c)[0].name, '{}');
    assert.equal(runPart(labels(['failoverLabels']), variants[3], c)[0].name, '{"version":"v1"}');
    assert.equal(runPart(labels(['labels']), variants[0], c)[0].name, JSON.stringify(c.labels));
    assert.throws(() => runPart(labels(['namespace']), variants[0], c), /proxy\.labels .*declare labels or sourceLabels or failoverLabels/);
  });
});

describe('cache keys follow the declarations', () => {
  it('the cache serves what the goldens show: same composition, same resources per type', () => {
    for (const kind of Object.keys(COMPOSITIONS) as ClientKind[]) {
      const cache = new XdsCache();
      cache.setSnapshot(variants[1]);
      const served = cache.resourcesFor(clientOf(kind), kind.endsWith('-delta') ? 'delta' : 'sotw');
      const translated = translateFor(variants[1], clientOf(kind), kind);
      for (const type of PUSH_ORDER) {
        assert.deepEqual(served[type].parts.flatMap((p) => [...p.resources.keys()]), translated[type].map((r) => r.name), `${kind} ${type}`);
        for (const r of translated[type]) assert.deepEqual(unpackAny(lookup(served[type], r.name)!), unpackAny(packAny(TypeUrl[type], r.body)), `${kind} ${type} ${r.name}`);
      }
    }
  });

  for (const protocol of ['sotw', 'delta'] as const) {
    it(`an AuthorizationPolicy change rebuilds LDS only, a PeerAuthentication change LDS and EDS (${protocol})`, () => {
      const cache = new XdsCache();
      const client = clients[0];
      cache.setSnapshot(variants[0]);
      const first = cache.resourcesFor(client, protocol);
      // EDS reads PeerAuthentications: an endpoint whose policy is DISABLE loses its tlsMode.
      for (const [next, rebuilt] of [[variants[5], ['listener']], [variants[6], ['listener', 'endpoint']]] as const) {
        const before = cache.encodeCount;
        cache.setSnapshot(next);
        const after = cache.resourcesFor(client, protocol);
        assert.equal(cache.encodeCount - before, rebuilt.length, `${rebuilt.join(' and ')} rebuilt`);
        assert.notEqual(after.listener.parts[0], first.listener.parts[0], 'LDS is keyed on the policy kinds it reads');
        for (const t of ['cluster', 'endpoint', 'route', 'virtualHost', 'secret'] as const) {
          if (!(rebuilt as readonly string[]).includes(t)) assert.equal(after[t].parts[0], first[t].parts[0], t);
        }
      }
    });
  }

  for (const protocol of ['sotw', 'delta'] as const) {
    it(`a captured proxy: changing the mesh's outboundTrafficPolicy re-pushes its listeners and route tables (${protocol})`, () => {
      const cache = new XdsCache();
      const client = clientOf('captured-sotw');
      cache.setSnapshot(variants[0]);
      const allow = cache.resourcesFor(client, protocol);
      cache.setSnapshot(variants[variants.length - 1]);
      const only = cache.resourcesFor(client, protocol);
      assert.notEqual(only.listener.version, allow.listener.version, 'virtualOutbound: catch-all to BlackHoleCluster');
      assert.notEqual(only.route.version, allow.route.version, 'route "9080": block_all instead of allow_any');
      assert.equal(only.endpoint.version, allow.endpoint.version, 'EDS does not read the policy');
      const catchAll = (set: typeof allow) => (unpackAny(lookup(set.listener, 'virtualOutbound')!) as any).filter_chains[1].filters.at(-1).typed_config.cluster;
      assert.equal(catchAll(allow), 'PassthroughCluster');
      assert.equal(catchAll(only), 'BlackHoleCluster');
    });
  }

  it('once LDS reads AuthorizationPolicies, an AuthorizationPolicy edit changes the LDS version', () => {
    // Stands in for the inbound RBAC translator: the same declaration as production's LDS part.
    const reading: TranslatorPart = {
      ...PARTS.listeners,
      build: (s, p) => [...PARTS.listeners.build(s, p), ...s.config.authorizationPolicies.map((a) => ({ name: `rbac-${a.metadata.name}`, body: { name: `rbac-${a.metadata.name}`, address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }))],
    };
    const cache = new XdsCache({ compositions: { ...COMPOSITIONS, 'sidecar-sotw': { ...COMPOSITIONS['sidecar-sotw'], listener: [reading] } } });
    cache.setSnapshot(variants[0]);
    const first = cache.resourcesFor(clients[0], 'sotw');
    cache.setSnapshot(variants[5]);
    const withPolicy = cache.resourcesFor(clients[0], 'sotw');
    assert.notEqual(withPolicy.listener.version, first.listener.version);
    assert.ok(withPolicy.listener.parts[0].resources.has('rbac-httpbin-deny'));
    assert.equal(withPolicy.cluster.version, first.cluster.version);
  });

  for (const protocol of ['sotw', 'delta'] as const) {
    it(`a TrafficTarget edit, and an edit of the HTTPRouteGroup it names, re-push the listener (its RBAC) and nothing else (${protocol})`, () => {
      const smi = (path: string, source = 'bookinfo-productpage') => yaml('smi.yaml', `kind: TrafficTarget
metadata: { name: reviews-access }
spec:
  destination: { kind: ServiceAccount, name: bookinfo-reviews }
  rules: [{ kind: HTTPRouteGroup, name: reviews-routes }]
  sources: [{ kind: ServiceAccount, name: ${source} }]
---
kind: HTTPRouteGroup
metadata: { name: reviews-routes }
spec:
  matches: [{ name: read, pathRegex: ${path}, methods: [GET] }]
`);
      const reviews = proxy('reviews', 'v1', 4);
      const inbound = (set: ReturnType<XdsCache['resourcesFor']>) => JSON.stringify(unpackAny(lookup(set.listener, 'virtualInbound')!));
      const cache = new XdsCache();
      cache.setSnapshot(snap([]));
      const first = cache.resourcesFor(reviews, protocol);
      assert.doesNotMatch(inbound(first), /rbac/);
      const steps: Array<[MeshSnapshot, RegExp]> = [
        [snap([smi('/reviews/a')]), /\/reviews\/a.*bookinfo-productpage/],
        [snap([smi('/reviews/b')]), /\/reviews\/b.*bookinfo-productpage/],
        [snap([smi('/reviews/b', 'bookinfo-details')]), /\/reviews\/b.*bookinfo-details/],
      ];
      let prev = first;
      for (const [next, want] of steps) {
        const before = cache.encodeCount;
        cache.setSnapshot(next);
        const got = cache.resourcesFor(reviews, protocol);
        assert.equal(cache.encodeCount - before, 1, 'only LDS re-encoded');
        assert.notEqual(got.listener.version, prev.listener.version, 'a new LDS version is pushed');
        assert.match(inbound(got), want);
        for (const t of ['cluster', 'endpoint', 'route', 'virtualHost', 'secret'] as const) assert.equal(got[t].version, first[t].version, t);
        prev = got;
      }
    });
  }

  it('a listener part that reads an AuthorizationPolicy without declaring it fails in the cache, not served stale', () => {
    const forgetful: TranslatorPart = { ...PARTS.listeners, snapshot: ['mesh'], build: (s, p) => [...PARTS.listeners.build(s, p), ...s.config.authorizationPolicies.map((a) => ({ name: a.metadata.name, body: {} }))] };
    const compositions = { ...COMPOSITIONS, 'sidecar-sotw': { ...COMPOSITIONS['sidecar-sotw'], listener: [forgetful] } };
    const cache = new XdsCache({ compositions });
    cache.setSnapshot(variants[5]);
    assert.throws(() => cache.resourcesFor(clients[0], 'sotw'), UndeclaredInputError);
  });
});
