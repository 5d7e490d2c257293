// The authorization matrix: Istio's documented AuthorizationPolicy examples and every policy in the
// shared fixtures, each asserting allow/deny for a concrete request, by translate → the proxy's xDS
// edge → the RBAC engine (test/rbac/harness.ts). Behaviour, not proto shape.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { AuthorizationPolicySpec } from '../../src/config/security-types.js';
import type { AuthorizationPolicyResource, AuthzWorkload } from '../../src/controlplane/translate/authorization.js';
import { mergeConfig } from '../../src/config/config-set.js';
import { formatConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/parse.js';
import { regexAsIstioForm, smiAccessInput, smiAuthorizationPolicies, type SmiAccessInput } from '../../src/controlplane/translate/smi-access.js';
import { fixturesDir } from '../helpers/paths.js';
import { decide, proxyAuthz, type AuthzRequest } from '../rbac/harness.js';

const httpbin: AuthzWorkload = { namespace: 'foo', labels: { app: 'httpbin', version: 'v1' }, services: ['httpbin'] };
const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const DEV = 'spiffe://cluster.local/ns/dev/sa/client';

function policy(name: string, spec: Partial<AuthorizationPolicySpec>, namespace = 'foo'): AuthorizationPolicyResource {
  return { name, namespace, spec: { action: 'ALLOW', rules: [], ...spec } };
}

/** AuthorizationPolicies of a fixture file, typed (namespace `foo` where the file names none). */
function fixturePolicies(file: string): AuthorizationPolicyResource[] {
  const text = fs.readFileSync(path.join(fixturesDir, file), 'utf8');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name: string; namespace?: string }; spec?: Record<string, unknown> } | null)
    .filter((d) => d?.kind === 'AuthorizationPolicy')
    .map((d) => ({ name: d!.metadata!.name, namespace: d!.metadata!.namespace ?? 'foo', spec: { action: 'ALLOW', rules: [], ...(d!.spec ?? {}) } as AuthorizationPolicySpec }));
}

interface Case {
  name: string;
  policies: AuthorizationPolicyResource[];
  workload?: AuthzWorkload;
  request: AuthzRequest;
  tcp?: boolean;
  want: 'allow' | 'deny';
}

// istio.io/latest/docs/reference/config/security/authorization-policy/: the "allow-read" example.
const allowRead = policy('allow-read', {
  selector: { matchLabels: { app: 'httpbin', version: 'v1' } },
  rules: [
    {
      from: [{ source: { principals: ['cluster.local/ns/default/sa/sleep'] } }, { source: { namespaces: ['dev'] } }],
      to: [{ operation: { methods: ['GET'] } }],
      when: [{ key: 'request.auth.claims[iss]', values: ['https://accounts.google.com'] }],
    },
  ],
});
const google = { iss: 'https://accounts.google.com', sub: 'u1' };
// The reference's DENY example: POST from dev denied.
const denyDevPost = policy('deny-method-post', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['dev'] } }], to: [{ operation: { methods: ['POST'] } }] }] });
// "deny requests from non-foo namespaces".
const denyNotFoo = policy('deny-not-foo', { action: 'DENY', rules: [{ from: [{ source: { notNamespaces: ['foo'] } }] }] });
const allowNothing = policy('allow-nothing', {});
const denyAll = policy('deny-all', { action: 'DENY', rules: [{}] });
const allowAll = policy('allow-all', { rules: [{}] });
const requireJwt = policy('require-jwt', { rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] });
const requirePrincipal = policy('require-principal', { rules: [{ from: [{ source: { requestPrincipals: ['issuer.example.com/alice'] } }] }] });
const pathForms = policy('paths', { rules: [{ to: [{ operation: { paths: ['/exact', '/prefix/*', '*/suffix'] } }] }] });
const hostsAndPorts = policy('hosts', { rules: [{ to: [{ operation: { hosts: ['httpbin.foo', '*.example.com'], notPorts: ['9999'] } }] }] });
const ipBlock = policy('ip', { rules: [{ from: [{ source: { ipBlocks: ['10.1.0.0/16'], notIpBlocks: ['10.1.2.3'] } }] }] });
const headerWhen = policy('header', { rules: [{ when: [{ key: 'request.headers[x-token]', values: ['admin-*'] }] }] });
const nestedClaim = policy('nested', { rules: [{ when: [{ key: 'request.auth.claims[groups]', values: ['admins'] }, { key: 'request.auth.claims[realm][role]', values: ['ops'] }] }] });
const sniAndDest = policy('sni', { rules: [{ when: [{ key: 'connection.sni', values: ['*.svc.cluster.local'] }, { key: 'destination.port', values: ['8080'] }] }] });
const notMethods = policy('not-methods', { action: 'DENY', rules: [{ to: [{ operation: { notMethods: ['GET', 'HEAD'] } }] }] });
const meshWideDeny = policy('mesh-deny-admin', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin*'] } }] }] }, 'istio-system');
const otherSelector = policy('other-app', { selector: { matchLabels: { app: 'reviews' } } });
const audit = policy('audit', { action: 'AUDIT', rules: [{ to: [{ operation: { paths: ['/audit'] } }] }] });
const tcpAllowPorts = policy('tcp-ports', { rules: [{ to: [{ operation: { ports: ['9000'] } }] }] });
const tcpAllowMethods = policy('tcp-methods', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] });
const tcpDenyMethodsFromDev = policy('tcp-deny', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['dev'] } }], to: [{ operation: { methods: ['GET'] } }] }] });
const audClaim = policy('aud', { rules: [{ when: [{ key: 'request.auth.audiences', values: ['bookstore'] }, { key: 'request.auth.presenter', notValues: ['bad-client'] }] }] });
const targetRef = policy('by-service', { targetRefs: [{ group: '', kind: 'Service', name: 'httpbin' }], action: 'DENY', rules: [{ to: [{ operation: { paths: ['/private'] } }] }] });

