// security.istio.io validators (PeerAuthentication, AuthorizationPolicy, RequestAuthentication):
// table-driven, each invalid case pinned to its code, field path and message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/parse.js';
import type { ParseResult } from '../../src/config/types.js';
import { assertHasError, onlyResource, type WantError } from './helpers.js';

const parse = (kind: string, spec: unknown, apiVersion = 'security.istio.io/v1'): ParseResult =>
  parseConfigText(stringify({ apiVersion, kind, metadata: { name: 'p', namespace: 'foo' }, spec }), 'sec.yaml');

interface Invalid {
  name: string;
  kind: string;
  spec: unknown;
  error: WantError;
}

const JWKS = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] });
const jwt = (extra: Record<string, unknown>) => ({ jwtRules: [{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/jwks', ...extra }] });
const from = (source: unknown) => ({ rules: [{ from: [{ source }] }] });
const to = (operation: unknown) => ({ rules: [{ to: [{ operation }] }] });
const when = (condition: unknown) => ({ rules: [{ when: [condition] }] });

const invalid: Invalid[] = [
  // PeerAuthentication
  { name: 'mode outside the enum', kind: 'PeerAuthentication', spec: { mtls: { mode: 'ON' } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.mtls.mode', message: /one of UNSET, DISABLE, PERMISSIVE, STRICT, got "ON"/ } },
  { name: 'portLevelMtls without a selector', kind: 'PeerAuthentication', spec: { portLevelMtls: { 8080: { mode: 'STRICT' } } }, error: { code: 'WEFT_E_CONFLICT', path: 'spec.portLevelMtls', message: /only with a selector/ } },
  { name: 'portLevelMtls with an empty selector', kind: 'PeerAuthentication', spec: { selector: {}, portLevelMtls: { 8080: { mode: 'STRICT' } } }, error: { code: 'WEFT_E_CONFLICT', path: 'spec.portLevelMtls', message: /matchLabels/ } },
  { name: 'portLevelMtls port out of range', kind: 'PeerAuthentication', spec: { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 70000: { mode: 'STRICT' } } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.portLevelMtls["70000"]', message: /1\.\.65535/ } },
  { name: 'portLevelMtls bad mode', kind: 'PeerAuthentication', spec: { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 80: { mode: 'strict' } } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.portLevelMtls["80"].mode', message: /got "strict"/ } },
  { name: 'unknown field with a hint', kind: 'PeerAuthentication', spec: { mtl: { mode: 'STRICT' } }, error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.mtl', message: /did you mean "mtls"/ } },
  { name: 'bad selector label', kind: 'PeerAuthentication', spec: { selector: { matchLabels: { 'a b': 'x' } } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.selector.matchLabels["a b"]', message: /invalid label key/ } },
  // AuthorizationPolicy: action, provider, attachment
  { name: 'action outside the enum', kind: 'AuthorizationPolicy', spec: { action: 'PERMIT' }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.action', message: /ALLOW, DENY, AUDIT, CUSTOM/ } },
  { name: 'CUSTOM is refused until an external authorizer exists', kind: 'AuthorizationPolicy', spec: { action: 'CUSTOM', provider: { name: 'ext-authz' }, rules: [{}] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.action', message: /not supported yet \(no external authorizer\)/ } },
  { name: 'provider only with CUSTOM', kind: 'AuthorizationPolicy', spec: { action: 'DENY', provider: { name: 'x' }, rules: [{}] }, error: { code: 'WEFT_E_CONFLICT', path: 'spec.provider', message: /only used with action CUSTOM, got action DENY/ } },
  { name: 'selector and targetRefs', kind: 'AuthorizationPolicy', spec: { selector: { matchLabels: { app: 'a' } }, targetRefs: [{ kind: 'Service', group: '', name: 'a' }] }, error: { code: 'WEFT_E_CONFLICT', path: 'spec.targetRefs', message: /only one of selector, targetRef, targetRefs/ } },
  { name: 'targetRef kind', kind: 'AuthorizationPolicy', spec: { targetRefs: [{ kind: 'Pod', name: 'a' }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.targetRefs[0].kind', message: /Service, ServiceEntry, Gateway, GatewayClass/ } },
  { name: 'targetRef group for its kind', kind: 'AuthorizationPolicy', spec: { targetRef: { kind: 'Gateway', group: 'networking.istio.io', name: 'gw' } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.targetRef.group', message: /gateway\.networking\.k8s\.io/ } },
  { name: 'targetRef name required', kind: 'AuthorizationPolicy', spec: { targetRefs: [{ kind: 'Service' }] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.targetRefs[0].name', message: /required/ } },
  // rules forms
  { name: 'rules must be a list', kind: 'AuthorizationPolicy', spec: { rules: { from: [] } }, error: { code: 'WEFT_E_TYPE', path: 'spec.rules', message: /must be a list/ } },
  { name: 'from entry without source', kind: 'AuthorizationPolicy', spec: { rules: [{ from: [{}] }] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.rules[0].from[0].source', message: /required/ } },
  { name: 'empty source', kind: 'AuthorizationPolicy', spec: from({}), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.rules[0].from[0].source', message: /at least one field/ } },
  { name: 'to entry without operation', kind: 'AuthorizationPolicy', spec: { rules: [{ to: [{}] }] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.rules[0].to[0].operation', message: /required/ } },
  { name: 'unknown source field', kind: 'AuthorizationPolicy', spec: from({ principal: ['a'] }), error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.rules[0].from[0].source.principal', message: /did you mean "principals"/ } },
  // string forms
  { name: 'principal with * inside', kind: 'AuthorizationPolicy', spec: from({ principals: ['cluster.local/ns/*/sa/x'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].from[0].source.principals[0]', message: /only as a prefix, a suffix or the whole value/ } },
  { name: 'namespace with * at both ends', kind: 'AuthorizationPolicy', spec: from({ namespaces: ['*ns*'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].from[0].source.namespaces[0]', message: /prefix, a suffix/ } },
  { name: 'empty principal', kind: 'AuthorizationPolicy', spec: from({ principals: [''] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].from[0].source.principals[0]', message: /must not be empty/ } },
  { name: 'ipBlocks CIDR', kind: 'AuthorizationPolicy', spec: from({ ipBlocks: ['10.0.0.0/33'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].from[0].source.ipBlocks[0]', message: /not an IP address or CIDR/ } },
  { name: 'remoteIpBlocks not an IP', kind: 'AuthorizationPolicy', spec: from({ notRemoteIpBlocks: ['example.com'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].from[0].source.notRemoteIpBlocks[0]', message: /not an IP/ } },
  { name: 'serviceAccounts beside principals', kind: 'AuthorizationPolicy', spec: from({ serviceAccounts: ['ns/sa'], principals: ['x'] }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.rules[0].from[0].source.serviceAccounts', message: /separate sources/ } },
  { name: 'serviceAccount form', kind: 'AuthorizationPolicy', spec: from({ serviceAccounts: ['a/b/c'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].from[0].source.serviceAccounts[0]', message: /namespace\/serviceaccount/ } },
  { name: 'port not a number', kind: 'AuthorizationPolicy', spec: to({ ports: ['http'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].to[0].operation.ports[0]', message: /port number/ } },
  { name: 'port as a YAML number', kind: 'AuthorizationPolicy', spec: to({ ports: [80] }), error: { code: 'WEFT_E_TYPE', path: 'spec.rules[0].to[0].operation.ports[0]', message: /must be a string/ } },
  { name: 'path with * inside', kind: 'AuthorizationPolicy', spec: to({ paths: ['/a/*/b'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].to[0].operation.paths[0]', message: /prefix, a suffix/ } },
  { name: 'path template segment', kind: 'AuthorizationPolicy', spec: to({ paths: ['/a/{x}/b'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].to[0].operation.paths[0]', message: /must be \{\*\}, \{\*\*\} or literal/ } },
  { name: 'path template {**} twice', kind: 'AuthorizationPolicy', spec: to({ notPaths: ['/{**}/a/{**}'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].to[0].operation.notPaths[0]', message: /only once/ } },
  { name: 'host with * inside', kind: 'AuthorizationPolicy', spec: to({ hosts: ['a.*.com'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].to[0].operation.hosts[0]', message: /prefix, a suffix/ } },
  // when
  { name: 'unknown condition key', kind: 'AuthorizationPolicy', spec: when({ key: 'source.user', values: ['a'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].when[0].key', message: /unknown condition key "source.user"; supported: source.ip/ } },
  { name: 'header key without a name', kind: 'AuthorizationPolicy', spec: when({ key: 'request.headers[]', values: ['a'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].when[0].key', message: /non-empty name/ } },
  { name: 'claims key unclosed', kind: 'AuthorizationPolicy', spec: when({ key: 'request.auth.claims[iss', values: ['a'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].when[0].key', message: /claim key/ } },
  { name: 'condition without values', kind: 'AuthorizationPolicy', spec: when({ key: 'source.ip' }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.rules[0].when[0]', message: /at least one of values or notValues/ } },
  { name: 'condition key required', kind: 'AuthorizationPolicy', spec: when({ values: ['a'] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.rules[0].when[0].key', message: /required/ } },
  { name: 'source.ip value', kind: 'AuthorizationPolicy', spec: when({ key: 'source.ip', values: ['10.0.0.1/40'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].when[0].values[0]', message: /CIDR/ } },
  { name: 'destination.port value', kind: 'AuthorizationPolicy', spec: when({ key: 'destination.port', notValues: ['0'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].when[0].notValues[0]', message: /port number/ } },
  // RequestAuthentication
  { name: 'issuer required', kind: 'RequestAuthentication', spec: { jwtRules: [{ jwksUri: 'https://x/jwks' }] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.jwtRules[0].issuer', message: /required/ } },
  { name: 'jwks and jwksUri both', kind: 'RequestAuthentication', spec: jwt({ jwks: JWKS }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.jwtRules[0].jwks', message: /only one of jwks and jwksUri/ } },
  { name: 'neither jwks nor jwksUri', kind: 'RequestAuthentication', spec: { jwtRules: [{ issuer: 'https://i' }] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.jwtRules[0]', message: /OpenID discovery/ } },
  { name: 'jwksUri scheme', kind: 'RequestAuthentication', spec: { jwtRules: [{ issuer: 'i', jwksUri: 'ftp://x/jwks' }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.jwtRules[0].jwksUri', message: /http or https/ } },
  { name: 'jwks not JSON', kind: 'RequestAuthentication', spec: { jwtRules: [{ issuer: 'i', jwks: '{keys' }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.jwtRules[0].jwks', message: /not JSON/ } },
  { name: 'jwks without keys', kind: 'RequestAuthentication', spec: { jwtRules: [{ issuer: 'i', jwks: '{}' }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.jwtRules[0].jwks', message: /"keys" list/ } },
  { name: 'fromHeaders name required', kind: 'RequestAuthentication', spec: jwt({ fromHeaders: [{ prefix: 'Bearer ' }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.jwtRules[0].fromHeaders[0].name', message: /required/ } },
  { name: 'fromHeaders bad name', kind: 'RequestAuthentication', spec: jwt({ fromHeaders: [{ name: 'x token' }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.jwtRules[0].fromHeaders[0].name', message: /not a valid header name/ } },
  { name: 'fromParams empty entry', kind: 'RequestAuthentication', spec: jwt({ fromParams: [''] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.jwtRules[0].fromParams[0]', message: /must not be empty/ } },
  { name: 'outputClaimToHeaders claim required', kind: 'RequestAuthentication', spec: jwt({ outputClaimToHeaders: [{ header: 'x-sub' }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.jwtRules[0].outputClaimToHeaders[0].claim', message: /required/ } },
  { name: 'forwardOriginalToken type', kind: 'RequestAuthentication', spec: jwt({ forwardOriginalToken: 'yes' }), error: { code: 'WEFT_E_TYPE', path: 'spec.jwtRules[0].forwardOriginalToken', message: /true or false/ } },
  { name: 'timeout duration', kind: 'RequestAuthentication', spec: jwt({ timeout: '5 seconds' }), error: { code: 'WEFT_E_DURATION', path: 'spec.jwtRules[0].timeout', message: /./ } },
  { name: 'selector and targetRef', kind: 'RequestAuthentication', spec: { selector: { matchLabels: { app: 'a' } }, targetRef: { kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'g' }, jwtRules: [] }, error: { code: 'WEFT_E_CONFLICT', path: 'spec.targetRef', message: /only one of selector/ } },
];

describe('security.istio.io: invalid specs', () => {
  for (const c of invalid) {
    it(`${c.kind}: ${c.name}`, () => {
      const e = assertHasError(parse(c.kind, c.spec), c.error);
      assert.equal(e.resource, `${c.kind} foo/p`);
      assert.equal(e.file, 'sec.yaml');
    });
  }
});

describe('security.istio.io: valid specs become typed resources', () => {
  it('PeerAuthentication: mtls {} is UNSET; port keys are numbers as strings', () => {
    const r = onlyResource(parse('PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, mtls: {}, portLevelMtls: { 9080: { mode: 'PERMISSIVE' } } }));
    assert.deepEqual(r.spec, { selector: { matchLabels: { app: 'a' } }, mtls: { mode: 'UNSET' }, portLevelMtls: { '9080': { mode: 'PERMISSIVE' } } });
  });
  it('AuthorizationPolicy: action defaults to ALLOW; no rules is an empty list (deny all for ALLOW)', () => {
    const r = onlyResource(parse('AuthorizationPolicy', {}));
    assert.deepEqual(r.spec, { action: 'ALLOW', rules: [] });
  });
  it('AuthorizationPolicy: every form of source, operation and condition', () => {
    const spec = {
      targetRefs: [{ kind: 'Service', group: '', name: 'reviews' }],
      action: 'DENY',
      rules: [
        {
          from: [{ source: { principals: ['cluster.local/ns/default/sa/*'], remoteIpBlocks: ['10.0.0.0/8', '::1'] } }, { source: { serviceAccounts: ['default/a', 'b'] } }],
          to: [{ operation: { methods: ['GET'], paths: ['/api/*', '*.json', '/v1/{*}/items/{**}'], ports: ['9080'], hosts: ['*.example.com'] } }],
          when: [{ key: 'request.headers[x-user]', values: ['jason'] }, { key: 'request.auth.claims[groups][admin]', notValues: ['false'] }, { key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]'] }],
        },
        {},
      ],
    };
    const r = onlyResource(parse('AuthorizationPolicy', spec, 'security.istio.io/v1beta1'));
    assert.deepEqual(r.spec, spec);
  });
  it('RequestAuthentication: inline jwks, headers with prefix, claim headers', () => {
    const spec = { selector: { matchLabels: { app: 'a' } }, jwtRules: [{ issuer: 'i', jwks: JWKS, audiences: ['a'], fromHeaders: [{ name: 'x-jwt', prefix: 'Bearer ' }], fromParams: ['token'], outputPayloadToHeader: 'x-payload', forwardOriginalToken: true, outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }], timeout: '5s' }] };
    assert.deepEqual(onlyResource(parse('RequestAuthentication', spec)).spec, spec);
  });
  it('an apiVersion outside security.istio.io v1/v1beta1 is refused', () => {
    assertHasError(parse('PeerAuthentication', {}, 'security.istio.io/v2'), { code: 'WEFT_E_API_VERSION', path: 'apiVersion', message: /security\.istio\.io\/v1, security\.istio\.io\/v1beta1, got "security\.istio\.io\/v2"/ });
  });
  it('the same kind name in another group is not ours (skipped)', () => {
    const r = parse('AuthorizationPolicy', {}, 'example.com/v1');
    assert.ok(r.ok);
    assert.equal(r.skipped.length, 1);
  });
});
