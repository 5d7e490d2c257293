// Table-driven validation of xDS resources into the typed model. Inputs go through a real
// protobuf round trip (packAny → unpackAny) so they look exactly like what the proxy receives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HCM_TYPE_URL, packAny, ROUTER_TYPE_URL, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { decodeResources, validateResource, type ProxyXdsType } from '../../src/proxy/xds/decode.js';
import type { Cluster, FaultConfig, ForwardAction, HttpConnectionManager, Listener, RouteConfiguration } from '../../src/proxy/xds/model.js';
import { FAULT_TYPE, faultFilter, routerFilter } from './helpers/resources.js';

function roundTrip<K extends ProxyXdsType>(type: K, obj: object) {
  return validateResource<K>(type, unpackAny(packAny(TypeUrl[type], obj)));
}

const hcm = (extra: Record<string, unknown>) => ({
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: { '@type': HCM_TYPE_URL, stat_prefix: 's', rds: { route_config_name: 'r', config_source: { ads: {} } }, http_filters: [routerFilter], ...extra },
});
const listener = (chain: object, extra: object = {}) => ({
  name: 'l',
  address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
  filter_chains: [chain],
  ...extra,
});
const routeCfg = (routes: object[], extraVhosts: object[] = []) => ({
  name: 'r',
  virtual_hosts: [{ name: 'v1', domains: ['a'], routes }, ...extraVhosts],
});
const fwd = (route: object, match: object = { prefix: '/' }, extra: object = {}) => routeCfg([{ match, route, ...extra }]);
const eds = (extra: object = {}) => ({ name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, ...extra });
const ep = (address: string, port: number) => ({ endpoint: { address: { socket_address: { address, port_value: port } } } });

interface BadCase {
  name: string;
  type: ProxyXdsType;
  input: object;
  error: RegExp;
}

