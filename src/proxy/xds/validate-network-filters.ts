// The network filters of a filter chain → typed: any number of read filters (envoy.filters.network.rbac)
// and then one terminal, envoy.filters.network.http_connection_manager (its HTTP filters parsed through
// the filter registry) or envoy.filters.network.tcp_proxy.
import { HCM_TYPE_URL, TCP_PROXY_TYPE_URL } from '../../api/envoy.js';
import { NETWORK_RBAC_TYPE_URL, networkRbacConfig } from '../rbac/filter-config.js';
import { httpFilterTypes } from '../http/filters/registry.js';
import type { ClusterSpecifier, HttpConnectionManager, HttpFilterConfig, NetworkFilter, PathNormalization, ReadNetworkFilter, RouteSource, TcpProxy } from './model.js';
import { anyTypeUrl, durationMs, has, join, list, num, obj, Problems, str, wrapped, type Raw } from './validate-common.js';
import { routeConfiguration } from './validate-route.js';
import { ISTIO_STATS_TYPE_URL, statsPluginConfig, type StatsConfig } from '../telemetry/stats-config.js';
import { accessLogs } from '../telemetry/access-log/config.js';
import { hcmTracing } from '../telemetry/tracing/config.js';

const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000; // Envoy: HCM connection idle and tcp_proxy idle, 1 hour
const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000; // Envoy's stream_idle_timeout: 5 minutes

/** HCM fields that would change behaviour and are not implemented: a NACK, not a silent skip. */
const unsupportedHcmFields = [
  'scoped_routes', 'http3_protocol_options', 'use_remote_address',
  'xff_num_trusted_hops', 'forward_client_cert_details', 'set_current_client_cert_details',
  'local_reply_config', 'request_id_extension', 'strip_matching_host_port', 'strip_any_host_port', 'max_request_headers_kb',
  'drain_timeout', 'delayed_close_timeout', 'server_header_transformation', 'scheme_header_transformation',
  'original_ip_detection_extensions', 'early_header_mutation_extensions', 'internal_address_config', 'via',
  'proxy_100_continue', 'stream_error_on_invalid_http_message', 'path_normalization_options', 'strip_trailing_host_dot',
  'typed_header_validation_config', 'request_headers_timeout_per_route',
  // Periodic and on-new-request access-log flushes: lines are written when a stream ends.
  'access_log_flush_interval', 'flush_access_log_on_new_request', 'access_log_options',
];
/** common_http_protocol_options fields implemented: the rest are NACKed. */
const commonOptionsImplemented = new Set(['idle_timeout', 'max_requests_per_connection', 'headers_with_underscores_action']);

export const defaultPathNormalization: PathNormalization = Object.freeze({ normalize: false, mergeSlashes: false, escapedSlashes: 'KEEP_UNCHANGED' });

export function httpConnectionManager(raw: Raw, path: string, p: Problems): HttpConnectionManager {
  for (const f of unsupportedHcmFields) if (has(raw, f) && !isDefault(raw[f])) p.add(join(path, f), 'not supported');
  let routes: RouteSource | undefined;
  if (has(raw, 'rds')) {
    const rds = obj(raw.rds);
    const name = str(rds.route_config_name);
    if (!name) p.add(join(path, 'rds.route_config_name'), 'is required');
    const cs = obj(rds.config_source);
    if (!has(cs, 'ads') && Object.keys(cs).some((k) => k !== 'resource_api_version' && k !== 'initial_fetch_timeout')) {
      p.add(join(path, 'rds.config_source'), 'only ads config sources are supported');
    }
    routes = { kind: 'rds', name };
  } else if (has(raw, 'route_config')) {
    routes = { kind: 'inline', config: routeConfiguration(obj(raw.route_config), join(path, 'route_config'), p) };
  } else if (!has(raw, 'scoped_routes')) {
    p.add(path, 'one of rds, route_config is required');
  }
  const codec = str(raw.codec_type) || 'AUTO';
  if (codec !== 'AUTO' && codec !== 'HTTP1' && codec !== 'HTTP2') p.add(join(path, 'codec_type'), `${codec} is not supported`);
  const h2 = obj(raw.http2_protocol_options);
  for (const k of Object.keys(h2)) if (k !== 'max_concurrent_streams') p.add(join(path, `http2_protocol_options.${k}`), 'not supported');
  const maxStreams = has(h2, 'max_concurrent_streams') ? wrapped(h2.max_concurrent_streams, 0) : 0;
  const common = obj(raw.common_http_protocol_options);
  for (const k of Object.keys(common)) {
    if (!commonOptionsImplemented.has(k)) p.add(join(path, `common_http_protocol_options.${k}`), 'not supported');
  }
  const underscores = str(common.headers_with_underscores_action) || 'ALLOW';
  if (underscores !== 'ALLOW') p.add(join(path, 'common_http_protocol_options.headers_with_underscores_action'), `${underscores} is not supported`);
  return {
    statPrefix: str(raw.stat_prefix),
    codec: codec === 'HTTP1' || codec === 'HTTP2' ? codec : 'AUTO',
    http2MaxConcurrentStreams: maxStreams,
    routes: routes ?? { kind: 'rds', name: '' },
    httpFilters: httpFilters(list(raw.http_filters), join(path, 'http_filters'), p),
    idleTimeoutMs: durationMs(common.idle_timeout, join(path, 'common_http_protocol_options.idle_timeout'), p) ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxRequestsPerConnection: has(common, 'max_requests_per_connection') ? wrapped(common.max_requests_per_connection, 0) : 0,
    requestTimeoutMs: durationMs(raw.request_timeout, join(path, 'request_timeout'), p) ?? 0,
    requestHeadersTimeoutMs: durationMs(raw.request_headers_timeout, join(path, 'request_headers_timeout'), p) ?? 0,
    streamIdleTimeoutMs: durationMs(raw.stream_idle_timeout, join(path, 'stream_idle_timeout'), p) ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    generateRequestId: wrapped(raw.generate_request_id, true),
    path: pathNormalization(raw, path, p),
    upgrades: hcmUpgrades(list(raw.upgrade_configs), join(path, 'upgrade_configs'), p),
    accessLog: accessLogs(raw.access_log, join(path, 'access_log'), p),
    ...(has(raw, 'tracing') ? { tracing: hcmTracing(obj(raw.tracing), join(path, 'tracing'), p) } : {}),
  };
}

