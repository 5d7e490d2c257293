// The RBAC engine and its xDS edge, table-driven: every rule kind against a concrete connection or
// request, NACKs with field paths for what is not implemented, and network filter ordering.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HCM_TYPE_URL, TCP_PROXY_TYPE_URL } from '../../src/api/envoy.js';
import type { ConnectionInfo } from '../../src/proxy/listener/connection-info.js';
import { RbacEngine, type RbacInput } from '../../src/proxy/rbac/engine.js';
import { NETWORK_RBAC_TYPE_URL, httpRbacPerRoute } from '../../src/proxy/rbac/filter-config.js';
import { rbacRules } from '../../src/proxy/rbac/parse.js';
import { validateResource } from '../../src/proxy/xds/decode.js';
import { Problems } from '../../src/proxy/xds/validate-common.js';

function engine(rules: Record<string, unknown>): RbacEngine {
  const p = new Problems();
  const r = rbacRules(rules, 'rules', p);
  assert.deepEqual(p.list, []);
  return new RbacEngine(r);
}

const conn = (o: Partial<ConnectionInfo> = {}): ConnectionInfo => ({ localAddress: '10.0.0.2', localPort: 8080, remoteAddress: '10.0.0.1', remotePort: 5555, ...o });
const tls = (uris: string[], subject = '', dns: string[] = []): ConnectionInfo['tls'] => ({ peerUriSans: uris, peerDnsSans: dns, peerSubject: subject, localUriSan: '' });
const req = (path: string, headers: Record<string, string> = {}) => ({ path, header: (n: string) => headers[n] });
const allow = (principal: object, permission: object = { any: true }) => ({ action: 'ALLOW', policies: { p: { permissions: [permission], principals: [principal] } } });

const cases: Array<{ name: string; rules: Record<string, unknown>; input: RbacInput; want: boolean }> = [
  { name: 'authenticated matches the URI SAN', rules: allow({ authenticated: { principal_name: { exact: 'spiffe://td/ns/a/sa/b' } } }), input: { connection: conn({ tls: tls(['spiffe://td/ns/a/sa/b']) }) }, want: true },
  { name: 'authenticated falls back to the subject without SANs', rules: allow({ authenticated: { principal_name: { prefix: 'CN=svc' } } }), input: { connection: conn({ tls: tls([], 'CN=svc,O=x') }) }, want: true },
  { name: 'authenticated without a certificate never matches', rules: allow({ authenticated: {} }), input: { connection: conn() }, want: false },
  { name: 'authenticated without principal_name: any certificate', rules: allow({ authenticated: {} }), input: { connection: conn({ tls: tls(['spiffe://x']) }) }, want: true },
  { name: 'direct_remote_ip CIDR (IPv4-mapped peer)', rules: allow({ direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 8 } } }), input: { connection: conn({ remoteAddress: '::ffff:10.9.9.9' }) }, want: true },
  { name: 'destination_port_range is half-open', rules: allow({ any: true }, { destination_port_range: { start: 8000, end: 8080 } }), input: { connection: conn() }, want: false },
  { name: 'not_rule of a port', rules: allow({ any: true }, { not_rule: { destination_port: 9090 } }), input: { connection: conn() }, want: true },
  { name: 'and_rules needs every rule', rules: allow({ any: true }, { and_rules: { rules: [{ destination_port: 8080 }, { url_path: { path: { prefix: '/api' } } }] } }), input: { connection: conn(), http: req('/web') }, want: false },
  { name: 'url_path never matches on a TCP connection', rules: allow({ any: true }, { url_path: { path: { prefix: '/' } } }), input: { connection: conn() }, want: false },
  { name: 'header present_match on TCP: headers are absent', rules: allow({ header: { name: 'x', present_match: true } }), input: { connection: conn() }, want: false },
  { name: 'requested_server_name from the TLS handshake', rules: allow({ any: true }, { requested_server_name: { suffix: '.svc' } }), input: { connection: conn({ tls: { ...tls([])!, sni: 'a.svc' } }) }, want: true },
  { name: 'metadata list_match on a claim', rules: allow({ metadata: { filter: 'istio_authn', path: [{ key: 'request.auth.claims' }, { key: 'groups' }], value: { list_match: { one_of: { string_match: { exact: 'ops' } } } } } }), input: { connection: conn(), metadata: new Map([['istio_authn', { 'request.auth.claims': { groups: ['dev', 'ops'] } }]]) }, want: true },
  { name: 'metadata invert', rules: allow({ metadata: { filter: 'm', path: [{ key: 'k' }], value: { string_match: { exact: 'v' } }, invert: true } }), input: { connection: conn(), metadata: new Map([['m', { k: 'v' }]]) }, want: false },
  { name: 'DENY allows what it does not match', rules: { action: 'DENY', policies: { p: { permissions: [{ destination_port: 1 }], principals: [{ any: true }] } } }, input: { connection: conn() }, want: true },
  { name: 'LOG never denies', rules: { action: 'LOG', policies: { p: { permissions: [{ any: true }], principals: [{ any: true }] } } }, input: { connection: conn() }, want: true },
  { name: 'ALLOW with no policies denies', rules: { action: 'ALLOW' }, input: { connection: conn() }, want: false },
];

