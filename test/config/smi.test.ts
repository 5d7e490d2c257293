// SMI validators (TrafficTarget, IdentityBinding, HTTPRouteGroup, TCPRoute): table-driven, each invalid
// case pinned to its code, field path and message; apiVersion may be omitted, as in SMI's examples.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/parse.js';
import type { ParseResult } from '../../src/config/types.js';
import { assertHasError, onlyResource, type WantError } from './helpers.js';

const GROUP: Record<string, string> = { TrafficTarget: 'access.smi-spec.io', IdentityBinding: 'access.smi-spec.io', HTTPRouteGroup: 'specs.smi-spec.io', TCPRoute: 'specs.smi-spec.io' };
const parse = (kind: string, spec: unknown, apiVersion: string | null = `${GROUP[kind]}/v1alpha4`): ParseResult =>
  parseConfigText(stringify({ ...(apiVersion ? { apiVersion } : {}), kind, metadata: { name: 'p', namespace: 'foo' }, spec }), 'smi.yaml');

const sa = (name: string, extra: Record<string, unknown> = {}) => ({ kind: 'ServiceAccount', name, ...extra });
const ib = (name: string) => ({ kind: 'IdentityBinding', group: 'access.smi-spec.io', name });
const target = (over: Record<string, unknown>) => ({ destination: sa('api'), rules: [{ kind: 'HTTPRouteGroup', name: 'routes' }], sources: [sa('web')], ...over });
const group = (match: unknown) => ({ matches: [match] });

