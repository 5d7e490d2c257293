// Envoy's semantic checks (what validate.rules cannot say), table-driven: a valid set, then one case
// per check that breaks it and must be reported.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HCM_TYPE_URL, ROUTER_TYPE_URL, TCP_PROXY_TYPE_URL } from '../../../src/api/envoy.js';
import { ISTIO_STATS_TYPE_URL } from '../../../src/api/mesh-names.js';
import { semanticProblems, type ResourceSets } from '../../../src/controlplane/xds/envoy-rules/semantic.js';
import type { XdsResource } from '../../../src/controlplane/translate/types.js';

const ADS = { ads: {}, resource_api_version: 'V3' };
const router = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE_URL } };
const hcm = (extra: Record<string, unknown> = {}) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: { '@type': HCM_TYPE_URL, stat_prefix: 'out', rds: { route_config_name: 'r', config_source: ADS }, http_filters: [router], ...extra },
});
const tcp = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: 't', cluster: 'c' } };
const listener = (name: string, port: number, chains: unknown[], extra: Record<string, unknown> = {}): XdsResource => ({
  name,
  body: { name, address: { socket_address: { address: '127.0.0.1', port_value: port } }, filter_chains: chains, ...extra },
});
const eds = (name: string, extra: Record<string, unknown> = {}): XdsResource => ({ name, body: { name, type: 'EDS', eds_cluster_config: { eds_config: ADS }, ...extra } });
const lbEndpoint = (address: string) => ({ endpoint: { address: { socket_address: { address, port_value: 80 } } } });
const vhost = (name: string, domains: string[], routes: unknown[] = [{ match: { prefix: '/' }, route: { cluster: 'c' } }]) => ({ name, domains, routes });

type Sets = { [K in keyof ResourceSets]: XdsResource[] };
function valid(): Sets {
  return {
    cluster: [eds('c')],
    endpoint: [{ name: 'c', body: { cluster_name: 'c', endpoints: [{ lb_endpoints: [lbEndpoint('127.0.0.2')] }] } }],
    listener: [listener('out', 15001, [{ filters: [hcm()] }])],
    route: [{ name: 'r', body: { name: 'r', virtual_hosts: [vhost('a', ['a', 'a:80']), vhost('any', ['*'])] } }],
  };
}

