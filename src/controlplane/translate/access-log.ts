// A direction's access-log policies (telemetry-policy.ts) → Envoy access_log entries for its HCMs and
// tcp_proxies, as Istio builds them (pilot/pkg/model/telemetry_logging.go): a file provider becomes
// envoy.access_loggers.file with Istio's default text format (EnvoyTextLogFormat) or its default JSON
// fields (EnvoyJSONLogFormatIstio) unless the provider names its own; an OpenTelemetry provider
// becomes envoy.access_loggers.open_telemetry to the collector's cluster, the text format as the
// record's body and JSON labels as its attributes; a Telemetry filter expression becomes a CEL
// ExpressionFilter. Both directions and both terminals log alike.
import { toStruct, type Json } from '../../api/envoy.js';
import type { AccessLogFormat, AccessLogPolicy, DirectionTelemetry } from '../../config/telemetry-types.js';

const FILE_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const OTEL_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig';
const CEL_FILTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter';
const REQ_WITHOUT_QUERY_TYPE_URL = 'type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery';

/** Istio's default text format (Istio 1.9 onwards, with UPSTREAM_CLUSTER_RAW since 1.18). */
export const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Istio's default JSON fields (EnvoyJSONLogFormatIstio). */
export const ISTIO_JSON_FORMAT: Readonly<Record<string, string>> = {
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER_RAW%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
};

/** Envoy access_log entries for a direction's policies, in their order. */
export function accessLogs(policies: readonly AccessLogPolicy[]): Record<string, unknown>[] {
  return policies.map((p) => ({
    name: p.provider.kind === 'file' ? 'envoy.access_loggers.file' : 'envoy.access_loggers.open_telemetry',
    ...(p.filterExpression ? { filter: celFilter(p.filterExpression) } : {}),
    typed_config: p.provider.kind === 'file' ? fileLog(p.provider.path, p.provider.format) : otelLog(p.provider),
  }));
}

/** `{ access_log }` for an HCM's or tcp_proxy's typed_config (nothing when the direction logs nothing):
 * spread it into the filter's config. */
export function accessLogFields(t: DirectionTelemetry | undefined): { access_log?: Record<string, unknown>[] } {
  return t && t.accessLogs.length > 0 ? { access_log: accessLogs(t.accessLogs) } : {};
}

function celFilter(expression: string): Record<string, unknown> {
  return { extension_filter: { name: 'envoy.access_loggers.extension_filters.cel', typed_config: { '@type': CEL_FILTER_TYPE_URL, expression } } };
}

/** Istio appends a newline to a text format that lacks one. */
const textOf = (f: AccessLogFormat): string => {
  const t = f.type === 'text' && f.text ? f.text : ISTIO_TEXT_FORMAT;
  return t.endsWith('\n') ? t : `${t}\n`;
};

const labelsOf = (f: AccessLogFormat): Record<string, Json> => (f.type === 'json' && f.labels && Object.keys(f.labels).length > 0 ? f.labels : { ...ISTIO_JSON_FORMAT });

function fileLog(path: string, format: AccessLogFormat): Record<string, unknown> {
  const usesReqWithoutQuery = format.type === 'text' ? textOf(format).includes('%REQ_WITHOUT_QUERY(') : Object.values(labelsOf(format)).some((v) => String(v).includes('%REQ_WITHOUT_QUERY('));
  const logFormat = format.type === 'text' ? { text_format_source: { inline_string: textOf(format) } } : { json_format: toStruct(labelsOf(format)) };
  return {
    '@type': FILE_ACCESS_LOG_TYPE_URL,
    path,
    log_format: { ...logFormat, ...(usesReqWithoutQuery ? { formatters: [{ name: 'envoy.formatter.req_without_query', typed_config: { '@type': REQ_WITHOUT_QUERY_TYPE_URL } }] } : {}) },
  };
}

function otelLog(p: Extract<AccessLogPolicy['provider'], { kind: 'otel' }>): Record<string, unknown> {
  const labels = p.format.type === 'json' && p.format.labels ? p.format.labels : {};
  return {
    '@type': OTEL_ACCESS_LOG_TYPE_URL,
    common_config: {
      log_name: p.logName || 'otel_envoy_accesslog',
      grpc_service: { envoy_grpc: { cluster_name: p.endpoint.cluster, authority: p.endpoint.host } },
      transport_api_version: 'V3',
    },
    body: { string_value: textOf(p.format.type === 'text' ? p.format : { type: 'text' }) },
    ...(Object.keys(labels).length > 0 ? { attributes: { values: Object.entries(labels).map(([key, v]) => ({ key, value: { string_value: String(v) } })) } } : {}),
  };
}