const bad: BadCase[] = [
  { name: 'cluster without name', type: 'cluster', input: { type: 'EDS' }, error: /^cluster \(unnamed\): name: is required$/ },
  { name: 'ORIGINAL_DST without CLUSTER_PROVIDED', type: 'cluster', input: eds({ type: 'ORIGINAL_DST' }), error: /^cluster c: lb_policy: ROUND_ROBIN is not valid for an ORIGINAL_DST cluster/ },
  { name: 'unsupported lb policy', type: 'cluster', input: eds({ lb_policy: 'LOAD_BALANCING_POLICY_CONFIG' }), error: /^cluster c: lb_policy: LOAD_BALANCING_POLICY_CONFIG is not supported/ },
  {
    name: 'upstream TLS field not implemented',
    type: 'cluster',
    input: eds({ transport_socket: { name: 'tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', allow_renegotiation: true } } }),
    error: /^cluster c: transport_socket\.typed_config\.allow_renegotiation: not supported/,
  },
  {
    name: 'EDS from a file',
    type: 'cluster',
    input: eds({ eds_cluster_config: { eds_config: { path_config_source: { path: '/x' } } } }),
    error: /^cluster c: eds_cluster_config\.eds_config: only ads config sources are supported$/,
  },
  { name: 'STRICT_DNS without endpoints', type: 'cluster', input: { name: 'c', type: 'STRICT_DNS' }, error: /^cluster c: load_assignment: is required for STRICT_DNS clusters$/ },
  {
    name: 'STATIC with a DNS name',
    type: 'cluster',
    input: { name: 'c', type: 'STATIC', load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [ep('example.com', 80)] }] } },
    error: /^cluster c: load_assignment\.endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.address\.socket_address\.address: "example\.com" is not an IP address$/,
  },
  {
    name: 'endpoint without port',
    type: 'endpoint',
    input: { cluster_name: 'c', endpoints: [{ lb_endpoints: [ep('10.0.0.1', 80), ep('10.0.0.2', 0)] }] },
    error: /^endpoint c: endpoints\[0\]\.lb_endpoints\[1\]\.endpoint\.address\.socket_address\.port_value: 0 is not a port$/,
  },
  { name: 'listener without address', type: 'listener', input: { name: 'l', filter_chains: [{ filters: [hcm({})] }] }, error: /^listener l: address: socket_address is required$/ },
  {
    name: 'tcp_proxy fields it does not implement',
    type: 'listener',
    input: listener({
      filters: [
        {
          name: 'envoy.filters.network.tcp_proxy',
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't', cluster: 'c', access_log_options: { flush_access_log_on_connected: true } },
        },
      ],
    }),
    error: /^listener l: filter_chains\[0\]\.filters\[0\]\.typed_config\.access_log_options: not supported$/,
  },
  {
    name: 'tcp_proxy needs a cluster',
    type: 'listener',
    input: listener({ filters: [{ name: 'tcp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 't' } }] }),
    error: /^listener l: filter_chains\[0\]\.filters\[0\]\.typed_config: one of cluster, weighted_clusters is required$/,
  },
  {
    name: 'application_protocols needs http_inspector',
    type: 'listener',
    input: listener({ filter_chain_match: { application_protocols: ['h2c'] }, filters: [hcm({})] }),
    error: /^listener l: listener_filters: a filter chain matches application_protocols, which needs the http_inspector or tls_inspector listener filter/,
  },
  {
    name: 'no router filter',
    type: 'listener',
    input: listener({ filters: [hcm({ http_filters: [faultFilter] })] }),
    error: /^listener l: filter_chains\[0\]\.filters\[0\]\.typed_config\.http_filters: must end with envoy\.filters\.http\.router$/,
  },
  {
    name: 'router not last',
    type: 'listener',
    input: listener({ filters: [hcm({ http_filters: [routerFilter, faultFilter] })] }),
    error: /http_filters\[0\]: the terminal filter "envoy\.filters\.http\.router" must be last/,
  },
  {
    name: 'HTTP/3 codec',
    type: 'listener',
    input: listener({ filters: [hcm({ codec_type: 'HTTP3' })] }),
    error: /typed_config\.codec_type: HTTP3 is not supported/,
  },
  {
    name: 'HTTP/2 options it does not implement',
    type: 'listener',
    input: listener({ filters: [hcm({ http2_protocol_options: { max_concurrent_streams: { value: 10 }, initial_stream_window_size: { value: 65535 } } })] }),
    error: /typed_config\.http2_protocol_options\.initial_stream_window_size: not supported$/,
  },
  {
    name: 'transport socket without a typed_config',
    type: 'listener',
    input: listener({ filters: [hcm({})], transport_socket: { name: 'tls' } }),
    error: /^listener l: filter_chains\[0\]\.transport_socket\.typed_config: unsupported transport socket \(no typed_config\)/,
  },
  {
    name: 'invalid regex',
    type: 'route',
    input: fwd({ cluster: 'c' }, { safe_regex: { regex: '/(unclosed' } }),
    error: /^route r: virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid regex "\/\(unclosed"/,
  },
  { name: 'look-ahead is not RE2', type: 'route', input: fwd({ cluster: 'c' }, { safe_regex: { regex: '/(?=x)' } }), error: /look-around and back-references are not RE2/ },
  {
    name: 'route without action',
    type: 'route',
    input: routeCfg([{ match: { prefix: '/' } }]),
    error: /^route r: virtual_hosts\[0\]\.routes\[0\]: exactly one of route, redirect, direct_response is required$/,
  },
  {
    name: 'weights summing to zero',
    type: 'route',
    input: fwd({ weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } }),
    error: /routes\[0\]\.route\.weighted_clusters\.clusters: the sum of weights must be greater than 0$/,
  },
  {
    name: 'total_weight mismatch',
    type: 'route',
    input: fwd({ weighted_clusters: { total_weight: { value: 100 }, clusters: [{ name: 'a', weight: { value: 90 } }] } }),
    error: /weighted_clusters\.total_weight: is 100 but the weights sum to 90$/,
  },
  {
    name: 'unknown retry condition',
    type: 'route',
    input: fwd({ cluster: 'c', retry_policy: { retry_on: '5xx,sometimes' } }),
    error: /routes\[0\]\.route\.retry_policy\.retry_on: unknown retry condition "sometimes"$/,
  },
  {
    name: 'duplicate domain',
    type: 'route',
    input: routeCfg([{ match: { prefix: '/' }, route: { cluster: 'c' } }], [{ name: 'v2', domains: ['A'], routes: [] }]),
    error: /^route r: virtual_hosts\[1\]\.domains\[0\]: domain "A" is also in virtual host "v1"$/,
  },
  {
    name: 'wildcard in the middle',
    type: 'route',
    input: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['a.*.com'], routes: [] }] },
    error: /virtual_hosts\[0\]\.domains\[0\]: "a\.\*\.com": wildcard must be first or last$/,
  },
  {
    name: 'fault abort status out of range',
    type: 'route',
    input: routeCfg([
      {
        match: { prefix: '/' },
        route: { cluster: 'c' },
        typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT_TYPE, abort: { http_status: 700, percentage: { numerator: 10 } } } },
      },
    ]),
    error: /routes\[0\]\.typed_per_filter_config\["envoy\.filters\.http\.fault"\]\.abort\.http_status: must be 200\.\.599, got 700$/,
  },
  { name: 'cluster_header', type: 'route', input: fwd({ cluster_header: 'x-cluster' }), error: /routes\[0\]\.route\.cluster_header: not supported$/ },
  {
    name: 'mirroring by header is not implemented',
    type: 'route',
    input: fwd({ cluster: 'c', request_mirror_policies: [{ cluster_header: 'x-mirror' }] }),
    error: /routes\[0\]\.route\.request_mirror_policies\[0\]\.cluster: cluster_header is not supported$/,
  },
  {
    name: 'CR/LF in an added header value',
    type: 'route',
    input: fwd({ cluster: 'c' }, undefined, { request_headers_to_add: [{ header: { key: 'x-a', value: 'ok\r\nx-injected: 1' } }] }),
    error: /routes\[0\]\.request_headers_to_add\[0\]\.header\.value: contains a character not allowed in a header value/,
  },
  {
    name: 'added header name that is not a token',
    type: 'route',
    input: fwd({ cluster: 'c' }, undefined, { response_headers_to_add: [{ header: { key: 'x a', value: 'v' } }] }),
    error: /routes\[0\]\.response_headers_to_add\[0\]\.header\.key: "x a" is not a valid header name$/,
  },
  { name: 'direct response status', type: 'route', input: routeCfg([{ match: { prefix: '/' }, direct_response: { status: 99 } }]), error: /direct_response\.status: must be 200\.\.599, got 99$/ },
];

