// Table tests of the captured (INTERCEPTION_MODE REDIRECT) layout: service VIPs, the outbound
// traffic policy, ServiceEntry resolutions, the inbound chains and clusters — and that an explicit
// proxy of the same mesh keeps its layout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultMeshConfig } from '../../src/config/mesh-config.js';
import { buildSnapshot } from '../../src/controlplane/model/snapshot.js';
import { allocateVips, DEFAULT_VIP_RANGE, parseVipRange } from '../../src/controlplane/model/vips.js';
import { translate, type ResourceSet } from '../../src/controlplane/translate/index.js';
import { referencesOf, checkConsistency } from '../../src/controlplane/xds/consistency.js';
import { messageType, packAny, PUSH_ORDER, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { bookinfoProxies, capturedBookinfoProxies, capturedProxy, configFrom, EGRESS_TCP, fixture, proxy, snapshot, TEST_VIP_RANGE, yaml } from './fixtures.js';

const range = (cidr: string) => {
  const r = parseVipRange(cidr);
  assert.ok(r.ok, cidr);
  return r.range;
};

test('VIPs: one per name, from the range, independent of the order names arrive in', () => {
  const names = Array.from({ length: 200 }, (_, i) => `svc-${i}.default.svc.cluster.local`);
  const a = allocateVips(names, TEST_VIP_RANGE);
  const b = allocateVips([...names].reverse(), TEST_VIP_RANGE);
  assert.deepEqual([...a.entries()].sort(), [...b.entries()].sort());
  assert.equal(new Set(a.values()).size, names.length, 'no two names share an address');
  for (const ip of a.values()) assert.match(ip, /^198\.19\.\d+\.\d+$/);
  // A name keeps its address when others come and go (barring a collision with a newcomer).
  const fewer = allocateVips(names.slice(0, 50), TEST_VIP_RANGE);
  for (const [h, ip] of fewer) assert.equal(a.get(h), ip, h);
});

test('VIPs: a full range is an error, collisions probe to the next free address, declared addresses are skipped', () => {
  const tiny = range('198.19.0.0/30'); // two host addresses
  assert.throws(() => allocateVips(['a', 'b', 'c'], tiny), /service VIP range 198\.19\.0\.0\/30 has 2 addresses; 3 services need one/);
  const two = allocateVips(['a', 'b'], tiny);
  assert.deepEqual([...two.values()].sort(), ['198.19.0.1', '198.19.0.2']);
  const around = allocateVips(['a'], tiny, new Set(['198.19.0.1', '198.19.0.2'].filter((ip) => ip !== two.get('b'))));
  assert.equal(around.get('a'), two.get('b'), 'a declared address is never handed out');
});

const rangeCases: Array<{ cidr: string; error?: RegExp }> = [
  { cidr: DEFAULT_VIP_RANGE },
  { cidr: '198.19.0.0/16' },
  { cidr: '198.19.0.1/16', error: /has host bits set \(did you mean 198\.19\.0\.0\/16\?\)/ },
  { cidr: '198.19.0.0/31', error: /prefix length must be 8\.\.30, got 31/ },
  { cidr: 'fd00::/64', error: /is not an IPv4 CIDR/ },
  { cidr: '300.0.0.0/8', error: /is not an IPv4 CIDR/ },
];
for (const c of rangeCases)
  test(`VIP range ${c.cidr}`, () => {
    const r = parseVipRange(c.cidr);
    if (c.error) assert.match(r.ok ? '' : r.error, c.error);
    else assert.ok(r.ok);
  });

test('snapshot VIPs: registry services and ServiceEntries without addresses get one; declared addresses kept; NONE without addresses none', () => {
  const snap = snapshot(configFrom(EGRESS_TCP, fixture('istio/bookinfo/networking/egress-rule-google-apis.yaml')), bookinfoProxies());
  const addr = (h: string) => snap.serviceByHost.get(h)!.addresses;
  assert.match(addr('reviews.default.svc.cluster.local')[0], /^198\.19\./);
  assert.match(addr('smtp.example.com')[0], /^198\.19\./);
  assert.match(addr('www.googleapis.com')[0], /^198\.19\./);
  assert.deepEqual(addr('mysqldb.vm.example'), ['198.18.7.10']);
  assert.deepEqual(addr('lab.example'), ['198.18.64.0/24']);
  const none = buildSnapshot({ config: configFrom(yaml('none.yaml', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: any-db }
spec:
  hosts: [db.example]
  ports: [{ number: 5432, name: tcp, protocol: TCP }]
  resolution: NONE
`)), proxies: [], domain: 'cluster.local' });
  assert.deepEqual(none.serviceByHost.get('db.example')!.addresses, []);
  // The VIPs are part of the services' version: another range re-pushes what reads services.
  const other = buildSnapshot({ config: configFrom(), proxies: bookinfoProxies(), domain: 'cluster.local', vipRange: range('198.19.128.0/17') });
  assert.notEqual(other.versions.services, snapshot(configFrom(), bookinfoProxies()).versions.services);
  // Istio's default range when none is configured.
  assert.match(buildSnapshot({ config: configFrom(), proxies: bookinfoProxies(), domain: 'cluster.local' }).services[0].addresses[0], /^240\.240\./);
});

const captured = (config = configFrom(), mesh = defaultMeshConfig, client = capturedProxy('productpage', 'v1', 2)): ResourceSet => translate(snapshot(config, capturedBookinfoProxies(), mesh), client);
const body = (set: ResourceSet, type: keyof ResourceSet, name: string) => set[type].find((r) => r.name === name)?.body as any;

test('outboundTrafficPolicy: the catch-alls of virtualOutbound and of each port table', () => {
  const table: Array<[typeof defaultMeshConfig.outboundTrafficPolicy, string, unknown]> = [
    ['ALLOW_ANY', 'PassthroughCluster', { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: 'PassthroughCluster', timeout: { seconds: 0, nanos: 0 } } }] }],
    ['REGISTRY_ONLY', 'BlackHoleCluster', { name: 'block_all', domains: ['*'], routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }] }],
  ];
  for (const [mode, cluster, vhost] of table) {
    const set = captured(configFrom(), { ...defaultMeshConfig, outboundTrafficPolicy: mode, version: mode });
    const vo = body(set, 'listener', 'virtualOutbound');
    assert.deepEqual(vo.use_original_dst, { value: true });
    assert.deepEqual(vo.address.socket_address, { address: '0.0.0.0', port_value: 15001 });
    assert.equal(vo.filter_chains.at(-1).filters[0].typed_config.cluster, cluster, mode);
    assert.deepEqual(body(set, 'route', '9080').virtual_hosts.at(-1), vhost, mode);
  }
});

test('captured ServiceEntries: resolution NONE is ORIGINAL_DST for a captured client, DNS for an explicit one', () => {
  const set = captured(configFrom(EGRESS_TCP));
  assert.deepEqual([body(set, 'cluster', 'outbound|5432||lab.example').type, body(set, 'cluster', 'outbound|5432||lab.example').lb_policy], ['ORIGINAL_DST', 'CLUSTER_PROVIDED']);
  assert.equal(body(set, 'cluster', 'outbound|25||smtp.example.com').type, 'STRICT_DNS');
  assert.equal(body(set, 'cluster', 'outbound|3306||mysqldb.vm.example').type, 'EDS');
  const explicit = translate(snapshot(configFrom(EGRESS_TCP)), proxy('productpage', 'v1', 2));
  assert.equal(body(explicit, 'cluster', 'outbound|5432||lab.example').type, 'STRICT_DNS');
  assert.deepEqual(explicit.listener.map((l) => l.name), ['virtualOutbound', 'virtualInbound'], 'an explicit proxy keeps its two listeners');
});

test('captured inbound: ORIGINAL_DST to the app from 127.0.0.6, a chain per app port, TCP ports by tcp_proxy', () => {
  const tcpApp = capturedProxy('ratings', 'v1', 7, { ports: [{ servicePort: 9080, endpointPort: 9080, appPort: 9080, protocol: 'HTTP' }, { servicePort: 3306, endpointPort: 3306, appPort: 3306, protocol: 'TCP' }] });
  const set = captured(configFrom(), defaultMeshConfig, tcpApp);
  for (const name of ['inbound|9080||', 'inbound|3306||', 'InboundPassthroughClusterIpv4']) {
    const c = body(set, 'cluster', name);
    assert.deepEqual([c.type, c.lb_policy, c.upstream_bind_config], ['ORIGINAL_DST', 'CLUSTER_PROVIDED', { source_address: { address: '127.0.0.6', port_value: 0 } }], name);
  }
  const vi = body(set, 'listener', 'virtualInbound');
  assert.deepEqual(vi.address.socket_address, { address: '0.0.0.0', port_value: 15006 });
  assert.deepEqual(vi.listener_filters.map((f: any) => f.name), ['envoy.filters.listener.original_dst', 'envoy.filters.listener.http_inspector']);
  const byPort = (port: number) => vi.filter_chains.filter((fc: any) => fc.filter_chain_match?.destination_port?.value === port);
  assert.equal(byPort(9080)[0].filters[0].name, 'envoy.filters.network.http_connection_manager');
  assert.equal(byPort(9080)[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster, 'inbound|9080||');
  assert.deepEqual(byPort(3306)[0].filters.map((f: any) => [f.name, f.typed_config.cluster]), [['envoy.filters.network.tcp_proxy', 'inbound|3306||']]);
  assert.equal(byPort(15006)[0].filters[0].typed_config.cluster, 'BlackHoleCluster');
  assert.equal(vi.filter_chains.at(-1).filters.at(-1).typed_config.cluster, 'InboundPassthroughClusterIpv4');
});

test('captured inbound mTLS: the chains follow PeerAuthentication per port, as the explicit inbound listener does', () => {
  const STRICT_BUT_9080 = yaml('pa.yaml', `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: reviews, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  mtls: { mode: STRICT }
  portLevelMtls: { 9080: { mode: PERMISSIVE } }
`);
  const reviews = capturedProxy('reviews', 'v1', 4, { labels: { app: 'reviews', version: 'v1', 'security.istio.io/tlsMode': 'istio' } });
  const vi = body(captured(configFrom(STRICT_BUT_9080), defaultMeshConfig, reviews), 'listener', 'virtualInbound');
  assert.ok(vi.listener_filters.some((f: any) => f.name === 'envoy.filters.listener.tls_inspector'));
  const chains = vi.filter_chains.map((fc: any) => [fc.name, fc.filter_chain_match?.destination_port?.value, fc.filter_chain_match?.transport_protocol, !!fc.transport_socket]);
  assert.deepEqual(chains, [
    ['virtualInbound-blackhole', 15006, undefined, false],
    ['inbound-mtls|9080', 9080, 'tls', true],
    ['inbound-plaintext|9080', 9080, 'raw_buffer', false],
    // The workload-wide STRICT holds for ports no service declares: TLS only.
    ['inbound-mtls|passthrough', undefined, 'tls', true],
  ]);
});

test('captured sets are consistent: every route table, cluster and EDS set named is in the set', () => {
  for (const mesh of [defaultMeshConfig, { ...defaultMeshConfig, outboundTrafficPolicy: 'REGISTRY_ONLY' as const, version: 'r' }]) {
    const set = captured(configFrom(EGRESS_TCP, fixture('istio/bookinfo/networking/egress-rule-google-apis.yaml')), mesh);
    const names = new Map(PUSH_ORDER.map((t) => [t, new Set((set[t as keyof ResourceSet] ?? []).map((r) => r.name))]));
    const refs = PUSH_ORDER.flatMap((t) => referencesOf(t, set[t as keyof ResourceSet] ?? []));
    assert.ok(refs.some((r) => r.kind === 'route' && r.name === '9080'), 'the port listener names route table "9080"');
    assert.ok(refs.some((r) => r.kind === 'cluster' && r.name === (mesh.outboundTrafficPolicy === 'ALLOW_ANY' ? 'PassthroughCluster' : 'BlackHoleCluster')));
    const result = checkConsistency((t, n) => names.get(t)?.has(n) ?? false, refs, () => false);
    assert.deepEqual(result.problems, [], mesh.outboundTrafficPolicy);
  }
  // And a set that lost its port table is caught.
  const broken = captured();
  const refs = PUSH_ORDER.flatMap((t) => referencesOf(t, broken[t as keyof ResourceSet] ?? []));
  const missing = checkConsistency((t, n) => !(t === 'route' && n === '9080') && PUSH_ORDER.includes(t), refs, () => false);
  assert.ok(missing.problems.some((p) => p.kind === 'route' && p.name === '9080' && p.from === '0.0.0.0_9080'));
});

test('everything the captured layout emits encodes as Envoy\'s real messages and survives a round trip', () => {
  const set = captured(configFrom(EGRESS_TCP, fixture('istio/bookinfo/networking/egress-rule-google-apis.yaml')));
  for (const type of ['cluster', 'endpoint', 'listener', 'route'] as const)
    for (const r of set[type]) {
      const t = messageType(TypeUrl[type]);
      assert.equal(t.verify(t.fromObject(r.body)), null, `${type} ${r.name}`);
      const back = unpackAny(packAny(TypeUrl[type], r.body));
      assert.equal(back.name ?? back.cluster_name, r.name);
    }
  const vo = unpackAny(packAny(TypeUrl.listener, body(set, 'listener', 'virtualOutbound')));
  assert.deepEqual(vo.use_original_dst, { value: true }, 'use_original_dst survives the wire');
  const ib = unpackAny(packAny(TypeUrl.cluster, body(set, 'cluster', 'InboundPassthroughClusterIpv4')));
  assert.deepEqual((ib as { upstream_bind_config?: { source_address?: unknown } }).upstream_bind_config?.source_address, { address: '127.0.0.6', port_value: 0 });
});
