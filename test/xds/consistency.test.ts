// The consistency check before publish: every referenced cluster, EDS set, route table and ADS secret
// exists, or the proxy keeps its last good set; the problem is logged and shown on /debug/consistencyz.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { PUSH_ORDER, type XdsType } from '../../src/api/envoy.js';
import { buildSnapshot } from '../../src/controlplane/model/snapshot.js';
import { startMonitor } from '../../src/controlplane/monitor.js';
import { translateFor } from '../../src/controlplane/translate/index.js';
import type { TranslatorPart, XdsResource } from '../../src/controlplane/translate/types.js';
import { lookup, XdsCache } from '../../src/controlplane/xds/cache.js';
import { COMPOSITIONS, PARTS, type ClientKind } from '../../src/controlplane/xds/compositions.js';
import { checkConsistency, PROXY_SDS_CLUSTER, referencesOf } from '../../src/controlplane/xds/consistency.js';
import { bookinfoProxies, configFrom, fixture, proxy, yaml } from '../translate/fixtures.js';

const DR = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
const AUTHZ = fixture('istio/security/deny-and-allow-in.yaml');
const KINDS = Object.keys(COMPOSITIONS) as ClientKind[];
const snap = (...docs: Array<{ file: string; text: string }>) => buildSnapshot({ config: configFrom(...docs), proxies: bookinfoProxies(), domain: 'cluster.local' });
const client = proxy('productpage', 'v1', 2);

function check(out: Record<XdsType, XdsResource[]>, dangling: (c: string) => boolean = () => false) {
  const names = Object.fromEntries(PUSH_ORDER.map((t) => [t, new Set(out[t].map((r) => r.name))])) as Record<XdsType, Set<string>>;
  return checkConsistency((type, name) => names[type].has(name), PUSH_ORDER.flatMap((t) => referencesOf(t, out[t])), dangling);
}