describe('xDS validation rejects with field paths', () => {
  for (const c of bad) {
    it(c.name, () => {
      const v = roundTrip(c.type, c.input);
      assert.equal(v.valid, false, 'should be invalid');
      if (v.valid) return;
      assert.ok(
        v.errors.some((e) => c.error.test(e)),
        `no error matches ${c.error}:\n${v.errors.join('\n')}`,
      );
    });
  }

  it('collects every error of a resource, not just the first', () => {
    const v = roundTrip('cluster', { name: 'c', type: 'ORIGINAL_DST', lb_policy: 'ROUND_ROBIN', transport_socket: { name: 'tls' }, load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [ep('127.0.0.1', 80)] }] } });
    assert.equal(v.valid, false);
    if (!v.valid) assert.equal(v.errors.length, 3, v.errors.join('\n'));
  });

  it('reports every bad resource of a response, and none is applied', () => {
    const anys = [packAny(TypeUrl.cluster, eds()), packAny(TypeUrl.cluster, eds({ name: 'd', lb_policy: 'CLUSTER_PROVIDED' })), packAny(TypeUrl.cluster, eds())];
    const d = decodeResources('cluster', anys);
    assert.equal(d.valid, false);
    if (!d.valid) {
      assert.equal(d.errors.length, 2);
      assert.match(d.errors[0], /^cluster d: lb_policy/);
      assert.match(d.errors[1], /^cluster c: duplicate resource name/);
    }
  });

  it('rejects a resource of the wrong type in a response', () => {
    const d = decodeResources('cluster', [packAny(TypeUrl.endpoint, { cluster_name: 'c' })]);
    assert.equal(d.valid, false);
    if (!d.valid) assert.match(d.errors[0], /^resources\[0\]: type .*ClusterLoadAssignment in a .*Cluster response$/);
  });
});

