import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VirtualService } from '../../src/config/types.js';
import { assertHasError, errorsOf, onlyResource, parseSpec, type WantError } from './helpers.js';

const dest = (host = 'reviews', extra: Record<string, unknown> = {}) => ({ destination: { host, ...extra } });
/** A VirtualService spec with one HTTP route made of `route` (merged over a default route). */
const vs = (route: Record<string, unknown>, top: Record<string, unknown> = {}) => ({
  hosts: ['reviews'],
  http: [{ route: [dest('reviews', { subset: 'v1' })], ...route }],
  ...top,
});

describe('VirtualService: valid specs', () => {
  const cases: Array<{ name: string; spec: unknown; want: (v: VirtualService) => void }> = [
    {
      name: 'minimal route; gateways default to []',
      spec: vs({}),
      want: (v) => {
        assert.deepEqual(v.spec.gateways, []);
        assert.deepEqual(v.spec.http[0].route, [{ destination: { host: 'reviews', subset: 'v1' } }]);
      },
    },
    {
      name: 'weighted split with ports',
      spec: vs({ route: [{ ...dest('reviews', { subset: 'v1', port: { number: 9080 } }), weight: 90 }, { ...dest('reviews', { subset: 'v2' }), weight: 10 }] }),
      want: (v) => {
        assert.deepEqual(v.spec.http[0].route?.map((r) => r.weight), [90, 10]);
        assert.deepEqual(v.spec.http[0].route?.[0].destination.port, { number: 9080 });
      },
    },
    {
      name: 'weights are relative (Istio no longer requires 100)',
      spec: vs({ route: [{ ...dest(), weight: 1 }, { ...dest('ratings'), weight: 3 }] }),
      want: (v) => assert.equal(v.spec.http[0].route?.length, 2),
    },
    {
      name: 'durations become milliseconds',
      spec: vs({ timeout: '1.5s', retries: { attempts: 3, perTryTimeout: '500ms', retryOn: '5xx,connect-failure,503' }, fault: { delay: { fixedDelay: '2m', percentage: { value: 12.5 } } } }),
      want: (v) => {
        const r = v.spec.http[0];
        assert.equal(r.timeoutMs, 1500);
        assert.deepEqual(r.retries, { attempts: 3, perTryTimeoutMs: 500, retryOn: '5xx,connect-failure,503' });
        assert.deepEqual(r.fault?.delay, { fixedDelayMs: 120_000, percentage: { value: 12.5 } });
      },
    },
    {
      name: 'legacy delay percent becomes percentage',
      spec: vs({ fault: { delay: { fixedDelay: '1h', percent: 40 } } }),
      want: (v) => assert.deepEqual(v.spec.http[0].fault?.delay, { fixedDelayMs: 3_600_000, percentage: { value: 40 } }),
    },
    {
      name: 'matches: string matches, header presence, query params, port, labels',
      spec: vs({
        match: [
          {
            name: 'm',
            uri: { prefix: '/api' },
            method: { exact: 'GET' },
            authority: { regex: '(?i)^reviews(:\\d+)?$' },
            headers: { 'end-user': { exact: 'jason' }, 'x-debug': {} },
            withoutHeaders: { 'x-skip': { prefix: 'y' } },
            queryParams: { v: { regex: '^[0-9]+$' } },
            port: 9080,
            sourceLabels: { app: 'productpage', version: 'v1' },
            sourceNamespace: 'default',
            ignoreUriCase: true,
          },
        ],
      }),
      want: (v) => {
        const m = v.spec.http[0].match?.[0];
        assert.deepEqual(m?.uri, { prefix: '/api' });
        assert.deepEqual(m?.headers, { 'end-user': { exact: 'jason' }, 'x-debug': { present: true } });
        assert.deepEqual(m?.queryParams, { v: { regex: '^[0-9]+$' } });
        assert.equal(m?.port, 9080);
        assert.equal(m?.ignoreUriCase, true);
      },
    },
    {
      name: 'redirect instead of route',
      spec: { hosts: ['reviews'], http: [{ redirect: { uri: '/v2', authority: 'new', redirectCode: 301 } }] },
      want: (v) => assert.deepEqual(v.spec.http[0].redirect, { uri: '/v2', authority: 'new', redirectCode: 301 }),
    },
    {
      name: 'directResponse with a string body and with base64 bytes',
      spec: { hosts: ['reviews'], http: [{ directResponse: { status: 503, body: { string: 'down' } } }, { directResponse: { status: 200, body: { bytes: 'aGk=' } } }] },
      want: (v) => {
        assert.deepEqual(v.spec.http[0].directResponse, { status: 503, body: 'down' });
        assert.deepEqual(v.spec.http[1].directResponse, { status: 200, body: 'hi' });
      },
    },
    {
      name: 'rewrite and header operations',
      spec: vs({ rewrite: { uri: '/' }, headers: { request: { set: { 'x-a': '1' }, add: { 'x-b': '2' }, remove: ['x-c'] }, response: { remove: ['server'] } } }),
      want: (v) => {
        assert.deepEqual(v.spec.http[0].rewrite, { uri: '/' });
        assert.deepEqual(v.spec.http[0].headers?.request, { set: { 'x-a': '1' }, add: { 'x-b': '2' }, remove: ['x-c'] });
      },
    },
    {
      name: 'wildcard hosts with a gateway; tcp routes kept raw',
      spec: { hosts: ['*'], gateways: ['istio-system/ingress'], tcp: [{ route: [dest('db')] }] },
      want: (v) => {
        assert.deepEqual(v.spec.gateways, ['istio-system/ingress']);
        assert.deepEqual(v.spec.http, []);
        assert.equal(v.spec.tcp?.length, 1);
      },
    },
    {
      name: 'accepted but unused Istio fields (mirror, corsPolicy)',
      spec: vs({ mirror: { host: 'shadow' }, mirrorPercentage: { value: 10 }, corsPolicy: { allowOrigins: [{ exact: 'https://x' }] } }),
      want: (v) => assert.equal(v.spec.http.length, 1),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = onlyResource(parseSpec('VirtualService', c.spec));
      assert.equal(r.kind, 'VirtualService');
      c.want(r as VirtualService);
    });
  }
});