function hcmUpgrades(raw: unknown[], path: string, p: Problems): ReadonlySet<string> {
  const out = new Set<string>();
  raw.forEach((u, i) => {
    const uo = obj(u);
    const at = `${path}[${i}]`;
    const type = str(uo.upgrade_type).toLowerCase();
    if (!type) p.add(join(at, 'upgrade_type'), 'is required');
    if (type === 'connect') p.add(join(at, 'upgrade_type'), 'CONNECT is not supported');
    if (list(uo.filters).length > 0) p.add(join(at, 'filters'), 'not supported');
    if (wrapped(uo.enabled, true)) out.add(type);
  });
  return out;
}

/** A field set to its proto default (false, 0, empty) changes nothing and is accepted. */
function isDefault(v: unknown): boolean {
  return v === false || v === 0 || v === '' || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
}

function pathNormalization(raw: Raw, path: string, p: Problems): PathNormalization {
  const action = str(raw.path_with_escaped_slashes_action) || 'IMPLEMENTATION_SPECIFIC_DEFAULT';
  const actions = ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'];
  if (!actions.includes(action)) p.add(join(path, 'path_with_escaped_slashes_action'), `unknown value "${action}"`);
  return {
    normalize: wrapped(raw.normalize_path, false),
    mergeSlashes: raw.merge_slashes === true,
    // Envoy's implementation-specific default keeps escaped slashes as they are.
    escapedSlashes: action === 'IMPLEMENTATION_SPECIFIC_DEFAULT' || !actions.includes(action) ? 'KEEP_UNCHANGED' : (action as PathNormalization['escapedSlashes']),
  };
}