const cases: Array<{ name: string; change: (s: Sets) => void; want: RegExp }> = [
  { name: 'duplicate cluster names', change: (s) => void (s.cluster = [eds('c'), eds('c')]), want: /^cluster c: duplicate cluster name/ },
  { name: 'EDS without eds_cluster_config', change: (s) => void (s.cluster = [{ name: 'c', body: { name: 'c', type: 'EDS' } }]), want: /cannot create an EDS cluster without an EDS config/ },
  { name: 'load_assignment on an EDS cluster', change: (s) => void (s.cluster = [eds('c', { load_assignment: { cluster_name: 'c', endpoints: [] } })]), want: /load_assignment on an EDS cluster is ignored/ },
  { name: 'ORIGINAL_DST with a round-robin policy', change: (s) => void s.cluster!.push({ name: 'o', body: { name: 'o', type: 'ORIGINAL_DST' } }), want: /Only 'CLUSTER_PROVIDED' is allowed with cluster type 'ORIGINAL_DST'/ },
  { name: 'ORIGINAL_DST with a load assignment', change: (s) => void s.cluster!.push({ name: 'o', body: { name: 'o', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', load_assignment: { cluster_name: 'o' } } }), want: /ORIGINAL_DST clusters must have no load assignment configured/ },
  { name: 'CLUSTER_PROVIDED on a STATIC cluster', change: (s) => void s.cluster!.push({ name: 's', body: { name: 's', type: 'STATIC', lb_policy: 'CLUSTER_PROVIDED' } }), want: /LB policy CLUSTER_PROVIDED is not valid for Cluster type STATIC/ },
  {
    name: 'LOGICAL_DNS with two hosts',
    change: (s) => void s.cluster!.push({ name: 'd', body: { name: 'd', type: 'LOGICAL_DNS', load_assignment: { cluster_name: 'd', endpoints: [{ lb_endpoints: [lbEndpoint('a.example'), lbEndpoint('b.example')] }] } } }),
    want: /LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint/,
  },
  {
    name: 'STATIC with a hostname',
    change: (s) => void s.cluster!.push({ name: 's', body: { name: 's', type: 'STATIC', load_assignment: { cluster_name: 's', endpoints: [{ lb_endpoints: [lbEndpoint('db.example')] }] } } }),
    want: /malformed IP address: db.example/,
  },
  { name: 'ring hash minimum above maximum', change: (s) => void (s.cluster = [eds('c', { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 10 }, maximum_ring_size: { value: 5 } } })]), want: /minimum_ring_size \(10\) > maximum_ring_size \(5\)/ },
  { name: 'an EDS host that is a name', change: (s) => void (s.endpoint = [{ name: 'c', body: { cluster_name: 'c', endpoints: [{ lb_endpoints: [lbEndpoint('reviews')] }] } }]), want: /^endpoint c: endpoints\[0\]\.lb_endpoints\[0\]: malformed IP address: reviews/ },
  { name: 'two listeners on one address', change: (s) => void s.listener!.push(listener('again', 15001, [{ filters: [tcp] }])), want: /has duplicate address as existing listener 'out'/ },
  { name: 'bind_to_port false listeners may share an address', change: (s) => void s.listener!.push(listener('virtual', 15001, [{ filters: [tcp] }], { bind_to_port: false })), want: /^$/ },
  { name: 'two filter chains with the same match', change: (s) => void (s.listener = [listener('out', 15001, [{ filters: [tcp] }, { filters: [tcp] }])]), want: /multiple filter chains with the same matching rules are defined/ },
  { name: 'a terminal network filter before another', change: (s) => void (s.listener = [listener('out', 15001, [{ filters: [tcp, hcm()] }])]), want: /terminal filter named envoy.filters.network.tcp_proxy must be the last filter in a network filter chain/ },
  { name: 'a chain not ending in a terminal filter', change: (s) => void (s.listener = [listener('out', 15001, [{ filters: [{ name: 'envoy.filters.network.rbac', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC', stat_prefix: 'r' } }] }])]), want: /non-terminal filter named envoy.filters.network.rbac is the last filter/ },
  { name: 'router not last in the HTTP chain', change: (s) => void (s.listener = [listener('out', 15001, [{ filters: [hcm({ http_filters: [router, { name: 'envoy.filters.http.fault', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault' } }] })] }])]), want: /terminal filter named envoy.filters.http.router must be the last filter in a http filter chain/ },
  { name: 'an extension upstream Envoy does not register', change: (s) => void (s.listener = [listener('out', 15001, [{ filters: [{ name: 'istio.stats', typed_config: { '@type': ISTIO_STATS_TYPE_URL } }, tcp] }])]), want: /^$/ },
  { name: 'duplicate virtual host names', change: (s) => void (s.route![0].body.virtual_hosts as unknown[]).push(vhost('a', ['b'])), want: /Duplicate entry of virtual host a/ },
  { name: 'a domain in two virtual hosts', change: (s) => void (s.route![0].body.virtual_hosts as unknown[]).push(vhost('b', ['A:80'])), want: /Only unique values for domains are permitted. Duplicate entry of domain A:80/ },
  { name: 'a wildcard inside a domain', change: (s) => void (s.route![0].body.virtual_hosts as unknown[]).push(vhost('w', ['a.*.example'])), want: /a wildcard may only be a prefix or a suffix/ },
  { name: 'weights summing to zero', change: (s) => void (s.route![0].body.virtual_hosts as unknown[]).push(vhost('z', ['z'], [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'c', weight: { value: 0 } }] } } }])), want: /Sum of weights in the weighted_cluster must be greater than 0/ },
  { name: 'a route that sets Host', change: (s) => void (s.route![0].body.virtual_hosts as unknown[]).push({ ...vhost('h', ['h']), request_headers_to_add: [{ header: { key: 'host', value: 'x' } }] }), want: /':-prefixed' or host headers may not be modified/ },
  { name: 'a route that removes :path', change: (s) => void (s.route![0].body.virtual_hosts as unknown[]).push({ ...vhost('h', ['h']), request_headers_to_remove: [':path'] }), want: /':-prefixed' or host headers may not be removed/ },
  { name: 'VHDS over ADS', change: (s) => void (s.route![0].body.vhds = { config_source: ADS }), want: /vhds: only 'DELTA_GRPC' is supported as an api_type\./ },
  {
    name: 'VHDS on its own DELTA_GRPC stream is taken',
    change: (s) => void (s.route![0].body.vhds = { config_source: { api_config_source: { api_type: 'DELTA_GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] } } }),
    want: /^$/,
  },
  {
    name: 'a tracer calling a cluster CDS lacks',
    change: (s) => void (s.listener = [listener('out', 15001, [{ filters: [hcm({ tracing: { provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig', grpc_service: { envoy_grpc: { cluster_name: 'collector' } } } } } })] }])]),
    want: /Unknown gRPC client cluster 'collector'/,
  },
  { name: 'an SDS config through the bootstrap sds-grpc cluster is known', change: (s) => void (s.listener![0].body.note = { envoy_grpc: { cluster_name: 'sds-grpc' } }), want: /^$/ },
  { name: 'an invalid safe_regex', change: (s) => void (s.route![0].body.virtual_hosts as unknown[]).push(vhost('x', ['x'], [{ match: { safe_regex: { regex: '(' } }, route: { cluster: 'c' } }])), want: /invalid regex "\("/ },
  { name: 'an EDS cluster without its endpoints (the consistency check)', change: (s) => void s.cluster!.push(eds('lonely')), want: /names EDS cluster "lonely", which the set does not hold/ },
  { name: 'a listener naming a missing route configuration', change: (s) => void (s.route = []), want: /names route "r", which the set does not hold/ },
];

describe("Envoy's semantic checks", () => {
  it('a valid set has no problems', () => {
    assert.deepEqual(semanticProblems(valid()), []);
  });
  for (const c of cases) {
    it(c.name, () => {
      const s = valid();
      c.change(s);
      const got = semanticProblems(s);
      if (c.want.source === '^$') assert.deepEqual(got, []);
      else assert.ok(got.some((p) => c.want.test(p)), `want ${c.want} in:\n${got.join('\n')}`);
    });
  }
  it('upstream Envoy refuses an istio-proxy extension; an is_optional HTTP filter is skipped', () => {
    const stats = { name: 'istio.stats', typed_config: { '@type': ISTIO_STATS_TYPE_URL } };
    const set = (optional: boolean): ResourceSets => ({ ...valid(), listener: [listener('out', 15001, [{ filters: [hcm({ http_filters: [{ ...stats, ...(optional ? { is_optional: true } : {}) }, router] })] }])] });
    assert.match(semanticProblems(set(false), { build: 'envoy' }).join('\n'), /Didn't find a registered implementation for type URL 'stats.PluginConfig'/);
    assert.deepEqual(semanticProblems(set(true), { build: 'envoy' }), []);
    assert.deepEqual(semanticProblems(set(false), { build: 'istio-proxy' }), []);
  });
});
