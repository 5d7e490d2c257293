// envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig → typed config: OTLP
// log records exported over gRPC (common_config.grpc_service.envoy_grpc: a cluster of this proxy) to
// the collector. The body and each attribute are format strings, compiled once (Istio puts its text
// format in the body and its JSON labels in the attributes). filter_state_objects_to_log names
// Envoy filter state (Istio's wasm peer objects) that Weft does not keep: accepted, logs nothing.
// buffer_size_bytes is accepted: the SDK's batch processor batches by count, flushed on the interval.
import { has, join, list, obj, str, type Problems, type Raw } from '../../xds/validate-common.js';
import { durationMs } from '../../xds/validate-common.js';
import { ENVOY_DEFAULT_FORMAT } from './formatter.js';
import { parseFormat, type FormatPart } from './operators.js';

export const OTEL_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig';

/** Envoy's default flush interval of gRPC access logs (1 s). */
const DEFAULT_FLUSH_MS = 1000;

export interface OtelAccessLogConfig {
  kind: 'otel';
  /** The cluster the collector is reached through, and the :authority to call it with. */
  cluster: string;
  authority: string;
  logName: string;
  flushIntervalMs: number;
  /** undefined: no body. */
  body: FormatPart[] | undefined;
  attributes: Array<[string, FormatPart[]]>;
  /** Literal resource attributes (Envoy adds log_name, zone_name, cluster_name, node_name unless disable_builtin_labels). */
  resourceAttributes: Record<string, string>;
  builtinLabels: boolean;
}

const COMMON_FIELDS = new Set(['log_name', 'grpc_service', 'transport_api_version', 'buffer_flush_interval', 'buffer_size_bytes', 'filter_state_objects_to_log']);

export function otelAccessLog(cfg: Raw, path: string, p: Problems): OtelAccessLogConfig {
  for (const k of Object.keys(cfg)) {
    if (!['@type', 'common_config', 'body', 'attributes', 'resource_attributes', 'disable_builtin_labels', 'stat_prefix'].includes(k) && cfg[k] !== undefined && cfg[k] !== null) p.add(join(path, k), 'not supported');
  }
  const common = obj(cfg.common_config);
  const cp = join(path, 'common_config');
  for (const k of Object.keys(common)) if (!COMMON_FIELDS.has(k) && common[k] !== undefined && common[k] !== null) p.add(join(cp, k), 'not supported');
  // Envoy's own stats for this logger would be named by stat_prefix; Weft counts access_logs.otel.* only.
  if (str(cfg.stat_prefix)) p.add(join(path, 'stat_prefix'), 'not supported');
  const api = str(common.transport_api_version) || 'AUTO';
  if (api !== 'V3' && api !== 'AUTO') p.add(join(cp, 'transport_api_version'), `${api} is not supported (V3)`);
  const logName = str(common.log_name);
  if (!logName) p.add(join(cp, 'log_name'), 'is required');
  const grpc = obj(common.grpc_service);
  const envoyGrpc = obj(grpc.envoy_grpc);
  if (has(grpc, 'google_grpc')) p.add(join(cp, 'grpc_service.google_grpc'), 'not supported (use envoy_grpc with a cluster)');
  for (const k of Object.keys(grpc)) if (!['envoy_grpc', 'google_grpc', 'timeout', 'initial_metadata'].includes(k)) p.add(join(cp, `grpc_service.${k}`), 'not supported');
  if (list(grpc.initial_metadata).length > 0) p.add(join(cp, 'grpc_service.initial_metadata'), 'not supported');
  const cluster = str(envoyGrpc.cluster_name);
  if (!cluster && !has(grpc, 'google_grpc')) p.add(join(cp, 'grpc_service.envoy_grpc.cluster_name'), 'is required');
  for (const k of Object.keys(envoyGrpc)) if (k !== 'cluster_name' && k !== 'authority') p.add(join(cp, `grpc_service.envoy_grpc.${k}`), 'not supported');
  const body = has(cfg, 'body') ? anyValueFormat(cfg.body, join(path, 'body'), p) : undefined;
  const attributes: Array<[string, FormatPart[]]> = [];
  list(obj(cfg.attributes).values).forEach((kv, i) => {
    const o = obj(kv);
    const at = `${join(path, 'attributes.values')}[${i}]`;
    const parts = anyValueFormat(o.value, join(at, 'value'), p);
    if (parts) attributes.push([str(o.key), parts]);
  });
  const resourceAttributes: Record<string, string> = {};
  list(obj(cfg.resource_attributes).values).forEach((kv, i) => {
    const o = obj(kv);
    const v = obj(o.value);
    if (typeof v.string_value !== 'string') p.add(`${join(path, 'resource_attributes.values')}[${i}].value`, 'only string_value is supported');
    else resourceAttributes[str(o.key)] = v.string_value;
  });
  return {
    kind: 'otel',
    cluster,
    authority: str(envoyGrpc.authority) || cluster,
    logName,
    flushIntervalMs: durationMs(common.buffer_flush_interval, join(cp, 'buffer_flush_interval'), p) ?? DEFAULT_FLUSH_MS,
    body: body ?? (has(cfg, 'body') ? parseFormat(ENVOY_DEFAULT_FORMAT, path, p) : undefined),
    attributes,
    resourceAttributes,
    builtinLabels: cfg.disable_builtin_labels !== true,
  };
}

/** An AnyValue holding a format string (string_value); other kinds are NACKed. */
function anyValueFormat(v: unknown, path: string, p: Problems): FormatPart[] | undefined {
  const o = obj(v);
  if (typeof o.string_value !== 'string') {
    p.add(path, `only string_value is supported (fields: ${Object.keys(o).join(', ') || 'none'})`);
    return undefined;
  }
  return parseFormat(o.string_value, join(path, 'string_value'), p);
}
