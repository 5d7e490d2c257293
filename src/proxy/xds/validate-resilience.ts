// The resilience parts of a Cluster and a RetryPolicy → typed model: circuit breakers (with the
// retry budget), outlier detection, the panic threshold, upstream connection options, and the
// retry policy's back-off and host predicate. Every field these messages have that the proxy does
// not implement is named in the NACK; none is skipped silently.
import type { CircuitBreakers, OutlierDetection, RetryOn, RetryPolicy, UpstreamConnectionOptions } from './model.js';
import { anyTypeUrl, durationMs, has, join, list, num, obj, str, wrapped, type Problems, type Raw } from './validate-common.js';

/** Envoy's defaults (circuit_breaker.proto). */
export const defaultCircuitBreakers: CircuitBreakers = Object.freeze({
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  retryBudget: undefined,
});

/** Envoy's defaults for an empty retry_budget message. */
const DEFAULT_BUDGET_PERCENT = 20;
const DEFAULT_MIN_RETRY_CONCURRENCY = 3;
/** Envoy's upstream idle timeout default (core.v3.HttpProtocolOptions.idle_timeout): 1 h. */
const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 3_600_000;
const DEFAULT_PANIC_THRESHOLD = 50;
/** Envoy's retry back-off defaults: 25 ms base, max 10 × base. */
export const DEFAULT_RETRY_BASE_MS = 25;
const PREVIOUS_HOSTS = 'envoy.retry_host_predicates.previous_hosts';
const PREVIOUS_HOSTS_TYPE = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

/** Fields of `raw` outside `known` (proto field names as decoded). */
function rejectOthers(raw: Raw, known: readonly string[], path: string, p: Problems, why = 'not supported'): void {
  for (const k of Object.keys(raw)) if (!known.includes(k) && has(raw, k)) p.add(join(path, k), why);
}

/** circuit_breakers: thresholds[] for the DEFAULT priority (HIGH is never used: no route sets a priority). */
export function circuitBreakersOf(raw: Raw, path: string, p: Problems): CircuitBreakers {
  rejectOthers(raw, ['thresholds'], path, p, 'not supported (per-host thresholds are not implemented)');
  let out: CircuitBreakers = defaultCircuitBreakers;
  let seenDefault = false;
  list(raw.thresholds).forEach((item, i) => {
    const t = obj(item);
    const at = `${join(path, 'thresholds')}[${i}]`;
    rejectOthers(t, ['priority', 'max_connections', 'max_pending_requests', 'max_requests', 'max_retries', 'retry_budget', 'track_remaining'], at, p);
    const priority = str(t.priority) || 'DEFAULT';
    // Envoy: the first thresholds of a priority win.
    if (priority !== 'DEFAULT' || seenDefault) return;
    seenDefault = true;
    const pick = (field: string, dflt: number) => (has(t, field) ? wrapped(t[field], dflt) : dflt);
    let retryBudget: CircuitBreakers['retryBudget'];
    if (has(t, 'retry_budget')) {
      const b = obj(t.retry_budget);
      rejectOthers(b, ['budget_percent', 'min_retry_concurrency'], join(at, 'retry_budget'), p);
      const percent = has(b, 'budget_percent') ? num(obj(b.budget_percent).value) : DEFAULT_BUDGET_PERCENT;
      if (percent < 0 || percent > 100) p.add(join(at, 'retry_budget.budget_percent'), `${percent} is not a percentage`);
      retryBudget = { percent, minConcurrency: has(b, 'min_retry_concurrency') ? wrapped(b.min_retry_concurrency, 0) : DEFAULT_MIN_RETRY_CONCURRENCY };
    }
    out = {
      maxConnections: pick('max_connections', defaultCircuitBreakers.maxConnections),
      maxPendingRequests: pick('max_pending_requests', defaultCircuitBreakers.maxPendingRequests),
      maxRequests: pick('max_requests', defaultCircuitBreakers.maxRequests),
      maxRetries: pick('max_retries', defaultCircuitBreakers.maxRetries),
      retryBudget,
    };
  });
  return out;
}

const outlierFields = [
  'interval',
  'base_ejection_time',
  'max_ejection_time',
  'max_ejection_percent',
  'consecutive_5xx',
  'enforcing_consecutive_5xx',
  'consecutive_gateway_failure',
  'enforcing_consecutive_gateway_failure',
  'split_external_local_origin_errors',
  'consecutive_local_origin_failure',
  'enforcing_consecutive_local_origin_failure',
  // Accepted only when they switch their detector off (checked below).
  'enforcing_success_rate',
  'enforcing_local_origin_success_rate',
  'enforcing_failure_percentage',
  'enforcing_failure_percentage_local_origin',
  'max_ejection_time_jitter',
];

