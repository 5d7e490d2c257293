// Access-log filters: Envoy's AccessLogFilter kinds and the CEL ExpressionFilter subset, compiled
// once; every refusal a NACK with its field path naming what is outside the subset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamInfo } from '../../src/proxy/http/stream-info.js';
import type { ConnectionInfo } from '../../src/proxy/listener/connection-info.js';
import { compileCel } from '../../src/proxy/telemetry/access-log/cel.js';
import { accessLogFilter, CEL_FILTER_TYPE_URL } from '../../src/proxy/telemetry/access-log/filters.js';
import type { LogInput } from '../../src/proxy/telemetry/access-log/log-input.js';
import { Problems } from '../../src/proxy/xds/validate-common.js';

interface Req {
  code?: number;
  flags?: string[];
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  responseHeaders?: Record<string, string>;
  mtls?: boolean;
  durationMs?: number;
  grpcStatus?: string;
}

function input(r: Req): LogInput {
  const info = new StreamInfo('HTTP/1.1');
  info.responseCode = r.code ?? 200;
  for (const f of r.flags ?? []) info.addFlag(f as 'FI');
  info.details = r.code === 503 ? 'fault_filter_abort' : 'via_upstream';
  info.durationMs = r.durationMs ?? 5;
  info.upstreamHost = '127.0.0.1:9080';
  info.grpcStatus = r.grpcStatus ?? '';
  const req: Record<string, string> = { ':method': r.method ?? 'GET', ':path': r.path ?? '/api/v1?q=2', ':authority': 'reviews:9080', ...r.headers };
  const res = r.responseHeaders ?? {};
  const connection: ConnectionInfo = {
    remoteAddress: '127.0.0.1',
    remotePort: 40000,
    localAddress: '127.0.0.1',
    localPort: 15006,
    ...(r.mtls ? { tls: { peerUriSans: ['spiffe://cluster.local/ns/default/sa/productpage'], peerDnsSans: [], peerSubject: '', localUriSan: '' } } : {}),
  };
  return { info, connection, header: (n) => req[n], responseHeader: (n) => res[n], responseTrailer: () => undefined };
}

const cel: Array<{ expr: string; req: Req; want: boolean }> = [
  { expr: 'response.code >= 400', req: { code: 503 }, want: true },
  { expr: 'response.code >= 400', req: { code: 200 }, want: false },
  { expr: 'response.code == 200 && request.method == "GET"', req: {}, want: true },
  { expr: "response.code != 200 || request.method == 'POST'", req: { method: 'POST' }, want: true },
  { expr: '!(response.code < 500)', req: { code: 503 }, want: true },
  { expr: 'response.code in [500, 503]', req: { code: 503 }, want: true },
  { expr: 'response.code in [500, 502]', req: { code: 503 }, want: false },
  { expr: "request.headers['x-debug'] == '1'", req: { headers: { 'x-debug': '1' } }, want: true },
  { expr: "request.headers['X-Debug'] == '1'", req: { headers: { 'x-debug': '1' } }, want: true },
  // A missing header is a CEL error: the expression does not log.
  { expr: "request.headers['x-debug'] == '1'", req: {}, want: false },
  { expr: "request.headers['x-debug'] != '1'", req: {}, want: false },
  // ...but || absorbs an error when the other side is true.
  { expr: "request.headers['x-debug'] == '1' || response.code >= 500", req: { code: 503 }, want: true },
  { expr: 'has(request.headers.x_user) || !has(request.headers.x_debug)', req: {}, want: true },
  { expr: "'x-debug' in request.headers", req: { headers: { 'x-debug': '' } }, want: true },
  { expr: "response.headers['content-type'].startsWith('application/json')", req: { responseHeaders: { 'content-type': 'application/json; charset=utf-8' } }, want: true },
  { expr: "request.path.startsWith('/api/') && request.url_path.endsWith('v1')", req: {}, want: true },
  { expr: "request.host.contains('reviews')", req: {}, want: true },
  { expr: "request.path.matches('^/api/v[0-9]+')", req: {}, want: true },
  { expr: 'connection.mtls', req: { mtls: true }, want: true },
  { expr: 'connection.mtls', req: {}, want: false },
  { expr: "upstream.address == '127.0.0.1:9080' && upstream.port == 9080", req: {}, want: true },
  // FI is bit 10 of Envoy's response flags.
  { expr: 'response.flags == 1024', req: { code: 503, flags: ['FI'] }, want: true },
  { expr: 'response.flags != 0', req: {}, want: false },
  { expr: "response.code_details == 'fault_filter_abort'", req: { code: 503 }, want: true },
  { expr: 'response.code >= 500 ? request.method == "GET" : false', req: { code: 503 }, want: true },
  // Mismatched types are an error, not a match.
  { expr: "response.code == '503'", req: { code: 503 }, want: false },
  { expr: 'size(request.path) == 11', req: {}, want: true },
];

for (const c of cel) {
  test(`CEL ${c.expr} → ${c.want}`, () => {
    const f = compileCel(c.expr);
    assert.equal(typeof f, 'function', String(f));
    assert.equal((f as (i: LogInput) => boolean)(input(c.req)), c.want);
  });
}

