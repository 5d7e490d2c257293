// Access-log formats: Envoy command operators compiled once, rendered as text and as typed JSON, and
// every refusal a NACK with the field path and the operator named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toStruct } from '../../src/api/envoy.js';
import { StreamInfo } from '../../src/proxy/http/stream-info.js';
import type { ConnectionInfo } from '../../src/proxy/listener/connection-info.js';
import { accessLogs } from '../../src/proxy/telemetry/access-log/config.js';
import { ENVOY_DEFAULT_FORMAT, jsonFormatter, substitutionFormat, textFormatter } from '../../src/proxy/telemetry/access-log/formatter.js';
import { TcpLogInput, type LogInput } from '../../src/proxy/telemetry/access-log/log-input.js';
import { Problems } from '../../src/proxy/xds/validate-common.js';

/** 2026-12-02T05:06:07.089Z */
const START = Date.UTC(2026, 11, 2, 5, 6, 7, 89);

function record(): StreamInfo {
  const info = new StreamInfo('HTTP/1.1');
  (info as { startTime: number }).startTime = START;
  info.responseCode = 503;
  info.addFlag('FI');
  info.details = 'fault_filter_abort';
  info.bytesReceived = 12;
  info.bytesSent = 18;
  info.durationMs = 7.9;
  info.firstUpstreamByteMs = 3.2;
  info.upstreamHost = '127.0.0.1:9080';
  info.clusterName = 'outbound|9080||reviews.default.svc.cluster.local';
  info.upstreamLocalAddress = '127.0.0.1:41000';
  info.routeName = 'default';
  info.attempts = 2;
  info.upstreamPeerUriSans = ['spiffe://cluster.local/ns/default/sa/reviews'];
  return info;
}

const connection: ConnectionInfo = {
  remoteAddress: '::ffff:127.0.0.1',
  remotePort: 50000,
  localAddress: '127.0.0.1',
  localPort: 15006,
  tls: { sni: 'outbound_.9080_._.reviews', peerUriSans: ['spiffe://cluster.local/ns/default/sa/productpage'], peerDnsSans: [], peerSubject: '', localUriSan: 'spiffe://cluster.local/ns/default/sa/reviews', version: 'TLSv1.3' },
};

function httpInput(info = record()): LogInput {
  const req: Record<string, string> = { ':method': 'GET', ':path': '/reviews/1?x=1', ':authority': 'reviews:9080', 'user-agent': 'curl/8', 'x-request-id': 'abc-123' };
  const res: Record<string, string> = { 'x-envoy-upstream-service-time': '3', 'content-type': 'text/plain' };
  const trailers: Record<string, string> = { 'grpc-status': '0' };
  return { info, connection, header: (n) => req[n], responseHeader: (n) => res[n], responseTrailer: (n) => trailers[n] };
}

function text(format: string, input: LogInput = httpInput()): string {
  const p = new Problems();
  const f = textFormatter(format, 'log_format', p);
  assert.deepEqual(p.list, []);
  return f.format(input);
}