const cases: Case[] = [
  { name: 'allow-read: GET from sleep with the Google issuer', policies: [allowRead], request: { principal: SLEEP, jwt: google }, want: 'allow' },
  { name: 'allow-read: POST from sleep is not a listed method', policies: [allowRead], request: { method: 'POST', principal: SLEEP, jwt: google }, want: 'deny' },
  { name: 'allow-read: GET from namespace dev', policies: [allowRead], request: { principal: DEV, jwt: google }, want: 'allow' },
  { name: 'allow-read: GET from sleep without a token', policies: [allowRead], request: { principal: SLEEP }, want: 'deny' },
  { name: 'allow-read: GET from namespace prod', policies: [allowRead], request: { principal: 'spiffe://cluster.local/ns/prod/sa/x', jwt: google }, want: 'deny' },
  { name: 'allow-read: another issuer', policies: [allowRead], request: { principal: SLEEP, jwt: { iss: 'https://evil', sub: 'u' } }, want: 'deny' },
  { name: 'allow-read does not select a reviews workload (no policy: allowed)', policies: [allowRead], workload: { namespace: 'foo', labels: { app: 'reviews' } }, request: { method: 'DELETE' }, want: 'allow' },
  { name: 'deny POST from dev', policies: [denyDevPost], request: { method: 'POST', principal: DEV }, want: 'deny' },
  { name: 'deny POST from dev: GET from dev passes', policies: [denyDevPost], request: { principal: DEV }, want: 'allow' },
  { name: 'deny non-foo namespaces: from foo passes', policies: [denyNotFoo], request: { principal: 'spiffe://cluster.local/ns/foo/sa/a' }, want: 'allow' },
  { name: 'deny non-foo namespaces: from bar denied', policies: [denyNotFoo], request: { principal: 'spiffe://cluster.local/ns/bar/sa/a' }, want: 'deny' },
  { name: 'deny non-foo namespaces: plaintext (no identity) denied', policies: [denyNotFoo], request: {}, want: 'deny' },
  { name: 'allow-nothing (ALLOW without rules) denies all', policies: [allowNothing], request: { principal: SLEEP }, want: 'deny' },
  { name: 'deny-all (DENY with rules: [{}])', policies: [denyAll, allowAll], request: { principal: SLEEP }, want: 'deny' },
  { name: 'allow-all (rules: [{}])', policies: [allowAll], request: { method: 'PATCH', path: '/x' }, want: 'allow' },
  { name: 'any ALLOW policy denies what it does not match', policies: [pathForms], request: { path: '/other' }, want: 'deny' },
  { name: 'requestPrincipals ["*"]: no token denied', policies: [requireJwt], request: {}, want: 'deny' },
  { name: 'requestPrincipals ["*"]: any valid token allowed', policies: [requireJwt], request: { jwt: { iss: 'a', sub: 'b' } }, want: 'allow' },
  { name: 'requestPrincipals exact iss/sub', policies: [requirePrincipal], request: { jwt: { iss: 'issuer.example.com', sub: 'alice' } }, want: 'allow' },
  { name: 'requestPrincipals: another subject', policies: [requirePrincipal], request: { jwt: { iss: 'issuer.example.com', sub: 'bob' } }, want: 'deny' },
  { name: 'paths: exact', policies: [pathForms], request: { path: '/exact?q=1' }, want: 'allow' },
  { name: 'paths: exact does not match a longer path', policies: [pathForms], request: { path: '/exact/more' }, want: 'deny' },
  { name: 'paths: prefix /prefix/*', policies: [pathForms], request: { path: '/prefix/a/b' }, want: 'allow' },
  { name: 'paths: suffix */suffix', policies: [pathForms], request: { path: '/a/suffix' }, want: 'allow' },
  { name: 'hosts: exact, case-insensitive', policies: [hostsAndPorts], request: { host: 'HTTPBIN.foo' }, want: 'allow' },
  { name: 'hosts: suffix *.example.com', policies: [hostsAndPorts], request: { host: 'api.example.com' }, want: 'allow' },
  { name: 'hosts: not listed', policies: [hostsAndPorts], request: { host: 'evil.com' }, want: 'deny' },
  { name: 'notPorts: the excluded port', policies: [hostsAndPorts], request: { host: 'httpbin.foo', port: 9999 }, want: 'deny' },
  { name: 'ipBlocks: inside the CIDR', policies: [ipBlock], request: { sourceIp: '10.1.9.9' }, want: 'allow' },
  { name: 'notIpBlocks: the excluded address', policies: [ipBlock], request: { sourceIp: '10.1.2.3' }, want: 'deny' },
  { name: 'ipBlocks: outside', policies: [ipBlock], request: { sourceIp: '10.2.0.1' }, want: 'deny' },
  { name: 'when request.headers[x-token] prefix', policies: [headerWhen], request: { headers: { 'X-Token': 'admin-42' } }, want: 'allow' },
  { name: 'when request.headers[x-token]: absent', policies: [headerWhen], request: {}, want: 'deny' },
  { name: 'when claims: list claim and nested claim', policies: [nestedClaim], request: { jwt: { iss: 'i', sub: 's', groups: ['devs', 'admins'], realm: { role: 'ops' } } }, want: 'allow' },
  { name: 'when claims: nested claim differs', policies: [nestedClaim], request: { jwt: { iss: 'i', sub: 's', groups: ['admins'], realm: { role: 'dev' } } }, want: 'deny' },
  { name: 'when connection.sni and destination.port', policies: [sniAndDest], request: { sni: 'httpbin.foo.svc.cluster.local', principal: SLEEP }, want: 'allow' },
  { name: 'when connection.sni: no TLS', policies: [sniAndDest], request: {}, want: 'deny' },
  { name: 'notMethods in a DENY: PUT denied', policies: [notMethods], request: { method: 'PUT' }, want: 'deny' },
  { name: 'notMethods in a DENY: HEAD passes', policies: [notMethods], request: { method: 'HEAD' }, want: 'allow' },
  { name: 'root-namespace DENY applies mesh-wide', policies: [meshWideDeny], request: { path: '/admin/users' }, want: 'deny' },
  { name: 'root namespace as a parameter: istio-config', policies: [policy('root', { action: 'DENY', rules: [{}] }, 'istio-config')], request: {}, want: 'deny' },
  { name: 'a selector for another app does not apply', policies: [otherSelector], request: {}, want: 'allow' },
  { name: 'AUDIT only logs', policies: [audit], request: { path: '/audit' }, want: 'allow' },
  { name: 'audiences and presenter', policies: [audClaim], request: { jwt: { iss: 'i', sub: 's', aud: 'bookstore', azp: 'web' } }, want: 'allow' },
  { name: 'presenter excluded', policies: [audClaim], request: { jwt: { iss: 'i', sub: 's', aud: ['bookstore'], azp: 'bad-client' } }, want: 'deny' },
  { name: 'targetRefs Service httpbin: DENY /private', policies: [targetRef], request: { path: '/private' }, want: 'deny' },
  { name: 'targetRefs for httpbin do not apply to reviews', policies: [targetRef], workload: { namespace: 'foo', labels: {}, services: ['reviews'] }, request: { path: '/private' }, want: 'allow' },
  { name: 'TCP: ALLOW on ports', policies: [tcpAllowPorts], request: {}, tcp: true, want: 'allow' },
  { name: 'TCP: ALLOW on ports, another port', policies: [tcpAllowPorts], request: { port: 9001 }, tcp: true, want: 'deny' },
  { name: 'TCP: an ALLOW rule with HTTP-only fields is dropped (matches nothing)', policies: [tcpAllowMethods], request: {}, tcp: true, want: 'deny' },
  { name: 'TCP: a DENY rule loses its HTTP-only fields (denies all from dev)', policies: [tcpDenyMethodsFromDev], request: { principal: DEV }, tcp: true, want: 'deny' },
  { name: 'TCP: that DENY still needs its principal part', policies: [tcpDenyMethodsFromDev], request: { principal: SLEEP }, tcp: true, want: 'allow' },
  // The fixtures.
  { name: 'fixture deny-and-allow-in: principal "deny"', policies: fixturePolicies('istio/security/deny-and-allow-in.yaml'), request: { principal: 'spiffe://deny' }, want: 'deny' },
  { name: 'fixture deny-and-allow-in: principal "allow"', policies: fixturePolicies('istio/security/deny-and-allow-in.yaml'), request: { principal: 'spiffe://allow' }, want: 'allow' },
  { name: 'fixture deny-and-allow-in: anyone else', policies: fixturePolicies('istio/security/deny-and-allow-in.yaml'), request: { principal: SLEEP }, want: 'deny' },
  { name: 'fixture authz-a: deny-policy (methods *) wins over allow-policy', policies: fixturePolicies('istio/security/authz-a.yaml'), request: { method: 'GET' }, want: 'deny' },
  { name: 'fixture security-v1: GET /info* from sleep with the issuer', policies: fixturePolicies('istio/security/security-v1-AuthorizationPolicy.yaml'), request: { path: '/info/page', principal: SLEEP, jwt: google }, want: 'allow' },
  { name: 'fixture security-v1: POST /data from namespace test', policies: fixturePolicies('istio/security/security-v1-AuthorizationPolicy.yaml'), request: { method: 'POST', path: '/data', principal: 'spiffe://cluster.local/ns/test/sa/t', jwt: google }, want: 'allow' },
  { name: 'fixture security-v1: POST /info is not an allowed pair', policies: fixturePolicies('istio/security/security-v1-AuthorizationPolicy.yaml'), request: { method: 'POST', path: '/info', principal: SLEEP, jwt: google }, want: 'deny' },
  { name: 'fixture security-v1: selector version v2 does not match', policies: fixturePolicies('istio/security/security-v1-AuthorizationPolicy.yaml'), workload: { namespace: 'foo', labels: { app: 'httpbin', version: 'v2' } }, request: { method: 'DELETE' }, want: 'allow' },
];