describe('VirtualService: invalid specs', () => {
  const cases: Array<{ name: string; spec: unknown; error: WantError }> = [
    { name: 'hosts missing', spec: { http: vs({}).http }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.hosts', message: /required/ } },
    { name: 'hosts empty', spec: vs({}, { hosts: [] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.hosts', message: /at least one/ } },
    { name: 'host not a string', spec: vs({}, { hosts: [42] }), error: { code: 'WEFT_E_TYPE', path: 'spec.hosts[0]', message: /must be a string, got 42/ } },
    { name: 'uppercase host', spec: vs({}, { hosts: ['Reviews'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.hosts[0]', message: /invalid host/ } },
    { name: '"*" bound to the mesh', spec: vs({}, { hosts: ['*'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.hosts[0]', message: /not allowed .* mesh/ } },
    { name: 'overlapping hosts', spec: vs({}, { hosts: ['*.example.com', 'a.example.com'] }), error: { code: 'WEFT_E_DUPLICATE_VALUE', path: 'spec.hosts[1]', message: /duplicate hosts/ } },
    { name: 'no routes at all', spec: { hosts: ['reviews'] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http', message: /http, tcp or tls/ } },
    { name: 'unknown spec field', spec: vs({}, { htpp: [] }), error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.htpp', message: /did you mean "http"/ } },
    { name: 'unknown route field', spec: vs({ retry: {} }), error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.http[0].retry', message: /did you mean "retries"/ } },
    { name: 'weight not an integer', spec: vs({ route: [{ ...dest(), weight: 50 }, { ...dest('b'), weight: 'abc' }] }), error: { code: 'WEFT_E_TYPE', path: 'spec.http[0].route[1].weight', message: /must be an integer >= 0, got "abc"/ } },
    { name: 'fractional weight', spec: vs({ route: [{ ...dest(), weight: 50.5 }, { ...dest('b'), weight: 49.5 }] }), error: { code: 'WEFT_E_TYPE', path: 'spec.http[0].route[0].weight', message: /integer/ } },
    { name: 'negative weight', spec: vs({ route: [{ ...dest(), weight: -10 }, { ...dest('b'), weight: 110 }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].route[0].weight', message: /got -10/ } },
    { name: 'weights total 0', spec: vs({ route: [{ ...dest(), weight: 0 }, { ...dest('b'), weight: 0 }] }), error: { code: 'WEFT_E_WEIGHTS', path: 'spec.http[0].route', message: /total destination weight is 0/ } },
    { name: 'split without weights', spec: vs({ route: [dest(), dest('b')] }), error: { code: 'WEFT_E_WEIGHTS', path: 'spec.http[0].route', message: /set weights/ } },
    { name: 'destination host missing', spec: vs({ route: [{ destination: { subset: 'v1' } }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0].route[0].destination.host', message: /required/ } },
    { name: 'destination host empty', spec: vs({ route: [{ destination: { host: '' } }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0].route[0].destination.host', message: /empty/ } },
    { name: 'destination host "*"', spec: vs({ route: [dest('*')] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].route[0].destination.host', message: /cannot be "\*"/ } },
    { name: 'destination missing', spec: vs({ route: [{ weight: 100 }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0].route[0].destination', message: /required/ } },
    { name: 'bad subset name', spec: vs({ route: [dest('reviews', { subset: 'V_1' })] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].route[0].destination.subset', message: /invalid subset/ } },
    { name: 'port out of range', spec: vs({ route: [dest('reviews', { port: { number: 70000 } })] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].route[0].destination.port.number', message: /1\.\.65535, got 70000/ } },
    { name: 'no action', spec: { hosts: ['reviews'], http: [{ timeout: '1s' }] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0]', message: /one of route, redirect or directResponse/ } },
    { name: 'route and redirect', spec: vs({ redirect: { uri: '/x' } }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.http[0].redirect', message: /cannot be combined with route/ } },
    { name: 'redirect without target', spec: { hosts: ['reviews'], http: [{ redirect: { redirectCode: 302 } }] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0].redirect', message: /uri, authority, scheme or port/ } },
    { name: 'redirect code not 3xx', spec: { hosts: ['reviews'], http: [{ redirect: { uri: '/', redirectCode: 200 } }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].redirect.redirectCode', message: /300\.\.399/ } },
    { name: 'direct response status out of range', spec: { hosts: ['reviews'], http: [{ directResponse: { status: 99 } }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].directResponse.status', message: /200\.\.599/ } },
    { name: 'timeout not a string', spec: vs({ timeout: 10 }), error: { code: 'WEFT_E_TYPE', path: 'spec.http[0].timeout', message: /duration string/ } },
    { name: 'timeout malformed', spec: vs({ timeout: '10 seconds' }), error: { code: 'WEFT_E_DURATION', path: 'spec.http[0].timeout', message: /must be a duration/ } },
    { name: 'timeout below 1ms', spec: vs({ timeout: '100us' }), error: { code: 'WEFT_E_DURATION', path: 'spec.http[0].timeout', message: /at least 1ms/ } },
    { name: 'negative attempts', spec: vs({ retries: { attempts: -1 } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].retries.attempts', message: />= 0/ } },
    { name: 'bad retryOn', spec: vs({ retries: { attempts: 2, retryOn: '5xx,sometimes' } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].retries.retryOn', message: /"sometimes" is not a valid retryOn/ } },
    { name: 'retry settings with 0 attempts', spec: vs({ retries: { attempts: 0, perTryTimeout: '1s' } }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.http[0].retries.attempts', message: /attempts is 0/ } },
    { name: 'perTryTimeout malformed', spec: vs({ retries: { attempts: 1, perTryTimeout: '1x' } }), error: { code: 'WEFT_E_DURATION', path: 'spec.http[0].retries.perTryTimeout', message: /"1x"/ } },
    { name: 'abort status out of range', spec: vs({ fault: { abort: { httpStatus: 700, percentage: { value: 1 } } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].fault.abort.httpStatus', message: /200\.\.599, got 700/ } },
    { name: 'abort without status', spec: vs({ fault: { abort: { percentage: { value: 1 } } } }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0].fault.abort.httpStatus', message: /required/ } },
    { name: 'percentage above 100', spec: vs({ fault: { abort: { httpStatus: 503, percentage: { value: 150 } } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].fault.abort.percentage.value', message: /0\.\.100/ } },
    { name: 'empty fault', spec: vs({ fault: {} }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0].fault', message: /delay and\/or an abort/ } },
    { name: 'delay without fixedDelay', spec: vs({ fault: { delay: { percentage: { value: 5 } } } }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0].fault.delay.fixedDelay', message: /required/ } },
    { name: 'grpc abort with an unknown status name', spec: vs({ fault: { abort: { grpcStatus: 'BROKEN' } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].fault.abort.grpcStatus', message: /must be a gRPC status name/ } },
    { name: 'http2Error abort unsupported', spec: vs({ fault: { abort: { http2Error: 'REFUSED_STREAM' } } }), error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.http[0].fault.abort.http2Error', message: /not supported/ } },
    { name: 'mirror and mirrors together', spec: vs({ mirror: { host: 'm' }, mirrors: [{ destination: { host: 'n' } }] }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.http[0].mirrors', message: /cannot be combined with mirror/ } },
    { name: 'mirrorPercentage without mirror', spec: vs({ mirrorPercentage: { value: 5 } }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0].mirrorPercentage', message: /needs mirror/ } },
    { name: 'delegate unsupported', spec: { hosts: ['reviews'], http: [{ delegate: { name: 'x' } }] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.http[0].delegate', message: /delegation/ } },
    { name: 'string match with two kinds', spec: vs({ match: [{ uri: { exact: '/a', prefix: '/b' } }] }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.http[0].match[0].uri', message: /exactly one of exact, prefix, regex/ } },
    { name: 'empty uri match', spec: vs({ match: [{ uri: {} }] }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.http[0].match[0].uri', message: /exactly one/ } },
    { name: 'regex that does not compile', spec: vs({ match: [{ uri: { regex: '/a(b' } }] }), error: { code: 'WEFT_E_REGEX', path: 'spec.http[0].match[0].uri.regex', message: /invalid regular expression/ } },
    { name: 'regex with look-ahead (not RE2)', spec: vs({ match: [{ headers: { cookie: { regex: 'a(?=b)' } } }] }), error: { code: 'WEFT_E_REGEX', path: 'spec.http[0].match[0].headers.cookie.regex', message: /RE2/ } },
    { name: 'bad header name', spec: vs({ match: [{ headers: { 'bad header': { exact: 'x' } } }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].match[0].headers["bad header"]', message: /not a valid header name/ } },
    { name: 'null header match', spec: vs({ match: [{ headers: { 'x-a': null } }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.http[0].match[0].headers.x-a', message: /cannot be null/ } },
    { name: 'match port out of range', spec: vs({ match: [{ port: 0 }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].match[0].port', message: /1\.\.65535/ } },
    { name: 'bad source label', spec: vs({ match: [{ sourceLabels: { app: 'a b' } }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].match[0].sourceLabels.app', message: /invalid label value/ } },
    { name: 'ignoreUriCase not a bool', spec: vs({ match: [{ ignoreUriCase: 'yes' }] }), error: { code: 'WEFT_E_TYPE', path: 'spec.http[0].match[0].ignoreUriCase', message: /true or false/ } },
    { name: 'CR/LF in a header value', spec: vs({ headers: { request: { set: { 'x-a': 'v\r\nx-b: 1' } } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].headers.request.set.x-a', message: /control character/ } },
    { name: 'modifying a pseudo-header', spec: vs({ headers: { response: { set: { ':status': '200' } } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.http[0].headers.response.set[":status"]', message: /pseudo-header/ } },
    { name: 'bad gateway name', spec: vs({}, { gateways: ['ns/Bad_Name'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.gateways[0]', message: /invalid gateway name/ } },
    { name: 'http not a list', spec: { hosts: ['reviews'], http: { route: [] } }, error: { code: 'WEFT_E_TYPE', path: 'spec.http', message: /must be a list, got an object/ } },
    { name: 'spec not an object', spec: 'hello', error: { code: 'WEFT_E_TYPE', path: 'spec', message: /must be an object/ } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseSpec('VirtualService', c.spec);
      assertHasError(r, c.error);
      assert.equal(r.resources.length, 0, 'an invalid resource is not returned');
      for (const e of errorsOf(r)) assert.equal(e.resource, 'VirtualService default/x');
    });
  }
});

describe('VirtualService: error collection', () => {
  it('reports every problem of a document, not only the first', () => {
    const r = parseSpec('VirtualService', vs({ timeout: 'soon', route: [{ ...dest(), weight: 'abc' }, { ...dest(''), weight: 1 }] }));
    const errors = errorsOf(r);
    assert.deepEqual(
      errors.map((e) => `${e.code} ${e.path}`).sort(),
      ['WEFT_E_DURATION spec.http[0].timeout', 'WEFT_E_REQUIRED_FIELD spec.http[0].route[1].destination.host', 'WEFT_E_TYPE spec.http[0].route[0].weight'],
    );
  });
});
