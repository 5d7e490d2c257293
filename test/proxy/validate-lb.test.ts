// Table-driven validation of the load-balancing fields (CDS lb configs, EDS localities and policy,
// RDS hash_policy), through a real protobuf round trip as the proxy receives them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny, TCP_PROXY_TYPE_URL, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { validateResource, type ProxyXdsType } from '../../src/proxy/xds/decode.js';
import type { Cluster, ClusterLoadAssignment, ForwardAction, RouteConfiguration } from '../../src/proxy/xds/model.js';

function roundTrip<K extends ProxyXdsType>(type: K, obj: object) {
  return validateResource<K>(type, unpackAny(packAny(TypeUrl[type], obj)));
}
const eds = (extra: object = {}) => ({ name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, ...extra });
const route = (extra: object) => ({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['a'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', ...extra } }] }] });
const tcpListener = (tcp: object) => ({
  name: 'l',
  address: { socket_address: { address: '127.0.0.1', port_value: 1 } },
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: 't', cluster: 'c', ...tcp } }] }],
});
const ep = (port: number) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } });

function cluster(input: object): Cluster {
  const r = roundTrip('cluster', input);
  assert.ok(r.valid, JSON.stringify(!r.valid && r.errors));
  return r.result as Cluster;
}

describe('load-balancing fields: accepted', () => {
  const good: { name: string; input: object; want: (c: Cluster) => void }[] = [
    { name: 'defaults', input: eds(), want: (c) => assert.deepEqual([c.lbPolicy, c.lb.ringHash.minimumRingSize, c.lb.maglevTableSize, c.lb.slowStart, c.lb.localityWeighted], ['ROUND_ROBIN', 1024, 65537, undefined, false]) },
    {
      name: 'ring hash sizes',
      input: eds({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 2048 }, maximum_ring_size: { value: 4096 } } }),
      want: (c) => assert.deepEqual([c.lbPolicy, c.lb.ringHash], ['RING_HASH', { minimumRingSize: 2048, maximumRingSize: 4096 }]),
    },
    { name: 'maglev prime table', input: eds({ lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 251 } } }), want: (c) => assert.equal(c.lb.maglevTableSize, 251) },
    {
      name: 'round robin slow start',
      input: eds({ round_robin_lb_config: { slow_start_config: { slow_start_window: { seconds: 30 }, aggression: { default_value: 2, runtime_key: 'k' }, min_weight_percent: { value: 5 } } } }),
      want: (c) => assert.deepEqual(c.lb.slowStart, { windowMs: 30_000, aggression: 2, minWeightPercent: 5 }),
    },
    {
      name: 'least request slow start with defaults',
      input: eds({ lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: { value: 3 }, slow_start_config: { slow_start_window: { seconds: 10 } } } }),
      want: (c) => assert.deepEqual([c.choiceCount, c.lb.slowStart], [3, { windowMs: 10_000, aggression: 1, minWeightPercent: 10 }]),
    },
    { name: 'locality weighted', input: eds({ common_lb_config: { locality_weighted_lb_config: {} } }), want: (c) => assert.equal(c.lb.localityWeighted, true) },
  ];
  for (const g of good) it(g.name, () => g.want(cluster(g.input)));
});