const celRefusals: Array<{ expr: string; error: RegExp }> = [
  { expr: 'response.status >= 400', error: /attribute response\.status is not supported \(supported: response\.code,/ },
  { expr: 'foo.bar == 1', error: /unknown identifier "foo"/ },
  { expr: 'response.code + 1 > 400', error: /operator \+ is not supported/ },
  { expr: 'response.code >= ', error: /syntax error: unexpected end of expression/ },
  { expr: "request.headers == {}", error: /syntax error|request\.headers is a map/ },
  { expr: 'request == 1', error: /"request" is not a value/ },
  { expr: 'timestamp(request.time) > 0', error: /function timestamp\(\) is not supported/ },
  { expr: 'response.code >= 400 )', error: /syntax error: unexpected "\)" after the expression/ },
];

for (const c of celRefusals) {
  test(`CEL NACK: ${c.expr}`, () => {
    const f = compileCel(c.expr);
    assert.equal(typeof f, 'string');
    assert.match(f as string, c.error);
  });
}

const celFilter = (expression: string) => ({ extension_filter: { name: 'envoy.access_loggers.extension_filters.cel', typed_config: { '@type': CEL_FILTER_TYPE_URL, expression } } });

const filters: Array<{ name: string; filter: Record<string, unknown>; yes: Req; no: Req }> = [
  { name: 'status_code_filter GE', filter: { status_code_filter: { comparison: { op: 'GE', value: { default_value: 400, runtime_key: 'k' } } } }, yes: { code: 404 }, no: { code: 200 } },
  { name: 'duration_filter LE', filter: { duration_filter: { comparison: { op: 'LE', value: { default_value: 10 } } } }, yes: { durationMs: 9.9 }, no: { durationMs: 11 } },
  { name: 'response_flag_filter (listed)', filter: { response_flag_filter: { flags: ['FI', 'UF'] } }, yes: { flags: ['UF'] }, no: { flags: ['UH'] } },
  { name: 'response_flag_filter (any)', filter: { response_flag_filter: {} }, yes: { flags: ['UH'] }, no: {} },
  { name: 'header_filter', filter: { header_filter: { header: { name: 'x-debug', string_match: { exact: 'on' } } } }, yes: { headers: { 'x-debug': 'on' } }, no: {} },
  { name: 'grpc_status_filter', filter: { grpc_status_filter: { statuses: ['UNAVAILABLE'] } }, yes: { grpcStatus: '14' }, no: { grpcStatus: '0' } },
  {
    name: 'and_filter',
    filter: { and_filter: { filters: [{ status_code_filter: { comparison: { op: 'GE', value: { default_value: 500 } } } }, { not_health_check_filter: {} }] } },
    yes: { code: 503 },
    no: { code: 404 },
  },
  {
    name: 'or_filter with a CEL extension filter',
    filter: { or_filter: { filters: [celFilter("request.method == 'POST'"), { response_flag_filter: { flags: ['FI'] } }] } },
    yes: { method: 'POST' },
    no: { method: 'GET' },
  },
  { name: 'CEL extension filter', filter: celFilter('response.code >= 400'), yes: { code: 500 }, no: { code: 204 } },
];

for (const c of filters) {
  test(`filter ${c.name}`, () => {
    const p = new Problems();
    const f = accessLogFilter(c.filter, 'filter', p);
    assert.deepEqual(p.list, []);
    assert.equal(f(input(c.yes)), true);
    assert.equal(f(input(c.no)), false);
  });
}

const filterRefusals: Array<{ name: string; filter: Record<string, unknown>; error: RegExp }> = [
  { name: 'runtime_filter', filter: { runtime_filter: { runtime_key: 'x' } }, error: /^filter\.runtime_filter: runtime_filter is not supported/ },
  { name: 'traceable_filter', filter: { traceable_filter: {} }, error: /^filter\.traceable_filter: traceable_filter is not supported/ },
  { name: 'CEL outside the subset', filter: celFilter('response.size * 2 > 10'), error: /^filter\.extension_filter\.typed_config\.expression: "response\.size \* 2 > 10": operator \* is not supported/ },
  { name: 'an unknown extension filter', filter: { extension_filter: { typed_config: { '@type': 'type.googleapis.com/x.Y' } } }, error: /^filter\.extension_filter\.typed_config: unsupported access log extension filter type\.googleapis\.com\/x\.Y/ },
  { name: 'an unknown response flag', filter: { response_flag_filter: { flags: ['ZZ'] } }, error: /^filter\.response_flag_filter\.flags\[0\]: unknown response flag "ZZ"/ },
  { name: 'an and_filter of one', filter: { and_filter: { filters: [{ not_health_check_filter: {} }] } }, error: /^filter\.and_filter\.filters: needs at least 2 filters/ },
  { name: 'nested refusal keeps its path', filter: { or_filter: { filters: [{ not_health_check_filter: {} }, { runtime_filter: { runtime_key: 'k' } }] } }, error: /^filter\.or_filter\.filters\[1\]\.runtime_filter:/ },
  { name: 'no filter kind', filter: {}, error: /^filter: exactly one filter is required/ },
];

for (const c of filterRefusals) {
  test(`filter NACK: ${c.name}`, () => {
    const p = new Problems();
    accessLogFilter(c.filter, 'filter', p);
    assert.ok(p.list.some((m) => c.error.test(m)), `problems: ${JSON.stringify(p.list)}`);
  });
}