for (const c of cases) {
  test(`authorization matrix: ${c.name} → ${c.want}`, () => {
    const authz = proxyAuthz(c.policies, c.workload ?? httpbin, c.policies.some((p) => p.namespace === 'istio-config') ? 'istio-config' : undefined);
    assert.deepEqual(authz.errors, []);
    assert.equal(decide(c.tcp ? authz.tcp : authz.http, c.request, !c.tcp), c.want);
  });
}

test('authorization matrix has at least 30 cases', () => assert.ok(cases.length >= 30, `${cases.length}`));

test('fixture authz-valid: fields Weft cannot enforce are errors naming policy and field; the rule is left out (ALLOW: denies)', () => {
  const policies = fixturePolicies('istio/security/authz-valid.yaml');
  const full = proxyAuthz(policies.filter((p) => p.name === 'full'), httpbin);
  assert.match(full.errors.join('\n'), /AuthorizationPolicy foo\/full: rules\[0\]\.from\[0\]\.source\.trustDomains is not supported.*WEFT_E_AUTHZ_UNSUPPORTED/);
  assert.equal(decide(full.http, { principal: SLEEP }), 'deny');
  const split = proxyAuthz(policies.filter((p) => p.name !== 'full'), { namespace: 'foo', labels: {} });
  assert.match(split.errors.join('\n'), /service-account-and-namespace-principal-split: rules\[0\]\.from\[0\]\.source\.serviceAccounts is not supported/);
});

