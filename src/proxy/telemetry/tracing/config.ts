// HttpConnectionManager.tracing → the typed model (xds/model.ts HcmTracing). What is implemented:
// the three sampling percentages, max_path_tag_length, spawn_upstream_span, literal / environment /
// request_header custom tags and the OpenTelemetry provider (OTLP over http_service or an envoy_grpc
// grpc_service, service_name). Everything else that would change what is traced is a NACK naming
// the field: verbose, metadata tags, resource detectors, samplers, other tracers (zipkin, …).
import { OTEL_TRACER_CONFIG_TYPE_URL } from '../../../api/envoy.js';
import type { HcmTracing, OtlpExporterConfig, TraceProvider, TracingCustomTag } from '../../xds/model.js';
import { anyTypeUrl, durationMs, has, join, list, num, obj, rejectUnknownFields, str, wrapped, type Problems, type Raw } from '../../xds/validate-common.js';

/** Envoy's default max_path_tag_length. */
export const DEFAULT_MAX_PATH_TAG_LENGTH = 256;
/** An export's timeout when the config names none. */
const DEFAULT_EXPORT_TIMEOUT_MS = 5_000;

const TRACING_FIELDS = new Set(['client_sampling', 'random_sampling', 'overall_sampling', 'verbose', 'max_path_tag_length', 'custom_tags', 'provider', 'spawn_upstream_span']);
const OTEL_FIELDS = new Set(['@type', 'grpc_service', 'http_service', 'service_name']);
const GRPC_SERVICE_FIELDS = new Set(['envoy_grpc', 'timeout', 'initial_metadata']);
const ENVOY_GRPC_FIELDS = new Set(['cluster_name', 'authority']);
const HTTP_SERVICE_FIELDS = new Set(['http_uri', 'request_headers_to_add']);
const HTTP_URI_FIELDS = new Set(['uri', 'cluster', 'timeout']);

export function hcmTracing(raw: Raw, path: string, p: Problems): HcmTracing {
  rejectUnknownFields(raw, TRACING_FIELDS, path, p);
  if (raw.verbose === true) p.add(join(path, 'verbose'), 'not supported (no per-filter span annotations)');
  return {
    clientSampling: samplingPercent(raw.client_sampling, join(path, 'client_sampling'), p),
    randomSampling: samplingPercent(raw.random_sampling, join(path, 'random_sampling'), p),
    overallSampling: samplingPercent(raw.overall_sampling, join(path, 'overall_sampling'), p),
    maxPathTagLength: has(raw, 'max_path_tag_length') ? wrapped(raw.max_path_tag_length, 0) : DEFAULT_MAX_PATH_TAG_LENGTH,
    customTags: list(raw.custom_tags).map((t, i) => customTag(obj(t), `${join(path, 'custom_tags')}[${i}]`, p)).filter((t): t is TracingCustomTag => t !== undefined),
    spawnUpstreamSpan: wrapped(raw.spawn_upstream_span, false),
    provider: has(raw, 'provider') ? provider(obj(raw.provider), join(path, 'provider'), p) : undefined,
  };
}

/** envoy.type.v3.Percent {value: 0–100}; unset is 100 % for every tracing percentage. */
function samplingPercent(v: unknown, path: string, p: Problems): number {
  if (v === undefined || v === null) return 100;
  const value = num(obj(v).value);
  if (!(value >= 0 && value <= 100)) {
    p.add(join(path, 'value'), `must be between 0 and 100, got ${value}`);
    return 100;
  }
  return value;
}

function customTag(raw: Raw, path: string, p: Problems): TracingCustomTag | undefined {
  const tag = str(raw.tag);
  if (!tag) p.add(join(path, 'tag'), 'is required');
  if (has(raw, 'metadata')) {
    p.add(join(path, 'metadata'), 'not supported (literal, environment and request_header tags only)');
    return undefined;
  }
  if (has(raw, 'literal')) return { tag, kind: 'literal', value: str(obj(raw.literal).value) };
  for (const kind of ['environment', 'request_header'] as const) {
    if (!has(raw, kind)) continue;
    const o = obj(raw[kind]);
    const name = kind === 'request_header' ? str(o.name).toLowerCase() : str(o.name);
    if (!name) p.add(join(path, `${kind}.name`), 'is required');
    return { tag, kind, name, defaultValue: str(o.default_value) };
  }
  p.add(path, 'one of literal, environment, request_header is required');
  return undefined;
}