/** outlier_detection with Envoy's defaults; the success-rate and failure-percentage detectors
 * are not implemented, so they must be disabled explicitly (enforcing_success_rate defaults to 100). */
export function outlierDetectionOf(raw: Raw, path: string, p: Problems): OutlierDetection {
  rejectOthers(raw, outlierFields, path, p);
  const u = (field: string, dflt: number) => (has(raw, field) ? wrapped(raw[field], dflt) : dflt);
  const ms = (field: string, dflt: number) => durationMs(raw[field], join(path, field), p) ?? dflt;
  if (u('enforcing_success_rate', 100) !== 0) p.add(join(path, 'enforcing_success_rate'), 'success-rate ejection is not implemented; set it to 0');
  for (const f of ['enforcing_local_origin_success_rate', 'enforcing_failure_percentage', 'enforcing_failure_percentage_local_origin']) {
    if (u(f, 0) !== 0) p.add(join(path, f), 'not implemented; must be 0');
  }
  if (ms('max_ejection_time_jitter', 0) !== 0) p.add(join(path, 'max_ejection_time_jitter'), 'not supported');
  const percent = (field: string, dflt: number) => {
    const v = u(field, dflt);
    if (v > 100) p.add(join(path, field), `${v} is not a percentage`);
    return v;
  };
  const interval = ms('interval', 10_000);
  if (has(raw, 'interval') && interval <= 0) p.add(join(path, 'interval'), 'must be greater than 0');
  const base = ms('base_ejection_time', 30_000);
  return {
    intervalMs: interval > 0 ? interval : 10_000,
    baseEjectionTimeMs: base,
    maxEjectionTimeMs: Math.max(base, ms('max_ejection_time', 300_000)),
    maxEjectionPercent: percent('max_ejection_percent', 10),
    consecutive5xx: u('consecutive_5xx', 5),
    enforcingConsecutive5xx: percent('enforcing_consecutive_5xx', 100),
    consecutiveGatewayFailure: u('consecutive_gateway_failure', 5),
    enforcingConsecutiveGatewayFailure: percent('enforcing_consecutive_gateway_failure', 0),
    splitExternalLocalOriginErrors: raw.split_external_local_origin_errors === true,
    consecutiveLocalOriginFailure: u('consecutive_local_origin_failure', 5),
    enforcingConsecutiveLocalOriginFailure: percent('enforcing_consecutive_local_origin_failure', 100),
  };
}

/** common_lb_config.healthy_panic_threshold (the other common_lb_config fields belong to load balancing). */
export function healthyPanicThresholdOf(commonLbConfig: Raw, path: string, p: Problems): number {
  if (!has(commonLbConfig, 'healthy_panic_threshold')) return DEFAULT_PANIC_THRESHOLD;
  const v = num(obj(commonLbConfig.healthy_panic_threshold).value);
  if (v < 0 || v > 100) p.add(join(path, 'healthy_panic_threshold'), `${v} is not a percentage`);
  return v;
}

/** common_http_protocol_options — from HttpProtocolOptions in typed_extension_protocol_options
 * (where Istio puts them), or the cluster's deprecated field — the deprecated top-level
 * max_requests_per_connection, and upstream_connection_options (only keepalive_time: Node cannot
 * set probes or interval). */
export function connectionOptionsOf(cluster: Raw, fromExtension: unknown, p: Problems): UpstreamConnectionOptions {
  const inExtension = fromExtension !== undefined && fromExtension !== null;
  const http = obj(inExtension ? fromExtension : cluster.common_http_protocol_options);
  const hpath = inExtension ? 'typed_extension_protocol_options[...HttpProtocolOptions].common_http_protocol_options' : 'common_http_protocol_options';
  rejectOthers(http, ['idle_timeout', 'max_requests_per_connection'], hpath, p);
  let maxRequestsPerConnection = has(http, 'max_requests_per_connection') ? wrapped(http.max_requests_per_connection, 0) : 0;
  if (has(cluster, 'max_requests_per_connection')) maxRequestsPerConnection ||= wrapped(cluster.max_requests_per_connection, 0);
  const uco = obj(cluster.upstream_connection_options);
  rejectOthers(uco, ['tcp_keepalive'], 'upstream_connection_options', p);
  let tcpKeepaliveTimeMs: number | undefined;
  if (has(uco, 'tcp_keepalive')) {
    const ka = obj(uco.tcp_keepalive);
    rejectOthers(ka, ['keepalive_time'], 'upstream_connection_options.tcp_keepalive', p, 'not supported (Node sets only the idle time before probes)');
    // Envoy's default keepalive_time is the kernel's (7200 s on Linux).
    tcpKeepaliveTimeMs = (has(ka, 'keepalive_time') ? wrapped(ka.keepalive_time, 7200) : 7200) * 1000;
  }
  return {
    idleTimeoutMs: durationMs(http.idle_timeout, join(hpath, 'idle_timeout'), p) ?? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
    maxRequestsPerConnection,
    tcpKeepaliveTimeMs,
  };
}