test('CUSTOM is refused with a clear error and enforces nothing', () => {
  const authz = proxyAuthz([policy('ext', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] })], httpbin);
  assert.match(authz.errors[0], /foo\/ext: action CUSTOM is not supported/);
  assert.equal(authz.http.length, 0);
});

test('an unknown when key is an error naming it', () => {
  const authz = proxyAuthz([policy('bad', { rules: [{ when: [{ key: 'experimental.envoy.filters.a.b[c]', values: ['x'] }] }] })], httpbin);
  assert.match(authz.errors[0], /foo\/bad: condition key "experimental\.envoy\.filters\.a\.b\[c\]" is not supported/);
});

// SMI Traffic Access Control fixtures, loaded by the config parser (the control plane's loader) and
// mapped into the same model (smi-access.ts).
function smiInput(...docs: Array<{ file: string; text: string }>): SmiAccessInput {
  const files = docs.map(({ file, text }) => {
    const r = parseConfigText(text, file);
    assert.ok(r.ok, `${file}: ${r.ok ? '' : r.errors.map(formatConfigError).join('; ')}`);
    return { file, resources: r.resources };
  });
  return smiAccessInput(mergeConfig(files).config);
}
const smiFile = (f: string) => ({ file: f, text: fs.readFileSync(path.join(fixturesDir, 'smi', f), 'utf8') });
const sa = (name: string) => `spiffe://cluster.local/ns/default/sa/${name}`;
const ACCESS_3 = ['traffic-access-1.yaml', 'traffic-access-2.yaml', 'traffic-access-3.yaml'].map(smiFile);
const ACCESS_4 = [smiFile('traffic-access-4.yaml')];
const ACCESS_5 = [smiFile('traffic-access-5.yaml')];
// Header matches and an L4-only target on UDP, written here in the spec's form.
const HEADERS = [
  {
    file: 'headers.yaml',
    text: `kind: HTTPRouteGroup
metadata: { name: api }
spec:
  matches:
  - { name: mobile, pathRegex: "/api/.*", methods: [GET], headers: { x-client: "mobile-.*" } }
  - { name: android, headers: { user-agent: ".*Android.*" } }
---
kind: TrafficTarget
metadata: { name: mobile }
spec:
  destination: { kind: ServiceAccount, name: api }
  rules: [{ kind: HTTPRouteGroup, name: api }]
  sources: [{ kind: ServiceAccount, name: app }]
`,
  },
];
const UDP_ONLY = [
  {
    file: 'udp.yaml',
    text: `kind: TrafficTarget
metadata: { name: udp-only }
spec:
  destination: { kind: ServiceAccount, name: dns }
  rules: [{ kind: UDPRoute, name: dns-ports }]
  sources: [{ kind: ServiceAccount, name: client }]
`,
  },
];
interface SmiCase {
  name: string;
  docs: Array<{ file: string; text: string }>;
  sa: string;
  labels?: Record<string, string>;
  request: AuthzRequest;
  tcp?: boolean;
  want: 'allow' | 'deny';
  errors?: RegExp;
}
const smiCases: SmiCase[] = [
  { name: 'traffic-access-3: prometheus GET /metrics on 8080', docs: ACCESS_3, sa: 'service-a', request: { path: '/metrics', principal: sa('prometheus') }, want: 'allow' },
  { name: 'traffic-access-3: prometheus POST /metrics', docs: ACCESS_3, sa: 'service-a', request: { method: 'POST', path: '/metrics', principal: sa('prometheus') }, want: 'deny' },
  { name: 'traffic-access-2: its "everything" match is not selected by the target: prometheus GET /other denied', docs: ACCESS_3, sa: 'service-a', request: { path: '/other', principal: sa('prometheus') }, want: 'deny' },
  { name: 'traffic-access-2: its TCPRoute the-routes is port 8080: prometheus GET /metrics on 9090 denied', docs: ACCESS_3, sa: 'service-a', request: { path: '/metrics', principal: sa('prometheus'), port: 9090 }, want: 'deny' },
  { name: 'traffic-access-3: another source', docs: ACCESS_3, sa: 'service-a', request: { path: '/metrics', principal: sa('intruder') }, want: 'deny' },
  { name: 'traffic-access-3: plaintext (no peer identity)', docs: ACCESS_3, sa: 'service-a', request: { path: '/metrics' }, want: 'deny' },
  { name: 'traffic-access-1: the IdentityBinding\'s podLabelSelector app=service-a selects a workload of another service account', docs: ACCESS_3, sa: 'other', labels: { app: 'service-a' }, request: { path: '/other', principal: sa('prometheus') }, want: 'deny' },
  { name: 'traffic-access-1: ... and that workload serves prometheus its /metrics', docs: ACCESS_3, sa: 'other', labels: { app: 'service-a' }, request: { path: '/metrics', principal: sa('prometheus') }, want: 'allow' },
  { name: 'traffic-access-1: a workload neither bound by service account nor by labels is not a destination', docs: ACCESS_3, sa: 'other', labels: { app: 'service-b' }, request: { path: '/other', principal: sa('intruder') }, want: 'allow' },
  { name: 'traffic-access-4: website-service any method on /api', docs: ACCESS_4, sa: 'api-service', request: { method: 'PUT', path: '/api', principal: sa('website-service') }, want: 'allow' },
  { name: 'traffic-access-4: payments-service POST /api', docs: ACCESS_4, sa: 'api-service', request: { method: 'POST', path: '/api', principal: sa('payments-service') }, want: 'allow' },
  { name: 'traffic-access-4: pathRegex /api is the whole path: /api/v1 is not allowed', docs: ACCESS_4, sa: 'api-service', request: { path: '/api/v1', principal: sa('website-service') }, want: 'deny' },
  { name: 'traffic-access-4: prometheus GET /metrics', docs: ACCESS_4, sa: 'api-service', request: { path: '/metrics', principal: sa('prometheus') }, want: 'allow' },
  { name: 'traffic-access-4: prometheus may not call /api', docs: ACCESS_4, sa: 'api-service', request: { path: '/api', principal: sa('prometheus') }, want: 'deny' },
  { name: 'traffic-access-4: website-service may not read /metrics', docs: ACCESS_4, sa: 'api-service', request: { path: '/metrics', principal: sa('website-service') }, want: 'deny' },
  { name: 'traffic-access-4: targets for another workload do not apply', docs: ACCESS_4, sa: 'unrelated', request: { path: '/anything' }, want: 'allow' },
  { name: 'traffic-access-5: TCP from client on port 8301', docs: ACCESS_5, sa: 'server', request: { principal: sa('client'), port: 8301 }, tcp: true, want: 'allow', errors: /kind UDPRoute is not supported/ },
  { name: 'traffic-access-5: TCP from client on port 8300 (TCP only)', docs: ACCESS_5, sa: 'server', request: { principal: sa('client'), port: 8300 }, tcp: true, want: 'allow', errors: /kind UDPRoute is not supported/ },
  { name: 'traffic-access-5: TCP from client on port 9999', docs: ACCESS_5, sa: 'server', request: { principal: sa('client'), port: 9999 }, tcp: true, want: 'deny', errors: /kind UDPRoute is not supported/ },
  { name: 'traffic-access-5: TCP from another identity on 8301', docs: ACCESS_5, sa: 'server', request: { principal: sa('intruder'), port: 8301 }, tcp: true, want: 'deny', errors: /kind UDPRoute is not supported/ },
  { name: 'headers: prefix form on GET /api/x from app', docs: HEADERS, sa: 'api', request: { path: '/api/x', principal: sa('app'), headers: { 'x-client': 'mobile-ios' } }, want: 'allow', errors: /match android: headers\.user-agent "\.\*Android\.\*" is not an exact value, a prefix or a suffix; the match is left out/ },
  { name: 'headers: the header is required', docs: HEADERS, sa: 'api', request: { path: '/api/x', principal: sa('app') }, want: 'deny', errors: /match android/ },
  { name: 'headers: a match left out allows nothing (Android user agent denied)', docs: HEADERS, sa: 'api', request: { path: '/', principal: sa('app'), headers: { 'user-agent': 'x Android y' } }, want: 'deny', errors: /match android/ },
  { name: 'a target whose only rule is a UDPRoute allows nothing over TCP', docs: UDP_ONLY, sa: 'dns', request: { principal: sa('client'), port: 53 }, tcp: true, want: 'deny', errors: /UDPRoute is not supported/ },
];

