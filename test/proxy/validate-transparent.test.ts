// Table-driven validation of the transparent-mode fields (use_original_dst, bind_to_port, the
// original_dst listener filter, filter_chain_match source_type, ORIGINAL_DST clusters,
// upstream_bind_config), through a real protobuf round trip as the proxy receives them: each is
// accepted into the typed model or NACKed with its field path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { validateResource, type ProxyXdsType } from '../../src/proxy/xds/decode.js';
import type { Cluster, Listener } from '../../src/proxy/xds/model.js';
import { blackHoleCluster, originalDstCluster, originalDstFilter, tcpProxy, transparentClusters, transparentListeners } from './helpers/transparent-resources.js';

function roundTrip<K extends ProxyXdsType>(type: K, obj: object) {
  return validateResource<K>(type, unpackAny(packAny(TypeUrl[type], obj)));
}
function valid<T>(type: ProxyXdsType, obj: object): T {
  const r = roundTrip(type, obj);
  assert.ok(r.valid, JSON.stringify(!r.valid && r.errors));
  return r.result as T;
}
const chain = (match: object = {}) => ({ filter_chain_match: match, filters: [tcpProxy('t', 'c')] });
const listener = (extra: object, chains: object[] = [chain()]) => ({ name: 'l', address: { socket_address: { address: '0.0.0.0', port_value: 15001 } }, filter_chains: chains, ...extra });

describe('transparent-mode fields: accepted', () => {
  it("Istio's whole transparent layout (ALLOW_ANY and REGISTRY_ONLY) validates", () => {
    for (const outboundPolicy of ['ALLOW_ANY', 'REGISTRY_ONLY'] as const) {
      const layout = { outboundPolicy, services: [{ ip: '198.18.0.3', port: 8080, protocol: 'HTTP' as const, host: 'server' }, { ip: '198.18.0.3', port: 5000, protocol: 'TCP' as const, host: 'echo' }], inboundPorts: [{ port: 8080, protocol: 'HTTP' as const }] };
      for (const l of transparentListeners(layout)) valid('listener', l);
      for (const c of transparentClusters(layout)) valid('cluster', c);
    }
  });
  it('use_original_dst with the original_dst listener filter', () => {
    const l = valid<Listener>('listener', listener({ use_original_dst: { value: true }, listener_filters: [originalDstFilter] }));
    assert.deepEqual([l.useOriginalDst, l.bindToPort, l.listenerFilters], [true, true, [{ kind: 'original_dst' }]]);
  });
  it('use_original_dst alone gets the original_dst filter, as Envoy adds it (Istio lists none)', () => {
    const l = valid<Listener>('listener', listener({ use_original_dst: { value: true } }));
    assert.deepEqual(l.listenerFilters, [{ kind: 'original_dst' }]);
  });
  it('defaults: no hand-off, bound', () => {
    const l = valid<Listener>('listener', listener({}));
    assert.deepEqual([l.useOriginalDst, l.bindToPort, l.filterChains[0].match.sourceType], [false, true, 'ANY']);
  });
  it('bind_to_port false', () => assert.equal(valid<Listener>('listener', listener({ bind_to_port: { value: false } })).bindToPort, false));
  it('filter_chain_match destination_port, prefix_ranges, source_prefix_ranges, source_type', () => {
    const l = valid<Listener>('listener', listener({}, [
      chain({ destination_port: { value: 8080 }, prefix_ranges: [{ address_prefix: '198.18.0.0', prefix_len: { value: 15 } }], source_prefix_ranges: [{ address_prefix: '127.0.0.6', prefix_len: { value: 32 } }], source_type: 'SAME_IP_OR_LOOPBACK' }),
      chain({ source_type: 'EXTERNAL' }),
    ]));
    const m = l.filterChains[0].match;
    assert.deepEqual([m.destinationPort, m.prefixRanges[0].prefixLen, m.sourcePrefixRanges[0].prefixLen, m.sourceType, l.filterChains[1].match.sourceType], [8080, 15, 32, 'SAME_IP_OR_LOOPBACK', 'EXTERNAL']);
  });
  it('ORIGINAL_DST with Envoy defaults', () => {
    const c = valid<Cluster>('cluster', originalDstCluster('PassthroughCluster'));
    assert.deepEqual([c.type, c.lbPolicy, c.originalDst, c.upstreamBindAddress, c.loadAssignment], [
      'ORIGINAL_DST',
      'CLUSTER_PROVIDED',
      { useHttpHeader: false, httpHeaderName: 'x-envoy-original-dst-host', portOverride: undefined, cleanupIntervalMs: 5000 },
      undefined,
      undefined,
    ]);
  });
  it('ORIGINAL_DST with use_http_header, http_header_name, upstream_port_override, cleanup_interval', () => {
    const c = valid<Cluster>('cluster', originalDstCluster('o', undefined, { original_dst_lb_config: { use_http_header: true, http_header_name: 'X-Dst', upstream_port_override: { value: 9090 } }, cleanup_interval: { seconds: 1 } }));
    assert.deepEqual(c.originalDst, { useHttpHeader: true, httpHeaderName: 'x-dst', portOverride: 9090, cleanupIntervalMs: 1000 });
  });
  it('upstream_bind_config.source_address (Istio 127.0.0.6)', () => assert.equal(valid<Cluster>('cluster', originalDstCluster('i', '127.0.0.6')).upstreamBindAddress, '127.0.0.6'));
  it('BlackHoleCluster: STATIC without endpoints', () => assert.deepEqual(valid<Cluster>('cluster', blackHoleCluster).loadAssignment, undefined));
});