const invalid: Array<{ name: string; kind: string; spec: unknown; error: WantError }> = [
  // TrafficTarget
  { name: 'destination required', kind: 'TrafficTarget', spec: { rules: [{ kind: 'TCPRoute', name: 'r' }], sources: [sa('a')] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.destination', message: /required/ } },
  { name: 'at least one rule', kind: 'TrafficTarget', spec: target({ rules: [] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.rules', message: /at least one entry/ } },
  { name: 'at least one source', kind: 'TrafficTarget', spec: target({ sources: undefined }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.sources', message: /required/ } },
  { name: 'identity kind outside the enum', kind: 'TrafficTarget', spec: target({ destination: { kind: 'Pod', name: 'a' } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.destination.kind', message: /ServiceAccount, IdentityBinding, got "Pod"/ } },
  { name: 'IdentityBinding in the wrong group', kind: 'TrafficTarget', spec: target({ sources: [{ kind: 'IdentityBinding', group: 'security.istio.io', name: 'a' }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.sources[0].group', message: /in group "access\.smi-spec\.io"/ } },
  { name: 'identity name required', kind: 'TrafficTarget', spec: target({ sources: [{ kind: 'ServiceAccount' }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.sources[0].name', message: /required/ } },
  { name: 'identity namespace form', kind: 'TrafficTarget', spec: target({ destination: sa('api', { namespace: 'Bad_NS' }) }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.destination.namespace', message: /invalid namespace "Bad_NS"/ } },
  { name: 'v1alpha1 destination port is not a field any more', kind: 'TrafficTarget', spec: target({ destination: sa('api', { port: 8080 }) }), error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.destination.port', message: /unknown field/ } },
  { name: 'rule kind outside the enum', kind: 'TrafficTarget', spec: target({ rules: [{ kind: 'GRPCRoute', name: 'r' }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].kind', message: /HTTPRouteGroup, TCPRoute, UDPRoute, got "GRPCRoute"/ } },
  { name: 'rule name required', kind: 'TrafficTarget', spec: target({ rules: [{ kind: 'TCPRoute' }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.rules[0].name', message: /required/ } },
  { name: 'matches on a TCPRoute rule', kind: 'TrafficTarget', spec: target({ rules: [{ kind: 'TCPRoute', name: 'r', matches: ['x'] }] }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.rules[0].matches', message: /only an HTTPRouteGroup rule names matches/ } },
  { name: 'empty match name', kind: 'TrafficTarget', spec: target({ rules: [{ kind: 'HTTPRouteGroup', name: 'r', matches: [''] }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.rules[0].matches[0]', message: /must not be empty/ } },
  { name: 'unknown spec field with a hint', kind: 'TrafficTarget', spec: { ...target({}), source: [] }, error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.source', message: /did you mean "sources"/ } },
  // IdentityBinding
  { name: 'schemes required', kind: 'IdentityBinding', spec: {}, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.schemes', message: /required/ } },
  { name: 'empty schemes', kind: 'IdentityBinding', spec: { schemes: {} }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.schemes', message: /at least one scheme/ } },
  { name: 'spiffe:// prefix', kind: 'IdentityBinding', spec: { schemes: { spiffeIdentities: ['spiffe://cluster.local/ns/a/sa/b'] } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.schemes.spiffeIdentities[0]', message: /without "spiffe:\/\/"/ } },
  { name: 'wildcard identity', kind: 'IdentityBinding', spec: { schemes: { spiffeIdentities: ['cluster.local/ns/*/sa/b'] } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.schemes.spiffeIdentities[0]', message: /without spaces or wildcards/ } },
  { name: 'selector without matchLabels', kind: 'IdentityBinding', spec: { schemes: { podLabelSelector: {} } }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.schemes.podLabelSelector.matchLabels', message: /required/ } },
  { name: 'bad label in a selector list', kind: 'IdentityBinding', spec: { schemes: { podLabelSelectors: [{ name: 'w', matchLabels: { 'a b': 'x' } }] } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.schemes.podLabelSelectors[0].matchLabels["a b"]', message: /invalid label key/ } },
  { name: 'serviceAccount form', kind: 'IdentityBinding', spec: { schemes: { serviceAccount: 'Not A Name' } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.schemes.serviceAccount', message: /invalid name/ } },
  { name: 'unknown scheme', kind: 'IdentityBinding', spec: { schemes: { jwt: 'x' } }, error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.schemes.jwt', message: /unknown field/ } },
  // HTTPRouteGroup
  { name: 'matches required', kind: 'HTTPRouteGroup', spec: {}, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.matches', message: /required/ } },
  { name: 'match name required', kind: 'HTTPRouteGroup', spec: group({ pathRegex: '/a' }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.matches[0].name', message: /required/ } },
  { name: 'match with nothing to match', kind: 'HTTPRouteGroup', spec: group({ name: 'm' }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.matches[0]', message: /at least one of pathRegex, methods, headers/ } },
  { name: 'pathRegex does not compile', kind: 'HTTPRouteGroup', spec: group({ name: 'm', pathRegex: '/a(' }), error: { code: 'WEFT_E_REGEX', path: 'spec.matches[0].pathRegex', message: /invalid regular expression/ } },
  { name: 'pathRegex with look-ahead (not RE2)', kind: 'HTTPRouteGroup', spec: group({ name: 'm', pathRegex: '/a(?=b)' }), error: { code: 'WEFT_E_REGEX', path: 'spec.matches[0].pathRegex', message: /look-around/ } },
  { name: 'method outside the list', kind: 'HTTPRouteGroup', spec: group({ name: 'm', methods: ['GET', 'FETCH'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.matches[0].methods[1]', message: /one of \*, GET, HEAD.*got "FETCH"/ } },
  { name: 'header value regex', kind: 'HTTPRouteGroup', spec: group({ name: 'm', headers: { 'user-agent': '[' } }), error: { code: 'WEFT_E_REGEX', path: 'spec.matches[0].headers.user-agent', message: /invalid regular expression/ } },
  { name: 'header name', kind: 'HTTPRouteGroup', spec: group({ name: 'm', headers: { 'user agent': 'x' } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.matches[0].headers["user agent"]', message: /not a valid header name/ } },
  { name: 'header value not a string', kind: 'HTTPRouteGroup', spec: group({ name: 'm', headers: { 'x-n': 1 } }), error: { code: 'WEFT_E_TYPE', path: 'spec.matches[0].headers.x-n', message: /must be a string/ } },
  { name: 'two matches with one name', kind: 'HTTPRouteGroup', spec: { matches: [{ name: 'm', methods: ['GET'] }, { name: 'm', methods: ['POST'] }] }, error: { code: 'WEFT_E_DUPLICATE_VALUE', path: 'spec.matches[1].name', message: /used twice/ } },
  // TCPRoute
  { name: 'port out of range', kind: 'TCPRoute', spec: { matches: { ports: [8080, 70000] } }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.matches.ports[1]', message: /1\.\.65535, got 70000/ } },
  { name: 'port as a string', kind: 'TCPRoute', spec: { matches: { ports: ['8080'] } }, error: { code: 'WEFT_E_TYPE', path: 'spec.matches.ports[0]', message: /must be an integer/ } },
  { name: 'matches as a list (HTTPRouteGroup form)', kind: 'TCPRoute', spec: { matches: [{ ports: [1] }] }, error: { code: 'WEFT_E_TYPE', path: 'spec.matches', message: /must be an object/ } },
];

describe('SMI: invalid specs', () => {
  for (const c of invalid) {
    it(`${c.kind}: ${c.name}`, () => {
      const e = assertHasError(parse(c.kind, c.spec), c.error);
      assert.equal(e.resource, `${c.kind} foo/p`);
      assert.equal(e.file, 'smi.yaml');
    });
  }
  it('every problem of one resource is reported at once', () => {
    const r = parse('TrafficTarget', { destination: { kind: 'Pod' }, rules: [{ kind: 'X', name: 'r' }], sources: [] });
    assert.ok(!r.ok);
    assert.deepEqual(r.errors.map((e) => e.path).sort(), ['spec.destination.kind', 'spec.destination.name', 'spec.rules[0].kind', 'spec.sources']);
  });
});

describe('SMI: versions', () => {
  it('no apiVersion: read as the preferred v1alpha4', () => {
    assert.equal(onlyResource(parse('TCPRoute', {}, null)).apiVersion, 'specs.smi-spec.io/v1alpha4');
  });
  it('TrafficTarget v1alpha3 with ServiceAccounts loads', () => {
    const spec = { destination: sa('api', { namespace: 'foo' }), rules: [{ kind: 'HTTPRouteGroup', name: 'routes', matches: ['metrics'] }], sources: [sa('prometheus', { namespace: 'monitoring' })] };
    const r = onlyResource(parse('TrafficTarget', spec, 'access.smi-spec.io/v1alpha3'));
    assert.deepEqual(r.spec, spec);
  });
  it('IdentityBinding exists only in v1alpha4', () => {
    assertHasError(parse('IdentityBinding', { schemes: { serviceAccount: 'a' } }, 'access.smi-spec.io/v1alpha3'), { code: 'WEFT_E_API_VERSION', path: 'apiVersion', message: /access\.smi-spec\.io\/v1alpha4, got "access\.smi-spec\.io\/v1alpha3"/ });
  });
  it('an unknown SMI version is refused', () => {
    assertHasError(parse('HTTPRouteGroup', group({ name: 'm', methods: ['GET'] }), 'specs.smi-spec.io/v1'), { code: 'WEFT_E_API_VERSION', path: 'apiVersion', message: /specs\.smi-spec\.io\/v1alpha4, specs\.smi-spec\.io\/v1alpha3/ } );
  });
  it('a TCPRoute of Gateway API (another group) is not ours: skipped', () => {
    const r = parse('TCPRoute', { parentRefs: [] }, 'gateway.networking.k8s.io/v1alpha2');
    assert.ok(r.ok);
    assert.deepEqual(r.skipped.map((s) => s.kind), ['TCPRoute']);
  });
  it('ib() refs in a v1alpha4 TrafficTarget type-check', () => {
    const r = onlyResource(parse('TrafficTarget', target({ destination: ib('api'), sources: [ib('web')] })));
    assert.deepEqual(r.spec, { destination: { kind: 'IdentityBinding', name: 'api' }, rules: [{ kind: 'HTTPRouteGroup', name: 'routes' }], sources: [{ kind: 'IdentityBinding', name: 'web' }] });
  });
});