const cases: Array<{ name: string; format: string; want: string }> = [
  { name: 'START_TIME default is Envoy\'s (UTC, ms)', format: '%START_TIME%', want: '2026-12-02T05:06:07.089Z' },
  { name: 'START_TIME with a format', format: '%START_TIME(%Y/%m/%d %H:%M:%S.%3f %s)%', want: '2026/12/02 05:06:07.089 1796187967' },
  { name: 'START_TIME %E6S', format: '%START_TIME(%E6S)%', want: '07.089000' },
  { name: 'REQ with alternative and truncation', format: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %REQ(USER-AGENT):4%', want: '/reviews/1?x=1 curl' },
  { name: 'REQ_WITHOUT_QUERY', format: '%REQ_WITHOUT_QUERY(:PATH)%', want: '/reviews/1' },
  { name: 'RESP and TRAILER', format: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %TRAILER(GRPC-STATUS)% %RESP(X-NONE)%', want: '3 0 -' },
  { name: 'codes, flags, details', format: '%PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%', want: 'HTTP/1.1 503 FI fault_filter_abort -' },
  { name: 'bytes and durations (ms, truncated)', format: '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESPONSE_DURATION%', want: '12 18 7 3' },
  { name: 'upstream', format: '%UPSTREAM_HOST% %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %UPSTREAM_TRANSPORT_FAILURE_REASON% %UPSTREAM_PEER_URI_SAN% %UPSTREAM_REQUEST_ATTEMPT_COUNT%', want: '127.0.0.1:9080 outbound|9080||reviews.default.svc.cluster.local 127.0.0.1:41000 - spiffe://cluster.local/ns/default/sa/reviews 2' },
  { name: 'downstream addresses (mapped IPv4 printed plain)', format: '%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_ADDRESS%', want: '127.0.0.1:50000 127.0.0.1 127.0.0.1:15006' },
  { name: 'downstream identities, SNI, route', format: '%DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_LOCAL_URI_SAN% %REQUESTED_SERVER_NAME% %ROUTE_NAME%', want: 'spiffe://cluster.local/ns/default/sa/productpage spiffe://cluster.local/ns/default/sa/reviews outbound_.9080_._.reviews default' },
  { name: '%% is a literal percent', format: '100%% %RESPONSE_CODE%', want: '100% 503' },
];

for (const c of cases) test(`text: ${c.name}`, () => assert.equal(text(c.format), c.want));

test("Envoy's default format renders a whole line", () => {
  assert.equal(text(ENVOY_DEFAULT_FORMAT), '[2026-12-02T05:06:07.089Z] "GET /reviews/1?x=1 HTTP/1.1" 503 FI 12 18 7 3 "-" "curl/8" "abc-123" "reviews:9080" "127.0.0.1:9080"\n');
});

test('a TCP connection: no request, protocol and code as Envoy prints them', () => {
  const info = new StreamInfo(undefined);
  info.bytesReceived = 5;
  info.bytesSent = 7;
  info.clusterName = 'inbound|9000||';
  assert.equal(text('%PROTOCOL% %REQ(:METHOD)% %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %UPSTREAM_CLUSTER%', new TcpLogInput(info, connection)), '- - 0 - 5 7 inbound|9000||');
});

test('JSON: single operators keep their type, missing values are null, templates are strings', () => {
  const p = new Problems();
  const f = jsonFormatter({ code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%', reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%', line: '%REQ(:METHOD)% %REQ(:PATH)%', nested: { bytes: '%BYTES_SENT%' }, fixed: 3 }, 'json_format', p);
  assert.deepEqual(p.list, []);
  const line = f.format(httpInput());
  assert.ok(line.endsWith('}\n'));
  assert.deepEqual(JSON.parse(line), { code: 503, flags: 'FI', reason: null, line: 'GET /reviews/1?x=1', nested: { bytes: 18 }, fixed: 3 });
});

test('JSON with omit_empty_values drops missing fields', () => {
  const p = new Problems();
  const f = substitutionFormat({ json_format: toStruct({ code: '%RESPONSE_CODE%', reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%' }), omit_empty_values: true }, 'log_format', p);
  assert.deepEqual(p.list, []);
  assert.deepEqual(JSON.parse(f.format(httpInput())), { code: 503 });
});

const refusals: Array<{ name: string; config: unknown; error: RegExp }> = [
  { name: 'unknown operator', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: '/tmp/x', log_format: { text_format_source: { inline_string: '%NOPE%' } } } }, error: /^access_log\[0\]\.typed_config\.log_format\.text_format_source\.inline_string: unknown command operator %NOPE%$/ },
  { name: 'a lone percent', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: '/tmp/x', format: 'x % y' } }, error: /^access_log\[0\]\.typed_config\.format: no valid command operator at position 2/ },
  { name: 'REQ without a header', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { json_format: toStruct({ a: '%REQ%' }) } } }, error: /^access_log\[0\]\.typed_config\.log_format\.json_format\.a: %REQ%: a header name is required/ },
  { name: 'an argument where none is taken', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format_source: { inline_string: '%DURATION(x)%' } } } }, error: /%DURATION% takes no argument/ },
  { name: 'an unsupported START_TIME specifier', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format_source: { inline_string: '%START_TIME(%Q)%' } } } }, error: /START_TIME format "%Q": %Q is not supported/ },
  { name: 'a file without a path', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog' } }, error: /^access_log\[0\]\.typed_config\.path: is required$/ },
  { name: 'a text format from a file', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format_source: { filename: '/etc/fmt' } } } }, error: /text_format_source: only inline_string is supported/ },
  { name: 'an unknown logger', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig' } }, error: /^access_log\[0\]\.typed_config: unsupported access logger type type\.googleapis\.com\/envoy\.extensions\.access_loggers\.grpc\.v3\.HttpGrpcAccessLogConfig/ },
  { name: 'a formatter extension other than req_without_query', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format_source: { inline_string: 'x' }, formatters: [{ name: 'm', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.formatter.metadata.v3.Metadata' } }] } } }, error: /log_format\.formatters\[0\]: formatter extension .*metadata.* is not supported/ },
  {
    name: 'an OpenTelemetry logger over google_grpc',
    config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig', common_config: { log_name: 'l', grpc_service: { google_grpc: { target_uri: 'x:4317' } } } } },
    error: /^access_log\[0\]\.typed_config\.common_config\.grpc_service\.google_grpc: not supported \(use envoy_grpc with a cluster\)$/,
  },
  {
    name: 'an OpenTelemetry logger without a log name',
    config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig', common_config: { grpc_service: { envoy_grpc: { cluster_name: 'c' } } } } },
    error: /^access_log\[0\]\.typed_config\.common_config\.log_name: is required$/,
  },
  {
    name: 'an OpenTelemetry body that is not a string',
    config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig', common_config: { log_name: 'l', grpc_service: { envoy_grpc: { cluster_name: 'c' } } }, body: { int_value: 3 } } },
    error: /^access_log\[0\]\.typed_config\.body: only string_value is supported/,
  },
  {
    name: 'an OpenTelemetry attribute with an unknown operator',
    config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig', common_config: { log_name: 'l', grpc_service: { envoy_grpc: { cluster_name: 'c' } } }, attributes: { values: [{ key: 'k', value: { string_value: '%WHAT%' } }] } } },
    error: /^access_log\[0\]\.typed_config\.attributes\.values\[0\]\.value\.string_value: unknown command operator %WHAT%$/,
  },
  {
    name: 'a field of AccessLog the proxy does not know',
    config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' }, config: {} },
    error: /^access_log\[0\]\.config: not supported$/,
  },
  { name: 'content_type', config: { typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: { text_format_source: { inline_string: 'x' }, content_type: 'text/plain' } } }, error: /log_format\.content_type: not supported/ },
];

for (const c of refusals) {
  test(`NACK: ${c.name}`, () => {
    const p = new Problems();
    accessLogs([c.config], 'access_log', p);
    assert.ok(p.list.some((m) => c.error.test(m)), `problems: ${JSON.stringify(p.list)}`);
  });
}

test('a logger without a format uses Envoy\'s default; stdout is /dev/stdout', () => {
  const p = new Problems();
  const [cfg] = accessLogs([{ name: 'envoy.access_loggers.stdout', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog' } }], 'access_log', p);
  assert.deepEqual(p.list, []);
  assert.equal(cfg.sink.kind, 'file');
  assert.ok(cfg.sink.kind === 'file' && cfg.sink.path === '/dev/stdout');
  assert.ok(cfg.sink.kind === 'file' && cfg.sink.format.format(httpInput()).startsWith('[2026-12-02T05:06:07.089Z] "GET /reviews/1?x=1 HTTP/1.1" 503 FI'));
});