describe('transparent-mode fields: NACKed with their path', () => {
  const bad: { name: string; type: ProxyXdsType; input: object; error: RegExp }[] = [
    { name: 'use_original_dst on an unbound listener', type: 'listener', input: listener({ use_original_dst: { value: true }, bind_to_port: { value: false }, listener_filters: [originalDstFilter] }), error: /^listener l: bind_to_port: a listener that does not bind cannot hand connections over/ },
    { name: 'original_dst twice', type: 'listener', input: listener({ listener_filters: [originalDstFilter, originalDstFilter] }), error: /^listener l: listener_filters\[1\]: original_dst is listed twice$/ },
    { name: 'source_ports', type: 'listener', input: listener({}, [chain({ source_ports: [1] })]), error: /filter_chains\[0\]\.filter_chain_match\.source_ports: not supported yet$/ },
    { name: 'ORIGINAL_DST with ROUND_ROBIN', type: 'cluster', input: originalDstCluster('o', undefined, { lb_policy: 'ROUND_ROBIN' }), error: /^cluster o: lb_policy: ROUND_ROBIN is not valid for an ORIGINAL_DST cluster \(only CLUSTER_PROVIDED\)$/ },
    {
      name: 'ORIGINAL_DST with endpoints',
      type: 'cluster',
      input: originalDstCluster('o', undefined, { load_assignment: { cluster_name: 'o', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] } }),
      error: /^cluster o: load_assignment: an ORIGINAL_DST cluster takes no endpoints$/,
    },
    { name: 'metadata_key', type: 'cluster', input: originalDstCluster('o', undefined, { original_dst_lb_config: { metadata_key: { key: 'k', path: [{ key: 'p' }] } } }), error: /^cluster o: original_dst_lb_config\.metadata_key: not supported/ },
    { name: 'bad header name', type: 'cluster', input: originalDstCluster('o', undefined, { original_dst_lb_config: { http_header_name: 'a b' } }), error: /^cluster o: original_dst_lb_config\.http_header_name: "a b" is not a header name$/ },
    { name: 'port override 0', type: 'cluster', input: originalDstCluster('o', undefined, { original_dst_lb_config: { upstream_port_override: { value: 0 } } }), error: /^cluster o: original_dst_lb_config\.upstream_port_override: 0 is not a port$/ },
    { name: 'cleanup_interval 0', type: 'cluster', input: originalDstCluster('o', undefined, { cleanup_interval: { seconds: 0 } }), error: /^cluster o: cleanup_interval: must be positive$/ },
    { name: 'bind address not an IP', type: 'cluster', input: originalDstCluster('o', 'localhost'), error: /^cluster o: upstream_bind_config\.source_address\.address: "localhost" is not an IP address$/ },
    { name: 'bind with a fixed port', type: 'cluster', input: originalDstCluster('o', undefined, { upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 15000 } } }), error: /^cluster o: upstream_bind_config\.source_address\.port_value: must be 0 \(any port\)$/ },
    { name: 'freebind', type: 'cluster', input: originalDstCluster('o', undefined, { upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 }, freebind: { value: true } } }), error: /^cluster o: upstream_bind_config\.freebind: not supported$/ },
    { name: 'bind socket_options', type: 'cluster', input: originalDstCluster('o', undefined, { upstream_bind_config: { source_address: { address: '127.0.0.6', port_value: 0 }, socket_options: [{ level: 1, name: 2, int_value: 1 }] } }), error: /^cluster o: upstream_bind_config\.socket_options: not supported$/ },
  ];
  for (const c of bad)
    it(c.name, () => {
      const v = roundTrip(c.type, c.input);
      assert.equal(v.valid, false, 'should be invalid');
      if (!v.valid) assert.ok(v.errors.some((e) => c.error.test(e)), `no error matches ${c.error}:\n${v.errors.join('\n')}`);
    });
});
