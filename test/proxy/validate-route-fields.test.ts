// Route configuration fields the proxy does not implement are NACKs with their field path, at every
// level (route configuration, virtual host, route, match, action), after a real protobuf round trip;
// unset fields and the forms the control plane sends are accepted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { validateResource } from '../../src/proxy/xds/decode.js';

const errorsOf = (obj: object): string[] => {
  const v = validateResource('route', unpackAny(packAny(TypeUrl.route, obj)));
  return v.valid ? [] : v.errors;
};
const config = (vh: Record<string, unknown> = {}, route: Record<string, unknown> = {}, top: Record<string, unknown> = {}) => ({
  name: 'r',
  ...top,
  virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, ...route }], ...vh }],
});

describe('route configuration: unimplemented fields are NACKs', () => {
  it('accepts what the control plane sends, and explicit defaults', () => {
    assert.deepEqual(errorsOf(config({}, {}, { validate_clusters: { value: false } })), []);
    assert.deepEqual(errorsOf(config({ require_tls: 'NONE' }, { route: { cluster: 'c', auto_host_rewrite: { value: false }, priority: 'DEFAULT' } })), []);
  });

  it('names the field at each level', () => {
    assert.deepEqual(errorsOf(config({}, {}, { validate_clusters: { value: true } })), [
      'route r: validate_clusters: not supported (only false: a route to an unknown cluster answers 503)',
    ]);
    assert.deepEqual(errorsOf(config({}, {}, { max_direct_response_body_size_bytes: { value: 10 } })), ['route r: max_direct_response_body_size_bytes: not supported']);
    assert.deepEqual(errorsOf(config({ include_request_attempt_count: true })), ['route r: virtual_hosts[0].include_request_attempt_count: not supported']);
    assert.deepEqual(errorsOf(config({ rate_limits: [{ actions: [{ remote_address: {} }] }] })), ['route r: virtual_hosts[0].rate_limits: not supported']);
    // decorator names the route's spans (telemetry/tracing); a route's own tracing overrides are not implemented.
    assert.deepEqual(errorsOf(config({}, { decorator: { operation: 'op' } })), []);
    assert.deepEqual(errorsOf(config({}, { decorator: { propagate: { value: false } } })), ['route r: virtual_hosts[0].routes[0].decorator.operation: is required']);
    assert.deepEqual(errorsOf(config({}, { tracing: { client_sampling: { numerator: 5 } } })), ['route r: virtual_hosts[0].routes[0].tracing: not supported']);
    assert.deepEqual(errorsOf(config({}, { match: { prefix: '/', grpc: {} } })), ['route r: virtual_hosts[0].routes[0].match.grpc: not supported']);
    assert.deepEqual(errorsOf(config({}, { route: { cluster: 'c', idle_timeout: { seconds: 1 } } })), ['route r: virtual_hosts[0].routes[0].route.idle_timeout: not supported']);
    assert.deepEqual(errorsOf(config({}, { route: { cluster: 'c', priority: 'HIGH' } })), ['route r: virtual_hosts[0].routes[0].route.priority: not supported']);
  });
});