for (const c of cases) test(`rbac engine: ${c.name}`, () => assert.equal(engine(c.rules).evaluate(c.input).allowed, c.want));

test('rbac engine: the first matched policy by name is reported', () => {
  const e = engine({ action: 'DENY', policies: { zeta: { permissions: [{ any: true }], principals: [{ any: true }] }, alpha: { permissions: [{ any: true }], principals: [{ any: true }] } } });
  assert.deepEqual(e.evaluate({ connection: conn() }), { allowed: false, matchedPolicy: 'alpha' });
});

test('rbac edge: what is not implemented is a NACK with its field path', () => {
  const p = new Problems();
  rbacRules(
    {
      action: 'DENY',
      policies: {
        p: { permissions: [{ matcher: {} }, { any: false }], principals: [{ filter_state: {} }, { authenticated: { principal_name: { exact: 'x' }, other: 1 } }], condition: {} },
        q: { permissions: [], principals: [{ any: true }] },
      },
    },
    'rules',
    p,
  );
  assert.deepEqual(p.list, [
    'rules.policies["p"].condition: not supported (CEL conditions)',
    'rules.policies["p"].permissions[0].matcher: not supported',
    'rules.policies["p"].permissions[1].any: must be true',
    'rules.policies["p"].principals[0].filter_state: not supported',
    'rules.policies["p"].principals[1].authenticated.other: not supported',
    'rules.policies["q"].permissions: must not be empty',
  ]);
});

test('rbac per route: RBACPerRoute without rbac disables the filter for that route', () => {
  assert.deepEqual(httpRbacPerRoute({}, 'x', new Problems()), { disabled: true });
});

const listener = (filters: object[]) => ({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 1 } }, filter_chains: [{ filters }] });
const netRbac = { name: 'rbac', typed_config: { '@type': NETWORK_RBAC_TYPE_URL, stat_prefix: 'tcp.', rules: { action: 'DENY', policies: {} } } };
const tcpProxy = { name: 'tcp', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: 't', cluster: 'c' } };

test('network filters: rbac before tcp_proxy is accepted; after it, or with no terminal, is a NACK', () => {
  const ok = validateResource('listener', listener([netRbac, tcpProxy]));
  assert.ok(ok.valid);
  assert.equal(ok.result.filterChains[0].readFilters?.[0].kind, 'rbac');
  const after = validateResource('listener', listener([tcpProxy, netRbac]));
  assert.ok(!after.valid);
  assert.match(after.errors.join('\n'), /filter_chains\[0\]\.filters\[1\]: tcp_proxy must be the last network filter/);
  const none = validateResource('listener', listener([netRbac]));
  assert.ok(!none.valid);
  assert.match(none.errors.join('\n'), /filter_chains\[0\]\.filters: must end with a terminal filter/);
  const noPrefix = validateResource('listener', listener([{ name: 'rbac', typed_config: { '@type': NETWORK_RBAC_TYPE_URL, delay_deny: { seconds: 1 } } }, { name: 'h', typed_config: { '@type': HCM_TYPE_URL, stat_prefix: 'h', route_config: {}, http_filters: [{ name: 'envoy.filters.http.router' }] } }]));
  assert.ok(!noPrefix.valid);
  assert.match(noPrefix.errors.join('\n'), /filters\[0\]\.typed_config\.delay_deny: not supported/);
  assert.match(noPrefix.errors.join('\n'), /filters\[0\]\.typed_config\.stat_prefix: is required/);
});