describe('xDS validation builds the typed model', () => {
  it('cluster defaults follow Envoy', () => {
    const v = roundTrip('cluster', eds());
    assert.ok(v.valid);
    const c = (v as { result: Cluster }).result;
    assert.equal(c.type, 'EDS');
    assert.equal(c.edsServiceName, 'c', 'service_name defaults to the cluster name');
    assert.equal(c.lbPolicy, 'ROUND_ROBIN');
    assert.equal(c.connectTimeoutMs, 5000);
    assert.equal(c.circuitBreakers.maxRequests, 1024);
    assert.deepEqual(c.transport, { kind: 'plaintext' });
  });

  it('cluster fields and circuit breakers', () => {
    const v = roundTrip('cluster', eds({ lb_policy: 'LEAST_REQUEST', connect_timeout: { nanos: 250_000_000 }, circuit_breakers: { thresholds: [{ max_connections: { value: 7 } }] } }));
    assert.ok(v.valid);
    const c = (v as { result: Cluster }).result;
    assert.equal(c.lbPolicy, 'LEAST_REQUEST');
    assert.equal(c.connectTimeoutMs, 250);
    assert.equal(c.circuitBreakers.maxConnections, 7);
    assert.equal(c.circuitBreakers.maxRequests, 1024);
  });

  it('route timeouts, retries and case-insensitive prefixes', () => {
    const v = roundTrip(
      'route',
      routeCfg([
        { match: { prefix: '/A' }, route: { cluster: 'c' } },
        { match: { prefix: '/B', case_sensitive: { value: false } }, route: { cluster: 'c', timeout: { seconds: 0 }, retry_policy: { retry_on: 'gateway-error' } } },
      ]),
    );
    assert.ok(v.valid, JSON.stringify(v));
    const r = (v as { result: RouteConfiguration }).result;
    const [a, b] = r.virtualHosts[0].routes;
    assert.equal((a.action as ForwardAction).timeoutMs, 15_000, 'Envoy default route timeout');
    assert.equal((b.action as ForwardAction).timeoutMs, 0, 'timeout 0 disables it');
    assert.equal((b.action as ForwardAction).retry?.numRetries, 1, 'Envoy default num_retries');
    assert.equal((b.action as ForwardAction).retry?.on.gatewayError, true);
    assert.deepEqual(b.match.path, { kind: 'prefix', value: '/b' });
    assert.equal(b.match.caseSensitive, false);
  });

  it('listener with inline routes and a fault filter config', () => {
    const v = roundTrip(
      'listener',
      listener({
        filters: [
          hcm({
            rds: undefined,
            route_config: { name: 'inline', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
            http_filters: [{ name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE, delay: { fixed_delay: { seconds: 1 }, percentage: { numerator: 5 } } } }, routerFilter],
          }),
        ],
      }),
    );
    assert.ok(v.valid, JSON.stringify(v));
    const l = (v as { result: Listener }).result;
    assert.deepEqual(l.address, { host: '127.0.0.1', port: 15001 });
    const t = l.filterChains[0].terminal;
    assert.equal(t.kind, 'http_connection_manager');
    const h = (t as { hcm: HttpConnectionManager }).hcm;
    assert.equal(h.routes.kind, 'inline');
    assert.equal(h.httpFilters.length, 2);
    const f = h.httpFilters[0];
    assert.equal(f.typeUrl, FAULT_TYPE);
    assert.deepEqual((f.config as FaultConfig).delay, { fixedDelayMs: 1000, percent: { numerator: 5, denominator: 100 } });
    assert.equal(h.httpFilters[1].typeUrl, ROUTER_TYPE_URL);
  });

  it('an unknown http filter is an error unless it is optional', () => {
    const unknown = { type_url: ROUTER_TYPE_URL.replace('router.v3.Router', 'custom.v3.Custom'), value: Buffer.from([0x08, 0x01]) };
    const required = roundTrip('listener', listener({ filters: [hcm({ http_filters: [{ name: 'x.custom', typed_config: unknown }, routerFilter] })] }));
    assert.equal(required.valid, false);
    if (!required.valid) assert.match(required.errors[0], /http_filters\[0\]\.typed_config: unsupported type type\.googleapis\.com\/envoy\.extensions\.filters\.http\.custom\.v3\.Custom for http filter "x\.custom"$/);
    const optional = roundTrip('listener', listener({ filters: [hcm({ http_filters: [{ name: 'x.custom', is_optional: true, typed_config: unknown }, routerFilter] })] }));
    assert.ok(optional.valid, JSON.stringify(optional));
    const t = optional.valid ? optional.result.filterChains[0].terminal : undefined;
    assert.deepEqual(t?.kind === 'http_connection_manager' ? t.hcm.httpFilters.map((f) => f.typeUrl) : [], [ROUTER_TYPE_URL]);
  });
});