function provider(raw: Raw, path: string, p: Problems): TraceProvider | undefined {
  const name = str(raw.name);
  if (!name) p.add(join(path, 'name'), 'is required');
  const typeUrl = anyTypeUrl(raw.typed_config);
  if (typeUrl !== OTEL_TRACER_CONFIG_TYPE_URL) {
    p.add(join(path, 'typed_config'), `unsupported tracer ${typeUrl || '(none)'} (only ${OTEL_TRACER_CONFIG_TYPE_URL})`);
    return undefined;
  }
  const at = join(path, 'typed_config');
  const cfg = obj(raw.typed_config);
  rejectUnknownFields(cfg, OTEL_FIELDS, at, p);
  const grpc = has(cfg, 'grpc_service');
  const http = has(cfg, 'http_service');
  if (grpc === http) {
    p.add(at, 'exactly one of grpc_service, http_service is required');
    return undefined;
  }
  const exporter = http ? httpService(obj(cfg.http_service), join(at, 'http_service'), p) : grpcService(obj(cfg.grpc_service), join(at, 'grpc_service'), p);
  return exporter && { name, serviceName: str(cfg.service_name), exporter };
}

function httpService(raw: Raw, path: string, p: Problems): OtlpExporterConfig | undefined {
  rejectUnknownFields(raw, HTTP_SERVICE_FIELDS, path, p);
  const uri = obj(raw.http_uri);
  const at = join(path, 'http_uri');
  rejectUnknownFields(uri, HTTP_URI_FIELDS, at, p);
  const cluster = str(uri.cluster);
  if (!cluster) p.add(join(at, 'cluster'), 'is required');
  let url: URL | undefined;
  try {
    url = new URL(str(uri.uri));
  } catch {
    p.add(join(at, 'uri'), `"${str(uri.uri)}" is not an absolute URI`);
  }
  if (url && url.protocol !== 'http:') p.add(join(at, 'uri'), `scheme ${url.protocol} is not supported (TLS to the collector comes from the cluster's transport socket)`);
  const headers: [string, string][] = [];
  list(raw.request_headers_to_add).forEach((h, i) => {
    const header = obj(obj(h).header);
    const key = str(header.key).toLowerCase();
    if (!key) p.add(`${join(path, 'request_headers_to_add')}[${i}].header.key`, 'is required');
    else headers.push([key, str(header.value)]);
  });
  if (!url || !cluster) return undefined;
  const timeoutMs = durationMs(uri.timeout, join(at, 'timeout'), p) ?? DEFAULT_EXPORT_TIMEOUT_MS;
  return { kind: 'http', cluster, authority: url.host, path: url.pathname + url.search, timeoutMs, headers };
}

function grpcService(raw: Raw, path: string, p: Problems): OtlpExporterConfig | undefined {
  rejectUnknownFields(raw, GRPC_SERVICE_FIELDS, path, p, 'not supported (envoy_grpc only)');
  const eg = obj(raw.envoy_grpc);
  rejectUnknownFields(eg, ENVOY_GRPC_FIELDS, join(path, 'envoy_grpc'), p);
  const cluster = str(eg.cluster_name);
  if (!cluster) {
    p.add(join(path, 'envoy_grpc.cluster_name'), 'is required');
    return undefined;
  }
  const headers = list(raw.initial_metadata).map((h) => [str(obj(h).key).toLowerCase(), str(obj(h).value)] as const);
  return { kind: 'grpc', cluster, authority: str(eg.authority) || cluster, timeoutMs: durationMs(raw.timeout, join(path, 'timeout'), p) ?? DEFAULT_EXPORT_TIMEOUT_MS, headers };
}