for (const c of smiCases) {
  test(`authorization matrix (SMI): ${c.name} → ${c.want}`, () => {
    const w = { namespace: 'default', labels: c.labels ?? {}, serviceAccount: c.sa };
    const smi = smiAuthorizationPolicies(smiInput(...c.docs), w);
    if (c.errors) assert.match(smi.errors.join('\n'), c.errors);
    else assert.deepEqual(smi.errors, []);
    const authz = proxyAuthz(smi.policies, w);
    assert.deepEqual(authz.errors, []);
    assert.equal(decide(c.tcp ? authz.tcp : authz.http, c.request, !c.tcp), c.want);
  });
}

test('every SMI Traffic Access fixture has matrix cases', () => {
  const files = fs.readdirSync(path.join(fixturesDir, 'smi')).filter((f) => f.startsWith('traffic-access-'));
  const named = new Set(smiCases.flatMap((c) => c.docs.map((d) => d.file)));
  for (const f of files) assert.ok(named.has(f), `${f} has no case`);
  for (const f of files) assert.ok(smiCases.some((c) => c.name.startsWith(f.replace('.yaml', ''))), `a case is named after ${f}`);
});

test('a DENY rule with a field Weft cannot enforce keeps the rest (it matches more, as in Istio); an ALLOW rule is left out', () => {
  const spec = (action: 'DENY' | 'ALLOW') => ({ action, rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/sleep'], trustDomains: ['td'] } as never }] }] });
  const deny = proxyAuthz([policy('deny-sleep', spec('DENY'))], httpbin);
  assert.match(deny.errors.join('\n'), /foo\/deny-sleep: rules\[0\]\.from\[0\]\.source\.trustDomains is not supported; left out of the rule, which matches more/);
  assert.equal(decide(deny.http, { principal: SLEEP }), 'deny');
  assert.equal(decide(deny.http, { principal: DEV }), 'allow');
  const allowed = proxyAuthz([policy('allow-sleep', spec('ALLOW'))], httpbin);
  assert.match(allowed.errors.join('\n'), /foo\/allow-sleep: .*trustDomains is not supported; the rule is left out/);
  assert.equal(decide(allowed.http, { principal: SLEEP }), 'deny');
});

test('SMI regexes as Istio forms: whole-value literals, prefixes, suffixes, anything; a real regex is none', () => {
  const table: Array<[string, string | undefined]> = [
    ['.*', '*'],
    ['', '*'],
    ['^.*$', '*'],
    ['/metrics', '/metrics'],
    ['^/metrics$', '/metrics'],
    ['/index\\.html', '/index.html'],
    ['/api/.*', '/api/*'],
    ['.*\\.json', '*.json'],
    ['mobile-.*', 'mobile-*'],
    ['/index.html', undefined], // "." is any character: not a literal
    ['.*Android.*', undefined],
    ['/api/v[0-9]+', undefined],
    ['/a\\d', undefined],
    ['/a\\*', undefined], // a literal "*" would read as a wildcard
    ['cost\\$', 'cost$'],
  ];
  for (const [re, want] of table) assert.equal(regexAsIstioForm(re), want, re);
});