describe('consistency: what production translates holds together', () => {
  for (const kind of KINDS) {
    it(`bookinfo with every networking fixture of the goldens (${kind})`, () => {
      for (const s of [snap(), snap(DR), snap(DR, fixture('istio/bookinfo/networking/virtual-service-reviews-90-10.yaml'))]) {
        const out = translateFor(s, client, kind);
        const refs = PUSH_ORDER.flatMap((t) => referencesOf(t, out[t]));
        assert.ok(refs.some((r) => r.kind === 'cluster') && refs.some((r) => r.kind === 'endpoints') && refs.some((r) => r.kind === 'route'), 'the check has references to check');
        assert.deepEqual(check(out).problems, []);
      }
    });
  }

  it('references are found in routes, weighted clusters, inline route tables, EDS clusters and SDS configs', () => {
    const adsSecret = { name: 'cred', sds_config: { ads: {} } };
    const proxySecret = { name: 'default', sds_config: { api_config_source: { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: PROXY_SDS_CLUSTER } }] } } };
    const refs = [
      ...referencesOf('cluster', [{ name: 'c', body: { name: 'c', type: 'EDS', eds_cluster_config: { service_name: 'c-eds' }, transport_socket: { typed_config: { common_tls_context: { tls_certificate_sds_secret_configs: [adsSecret, proxySecret] } } } } }]),
      ...referencesOf('route', [{ name: 'r', body: { virtual_hosts: [{ routes: [{ route: { weighted_clusters: { clusters: [{ name: 'w1' }, { name: 'w2' }] } } }, { route: { cluster: 'one' } }] }] } }]),
      ...referencesOf('listener', [{ name: 'l', body: { filter_chains: [{ filters: [{ typed_config: { rds: { route_config_name: 'rt' } } }, { typed_config: { route_config: { virtual_hosts: [{ routes: [{ route: { cluster: 'inb' } }] }] } } }] }] } }]),
    ];
    assert.deepEqual(refs.map((r) => `${r.kind}:${r.name}<-${r.from}`).sort(), ['cluster:inb<-l', 'cluster:one<-r', 'cluster:w1<-r', 'cluster:w2<-r', 'endpoints:c-eds<-c', 'route:rt<-l', 'secret:cred<-c']);
  });

  it('a VirtualService to a subset no DestinationRule declares is dangling (served, as Istio does), not a problem', () => {
    const vs = yaml('vs.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, subset: v9 }, weight: 50 }, { destination: { host: nowhere, port: { number: 80 } }, weight: 50 }] }]
`);
    const cache = new XdsCache();
    cache.setSnapshot(snap(DR, vs));
    const set = cache.resourcesFor(client, 'sotw');
    assert.ok(set.route.parts[0].refs?.some((r) => r.name === 'outbound|9080|v9|reviews.default.svc.cluster.local'));
    const report = cache.consistencyReport();
    assert.deepEqual(report.inconsistent, []);
    assert.deepEqual(report.dangling[0].references.map((r) => r.name).sort(), ['outbound|80||nowhere.default.svc.cluster.local', 'outbound|9080|v9|reviews.default.svc.cluster.local']);
  });
});

/** A listener part that, once an AuthorizationPolicy exists, names a route table, an EDS cluster and
 * an ADS secret nobody provides — a translator's mistake the check must stop. */
const brokenWhenPolicy: TranslatorPart = {
  ...PARTS.listeners,
  name: 'lds-broken',
  build: (s, p) => {
    const base = PARTS.listeners.build(s, p);
    if (!s.config.authorizationPolicies.length) return base;
    const hcm = { name: 'hcm', typed_config: { rds: { route_config_name: 'no-such-routes' } } };
    const tls = { name: 'envoy.transport_sockets.tls', typed_config: { common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'no-such-secret', sds_config: { ads: {} } }] } } };
    return [...base, { name: 'broken', body: { name: 'broken', filter_chains: [{ filters: [hcm], transport_socket: tls }] } }];
  },
};
const edsWithoutEndpoints: TranslatorPart = {
  name: 'cds-orphan',
  type: 'cluster',
  snapshot: ['authorizationPolicies'],
  proxy: [],
  build: (s) => (s.config.authorizationPolicies.length ? [{ name: 'orphan', body: { name: 'orphan', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } } } }] : []),
};
const brokenCompositions = {
  ...COMPOSITIONS,
  'sidecar-delta': { ...COMPOSITIONS['sidecar-delta'], listener: [brokenWhenPolicy], cluster: [...COMPOSITIONS['sidecar-delta'].cluster, edsWithoutEndpoints] },
};

describe('consistency: an inconsistent set is not published', () => {
  it('the proxy keeps its last good set; the problem is logged with the names; a fixed snapshot is served again', () => {
    const logs: string[] = [];
    const cache = new XdsCache({ compositions: brokenCompositions, log: (m) => logs.push(m) });
    cache.setSnapshot(snap(DR));
    const good = cache.resourcesFor(client, 'delta');
    assert.deepEqual(cache.consistencyReport().inconsistent, []);

    cache.setSnapshot(snap(DR, AUTHZ));
    const held = cache.resourcesFor(client, 'delta');
    assert.equal(held, good, 'the last good set, unchanged');
    const [report] = cache.consistencyReport().inconsistent;
    assert.equal(report.code, 'WEFT_E_XDS_INCONSISTENT');
    assert.equal(report.proxy, client.id);
    assert.equal(report.clientKind, 'sidecar-delta');
    assert.deepEqual(report.problems.map((p) => `${p.kind}:${p.name}<-${p.from}`).sort(), ['endpoints:orphan<-orphan', 'route:no-such-routes<-broken', 'secret:no-such-secret<-broken']);
    assert.deepEqual(report.serving, Object.fromEntries(PUSH_ORDER.map((t) => [t, good[t].version])));
    assert.equal(logs.length, 1);
    assert.match(logs[0], /^inconsistent xDS set for sidecar~127\.0\.0\.2\S* \(sidecar-delta\), keeping its last good set: /);
    assert.match(logs[0], /\[WEFT_E_XDS_INCONSISTENT\]$/);
    for (const name of ['route "no-such-routes"', 'secret "no-such-secret"', 'EDS cluster "orphan"']) assert.ok(logs[0].includes(name), `${name} in ${logs[0]}`);
    cache.resourcesFor(client, 'delta');
    assert.equal(logs.length, 1, 'logged once per snapshot, not per request');

    // SotW clients of the same cache use the intact composition and are served the new snapshot.
    const sotw = cache.resourcesFor(client, 'sotw');
    assert.equal(cache.consistencyReport().inconsistent.length, 1);
    assert.ok(sotw.listener.parts[0].resources.has('virtualInbound'));

    cache.setSnapshot(snap(DR));
    assert.notEqual(cache.resourcesFor(client, 'delta'), good, 'a consistent snapshot is published again');
    assert.deepEqual(cache.consistencyReport().inconsistent, []);
  });

  it('a proxy with no earlier good set is published nothing until a consistent snapshot comes', () => {
    const logs: string[] = [];
    const cache = new XdsCache({ compositions: brokenCompositions, log: (m) => logs.push(m) });
    cache.setSnapshot(snap(DR, AUTHZ));
    const set = cache.resourcesFor(client, 'delta');
    for (const type of PUSH_ORDER) assert.deepEqual(set[type].parts.flatMap((p) => [...p.resources.keys()]), [], type);
    const [report] = cache.consistencyReport().inconsistent;
    assert.equal(report.serving, undefined);
    assert.equal(report.problems.length, 3);
    assert.match(logs[0], /publishing nothing \(it has no earlier good set\)/);
    cache.setSnapshot(snap(DR));
    const good = cache.resourcesFor(client, 'delta');
    assert.notEqual(good.listener.version, set.listener.version);
    assert.ok(lookup(good.listener, 'virtualInbound'));
  });

  it('/debug/consistencyz on the monitor port shows the names involved', async () => {
    const cache = new XdsCache({ compositions: brokenCompositions });
    cache.setSnapshot(snap(DR));
    cache.resourcesFor(client, 'delta');
    cache.setSnapshot(snap(DR, AUTHZ));
    cache.resourcesFor(client, 'delta');
    const monitor = await startMonitor('127.0.0.1:0', { ready: () => true, syncz: () => ({}), configz: () => ({}), registryz: () => ({}), consistencyz: () => cache.consistencyReport() });
    try {
      const { port } = monitor.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/debug/consistencyz`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { inconsistent: Array<{ proxy: string; problems: Array<{ name: string }> }> };
      assert.equal(body.inconsistent[0].proxy, client.id);
      assert.deepEqual(body.inconsistent[0].problems.map((p) => p.name).sort(), ['no-such-routes', 'no-such-secret', 'orphan']);
    } finally {
      await new Promise<void>((resolve) => monitor.close(() => resolve()));
      monitor.closeAllConnections();
    }
  });
});