const retryOnTokens = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);
/** gRPC retry_on conditions → the grpc-status they match. */
const grpcConditions: Record<string, number> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };
const retryPolicyFields = ['retry_on', 'num_retries', 'per_try_timeout', 'retriable_status_codes', 'retry_back_off', 'retry_host_predicate', 'host_selection_retry_max_attempts'];

export function noRetryConditions(): RetryOn {
  return {
    status5xx: false,
    gatewayError: false,
    connectFailure: false,
    reset: false,
    refusedStream: false,
    retriable4xx: false,
    retriableStatusCodes: false,
    grpcStatuses: [],
  };
}

export function retryPolicyOf(raw: Raw, path: string, p: Problems): RetryPolicy {
  rejectOthers(raw, retryPolicyFields, path, p);
  const on = noRetryConditions();
  const grpc: number[] = [];
  for (const token of str(raw.retry_on).split(',').map((t) => t.trim()).filter(Boolean)) {
    if (!retryOnTokens.has(token)) p.add(join(path, 'retry_on'), `unknown retry condition "${token}"`);
    if (token === '5xx') on.status5xx = true;
    else if (token === 'gateway-error') on.gatewayError = true;
    else if (token === 'connect-failure' || token === 'reset-before-request') on.connectFailure = true;
    else if (token === 'refused-stream') on.refusedStream = true;
    else if (token === 'reset') on.reset = true;
    else if (token === 'retriable-4xx') on.retriable4xx = true;
    else if (token === 'retriable-status-codes') on.retriableStatusCodes = true;
    else if (token in grpcConditions) grpc.push(grpcConditions[token]);
  }
  on.grpcStatuses = grpc;
  const codes = list(raw.retriable_status_codes).map((c) => num(c));
  codes.forEach((c, i) => {
    if (c < 100 || c > 599) p.add(`${join(path, 'retriable_status_codes')}[${i}]`, `${c} is not an HTTP status`);
  });
  const bo = obj(raw.retry_back_off);
  rejectOthers(bo, ['base_interval', 'max_interval'], join(path, 'retry_back_off'), p);
  const baseMs = durationMs(bo.base_interval, join(path, 'retry_back_off.base_interval'), p) ?? DEFAULT_RETRY_BASE_MS;
  if (has(raw, 'retry_back_off') && baseMs <= 0) p.add(join(path, 'retry_back_off.base_interval'), 'must be greater than 0');
  const maxMs = durationMs(bo.max_interval, join(path, 'retry_back_off.max_interval'), p) ?? baseMs * 10;
  if (maxMs < baseMs) p.add(join(path, 'retry_back_off.max_interval'), 'must not be less than base_interval');
  let avoidPreviousHosts = false;
  list(raw.retry_host_predicate).forEach((item, i) => {
    const pr = obj(item);
    const at = `${join(path, 'retry_host_predicate')}[${i}]`;
    const typeUrl = anyTypeUrl(pr.typed_config);
    if (str(pr.name) === PREVIOUS_HOSTS && (typeUrl === '' || typeUrl === PREVIOUS_HOSTS_TYPE)) avoidPreviousHosts = true;
    else p.add(at, `retry host predicate "${str(pr.name) || typeUrl}" is not supported (supported: ${PREVIOUS_HOSTS})`);
  });
  const hostSelectionMaxAttempts = Math.max(1, num(raw.host_selection_retry_max_attempts) || 1);
  return {
    on,
    // Envoy's default when a retry policy is present but num_retries is unset.
    numRetries: has(raw, 'num_retries') ? wrapped(raw.num_retries, 1) : 1,
    perTryTimeoutMs: durationMs(raw.per_try_timeout, join(path, 'per_try_timeout'), p) ?? 0,
    retriableStatusCodes: codes,
    backOff: { baseMs: baseMs > 0 ? baseMs : DEFAULT_RETRY_BASE_MS, maxMs: Math.max(maxMs, baseMs) },
    avoidPreviousHosts,
    hostSelectionMaxAttempts,
  };
}