describe('load-balancing fields: NACKed with their path', () => {
  const bad: { name: string; type: ProxyXdsType; input: object; error: RegExp }[] = [
    { name: 'CLUSTER_PROVIDED on an EDS cluster', type: 'cluster', input: eds({ lb_policy: 'CLUSTER_PROVIDED' }), error: /lb_policy: CLUSTER_PROVIDED is only valid for an ORIGINAL_DST cluster/ },
    { name: 'original_dst_lb_config on an EDS cluster', type: 'cluster', input: eds({ original_dst_lb_config: { use_http_header: true } }), error: /original_dst_lb_config: only applies to an ORIGINAL_DST cluster/ },
    { name: 'maglev table not prime', type: 'cluster', input: eds({ lb_policy: 'MAGLEV', maglev_lb_config: { table_size: { value: 65536 } } }), error: /maglev_lb_config\.table_size: 65536 must be a prime/ },
    { name: 'ring config on a round-robin cluster', type: 'cluster', input: eds({ ring_hash_lb_config: { minimum_ring_size: { value: 8 } } }), error: /ring_hash_lb_config: only applies to lb_policy RING_HASH/ },
    { name: 'ring min over max', type: 'cluster', input: eds({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 4096 }, maximum_ring_size: { value: 1024 } } }), error: /minimum_ring_size 4096 exceeds maximum_ring_size 1024/ },
    { name: 'murmur ring', type: 'cluster', input: eds({ lb_policy: 'RING_HASH', ring_hash_lb_config: { hash_function: 'MURMUR_HASH_2' } }), error: /ring_hash_lb_config\.hash_function: MURMUR_HASH_2 is not supported/ },
    { name: 'slow start without window', type: 'cluster', input: eds({ round_robin_lb_config: { slow_start_config: {} } }), error: /round_robin_lb_config\.slow_start_config\.slow_start_window: is required/ },
    { name: 'zone aware', type: 'cluster', input: eds({ common_lb_config: { zone_aware_lb_config: { min_cluster_size: { value: 3 } } } }), error: /common_lb_config\.zone_aware_lb_config: zone-aware routing needs the local cluster/ },
    { name: 'bounded load hashing', type: 'cluster', input: eds({ lb_policy: 'MAGLEV', common_lb_config: { consistent_hashing_lb_config: { hash_balance_factor: { value: 150 } } } }), error: /hash_balance_factor: bounded-load/ },
    { name: 'drop overloads', type: 'endpoint', input: { cluster_name: 'c', policy: { drop_overloads: [{ category: 'x', drop_percentage: { numerator: 1 } }] } }, error: /policy\.drop_overloads: not supported/ },
    { name: 'locality proximity', type: 'endpoint', input: { cluster_name: 'c', endpoints: [{ proximity: { value: 1 }, lb_endpoints: [ep(1)] }] }, error: /endpoints\[0\]\.proximity: not supported/ },
    { name: 'tcp_proxy hash on filter state', type: 'listener', input: tcpListener({ hash_policy: [{ filter_state: { key: 'k' } }] }), error: /typed_config\.hash_policy\[0\]: only source_ip is supported \(fields: filter_state\)/ },
    { name: 'hash by filter state', type: 'route', input: route({ hash_policy: [{ filter_state: { key: 'k' } }] }), error: /hash_policy\[0\]\.filter_state: not supported/ },
    { name: 'hash header rewrite', type: 'route', input: route({ hash_policy: [{ header: { header_name: 'x', regex_rewrite: { pattern: { regex: 'a' }, substitution: 'b' } } }] }), error: /hash_policy\[0\]\.header\.regex_rewrite: not supported/ },
    { name: 'hash cookie attributes', type: 'route', input: route({ hash_policy: [{ cookie: { name: 'c', attributes: [{ name: 'SameSite', value: 'Lax' }] } }] }), error: /hash_policy\[0\]\.cookie\.attributes: not supported/ },
  ];
  for (const b of bad)
    it(b.name, () => {
      const r = roundTrip(b.type, b.input);
      assert.equal(r.valid, false);
      assert.ok(!r.valid && r.errors.some((e) => b.error.test(e)), JSON.stringify(!r.valid && r.errors));
    });
});

describe('EDS localities and RDS hash policies become the model', () => {
  it('locality, its weight, priority and the overprovisioning factor', () => {
    const r = roundTrip('endpoint', {
      cluster_name: 'c',
      endpoints: [
        { locality: { region: 'r1', zone: 'z1', sub_zone: 's1' }, load_balancing_weight: { value: 80 }, lb_endpoints: [ep(1)] },
        { locality: { region: 'r2' }, priority: 1, lb_endpoints: [ep(2)] },
      ],
      policy: { overprovisioning_factor: { value: 200 } },
    });
    assert.ok(r.valid);
    const cla = r.result as ClusterLoadAssignment;
    assert.deepEqual(cla.endpoints.map((e) => [e.locality, e.localityWeight, e.priority]), [['r1/z1/s1', 80, 0], ['r2//', 0, 1]]);
    assert.equal(cla.overprovisioningFactor, 200);
  });

  it('tcp_proxy hash_policy source_ip', () => {
    const r = roundTrip('listener', tcpListener({ hash_policy: [{ source_ip: {} }] }));
    assert.ok(r.valid, JSON.stringify(!r.valid && r.errors));
    assert.equal(JSON.stringify(r.result).includes('"hashSourceIp":true'), true);
  });

  it('every hash policy kind, in order, with terminal', () => {
    const r = roundTrip('route', route({
      hash_policy: [
        { header: { header_name: 'X-User' }, terminal: true },
        { header: { header_name: ':authority' } },
        { cookie: { name: 'sticky', ttl: { seconds: 60 }, path: '/' } },
        { cookie: { name: 'nottl' } },
        { connection_properties: { source_ip: true } },
        { query_parameter: { name: 'u' } },
      ],
    }));
    assert.ok(r.valid, JSON.stringify(!r.valid && r.errors));
    const a = (r.result as RouteConfiguration).virtualHosts[0].routes[0].action as ForwardAction;
    assert.deepEqual(a.hashPolicy, [
      { kind: 'header', name: 'x-user', terminal: true },
      { kind: 'header', name: ':authority', terminal: false },
      { kind: 'cookie', name: 'sticky', ttlMs: 60_000, path: '/', terminal: false },
      { kind: 'cookie', name: 'nottl', ttlMs: undefined, path: '', terminal: false },
      { kind: 'source_ip', terminal: false },
      { kind: 'query_parameter', name: 'u', terminal: false },
    ]);
  });
});