function httpFilters(rawFilters: unknown[], path: string, p: Problems): HttpFilterConfig[] {
  const filters: HttpFilterConfig[] = [];
  const names = new Set<string>();
  rawFilters.forEach((f, i) => {
    const fo = obj(f);
    const at = `${path}[${i}]`;
    const name = str(fo.name);
    if (fo.disabled === true) return;
    if (has(fo, 'config_discovery')) return p.add(join(at, 'config_discovery'), 'not supported');
    if (!name) p.add(join(at, 'name'), 'is required');
    else if (names.has(name)) p.add(join(at, 'name'), `"${name}" is used by another filter of this chain`);
    names.add(name);
    // A router given by name only (no typed_config) is still the router.
    const typeUrl = anyTypeUrl(fo.typed_config) || (name === 'envoy.filters.http.router' ? 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' : '');
    const type = httpFilterTypes.get(typeUrl);
    if (!type) {
      if (fo.is_optional !== true) p.add(join(at, 'typed_config'), `unsupported type ${typeUrl || '(none)'} for http filter "${name}"`);
      return;
    }
    if (type.terminal && i !== rawFilters.length - 1) p.add(at, `the terminal filter "${name}" must be last`);
    filters.push({ name, typeUrl, config: type.parse(obj(fo.typed_config), join(at, 'typed_config'), p) });
  });
  const last = filters[filters.length - 1];
  if (!last || !httpFilterTypes.get(last.typeUrl)?.terminal) p.add(path, 'must end with envoy.filters.http.router');
  return filters;
}

/** tcp_proxy fields implemented; anything else set is a NACK. */
const tcpProxyImplemented = new Set(['stat_prefix', 'cluster', 'weighted_clusters', 'idle_timeout', 'max_connect_attempts', 'hash_policy', 'access_log']);

export function tcpProxy(raw: Raw, path: string, p: Problems): TcpProxy {
  for (const k of Object.keys(raw)) {
    if (k !== '@type' && !tcpProxyImplemented.has(k) && !isDefault(raw[k])) p.add(join(path, k), 'not supported');
  }
  const statPrefix = str(raw.stat_prefix);
  if (!statPrefix) p.add(join(path, 'stat_prefix'), 'is required');
  let cluster: ClusterSpecifier = { kind: 'cluster', name: '' };
  if (has(raw, 'cluster') && str(raw.cluster)) {
    cluster = { kind: 'cluster', name: str(raw.cluster) };
  } else if (has(raw, 'weighted_clusters')) {
    const at = join(path, 'weighted_clusters.clusters');
    const clusters = list(obj(raw.weighted_clusters).clusters).map((c, i) => {
      const co = obj(c);
      const name = str(co.name);
      if (!name) p.add(`${at}[${i}].name`, 'is required');
      const weight = num(co.weight);
      if (!Number.isInteger(weight) || weight < 0) p.add(`${at}[${i}].weight`, `must be a non-negative integer, got ${weight}`);
      for (const k of Object.keys(co)) if (k !== 'name' && k !== 'weight') p.add(`${at}[${i}].${k}`, 'not supported');
      return { name, weight };
    });
    const totalWeight = clusters.reduce((s, c) => s + c.weight, 0);
    if (clusters.length === 0) p.add(at, 'must not be empty');
    else if (totalWeight <= 0) p.add(at, 'the sum of weights must be greater than 0');
    cluster = { kind: 'weighted', clusters, totalWeight };
  } else p.add(path, 'one of cluster, weighted_clusters is required');
  const attempts = has(raw, 'max_connect_attempts') ? wrapped(raw.max_connect_attempts, 1) : 1;
  if (attempts < 1) p.add(join(path, 'max_connect_attempts'), 'must be at least 1');
  return {
    statPrefix,
    cluster,
    idleTimeoutMs: durationMs(raw.idle_timeout, join(path, 'idle_timeout'), p) ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxConnectAttempts: attempts,
    hashSourceIp: tcpHashPolicy(raw.hash_policy, join(path, 'hash_policy'), p),
    istioStats: undefined,
    accessLog: accessLogs(raw.access_log, join(path, 'access_log'), p),
  };
}

export { TCP_PROXY_TYPE_URL };

/** type.v3.HashPolicy entries of a tcp_proxy: only source_ip can be hashed here (filter_state: NACK). */
function tcpHashPolicy(v: unknown, path: string, p: Problems): boolean {
  let sourceIp = false;
  list(v).forEach((item, i) => {
    const o = obj(item);
    if (has(o, 'source_ip') && Object.keys(o).length === 1) sourceIp = true;
    else p.add(`${path}[${i}]`, `only source_ip is supported (fields: ${Object.keys(o).join(', ') || 'none'})`);
  });
  return sourceIp;
}

/** filter_chains[].filters: read filters first, then exactly one terminal, last. */
export function networkFilters(filters: unknown[], path: string, p: Problems): { terminal: NetworkFilter | undefined; readFilters: ReadNetworkFilter[] } {
  let terminal: NetworkFilter | undefined;
  const readFilters: ReadNetworkFilter[] = [];
  let statsAt: string | undefined;
  let stats: StatsConfig | undefined;
  filters.forEach((f, i) => {
    const fo = obj(f);
    const at = `${path}[${i}]`;
    const type = anyTypeUrl(fo.typed_config);
    const cfg = obj(fo.typed_config);
    const name = str(fo.name);
    if (terminal) p.add(at, `${terminal.kind} must be the last network filter`);
    if (type === HCM_TYPE_URL) terminal = { kind: 'http_connection_manager', hcm: httpConnectionManager(cfg, join(at, 'typed_config'), p) };
    else if (type === TCP_PROXY_TYPE_URL) terminal = { kind: 'tcp_proxy', tcp: tcpProxy(cfg, join(at, 'typed_config'), p) };
    else if (type === NETWORK_RBAC_TYPE_URL) readFilters.push({ kind: 'rbac', name, config: networkRbacConfig(cfg, join(at, 'typed_config'), p) });
    else if (type === ISTIO_STATS_TYPE_URL) {
      stats = statsPluginConfig(cfg, join(at, 'typed_config'), p);
      statsAt = at;
    }
    else p.add(join(at, 'typed_config'), `unsupported type ${type || '(none)'} for network filter "${name}"`);
  });
  if (filters.length > 0 && !terminal) p.add(path, 'must end with a terminal filter (http_connection_manager or tcp_proxy)');
  // Istio puts the network istio.stats before tcp_proxy only; HTTP chains take the HTTP filter.
  if (statsAt && terminal?.kind === 'tcp_proxy') terminal.tcp.istioStats = stats;
  else if (statsAt && terminal) p.add(statsAt, 'the istio.stats network filter reports tcp_proxy connections; an HTTP connection manager takes the istio.stats HTTP filter');
  return { terminal, readFilters };
}
