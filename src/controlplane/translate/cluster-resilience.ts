// DestinationRule connectionPool, outlierDetection and retryBudget → the Envoy cluster fields that
// carry them, with Istio's semantics (pilot networking/core cluster_traffic_policy.go):
// thresholds default to "unlimited" (Envoy's 1024 would surprise a mesh user), success-rate
// ejection is always off, and minHealthPercent is the panic threshold (0 when unset: no panic).
import type { TrafficPolicy } from '../../config/types.js';
import { duration } from './types.js';

const UNLIMITED = 4_294_967_295; // Istio's default threshold: MaxUint32
/** Weft's default when neither http.maxRetries nor retryBudget is set: Envoy's budget defaults. */
const DEFAULT_RETRY_BUDGET = { budget_percent: { value: 20 }, min_retry_concurrency: { value: 3 } };
const ISTIO_DEFAULT_BUDGET_PERCENT = 20;
const ISTIO_DEFAULT_MIN_RETRY_CONCURRENCY = 3;

/** circuit_breakers, connect-level and HTTP connection options of one cluster. */
export function connectionPoolFields(policy: TrafficPolicy, opts: { retryBudget: boolean }): Record<string, unknown> {
  const tcp = policy.connectionPool?.tcp;
  const http = policy.connectionPool?.http;
  const t: Record<string, unknown> = {
    max_connections: { value: positive(tcp?.maxConnections) ?? UNLIMITED },
    max_pending_requests: { value: positive(http?.http1MaxPendingRequests) ?? UNLIMITED },
    max_requests: { value: positive(http?.http2MaxRequests) ?? UNLIMITED },
    max_retries: { value: positive(http?.maxRetries) ?? UNLIMITED },
    track_remaining: true,
  };
  const rb = policy.retryBudget;
  if (rb) {
    t.retry_budget = {
      budget_percent: { value: rb.percent ?? ISTIO_DEFAULT_BUDGET_PERCENT },
      min_retry_concurrency: { value: rb.minRetryConcurrency ?? ISTIO_DEFAULT_MIN_RETRY_CONCURRENCY },
    };
  } else if (opts.retryBudget && positive(http?.maxRetries) === undefined) t.retry_budget = DEFAULT_RETRY_BUDGET;
  const out: Record<string, unknown> = { circuit_breakers: { thresholds: [t] } };
  const common: Record<string, unknown> = {};
  if (http?.idleTimeoutMs !== undefined) common.idle_timeout = duration(http.idleTimeoutMs);
  if (positive(http?.maxRequestsPerConnection) !== undefined) common.max_requests_per_connection = { value: http!.maxRequestsPerConnection };
  if (Object.keys(common).length) out.common_http_protocol_options = common;
  const ka = tcp?.tcpKeepalive;
  if (ka) out.upstream_connection_options = { tcp_keepalive: ka.timeMs !== undefined ? { keepalive_time: { value: Math.floor(ka.timeMs / 1000) } } : {} };
  return out;
}

/** outlier_detection and the panic threshold, only when the policy has outlierDetection. */
export function outlierDetectionFields(policy: TrafficPolicy): Record<string, unknown> {
  const od = policy.outlierDetection;
  if (!od) return {};
  // Success-rate ejection needs many hosts and traffic; Istio switches it off.
  const o: Record<string, unknown> = { enforcing_success_rate: { value: 0 } };
  if (positive(od.consecutiveErrors) !== undefined) {
    // The deprecated field listens to gateway errors only (istio/api#617); the fields below override it.
    o.consecutive_gateway_failure = { value: od.consecutiveErrors };
    o.enforcing_consecutive_gateway_failure = { value: 100 };
    o.enforcing_consecutive_5xx = { value: 0 };
  }
  if (od.consecutive5xxErrors !== undefined) {
    o.consecutive_5xx = { value: od.consecutive5xxErrors };
    o.enforcing_consecutive_5xx = { value: od.consecutive5xxErrors > 0 ? 100 : 0 };
  }
  if (od.consecutiveGatewayErrors !== undefined) {
    o.consecutive_gateway_failure = { value: od.consecutiveGatewayErrors };
    o.enforcing_consecutive_gateway_failure = { value: od.consecutiveGatewayErrors > 0 ? 100 : 0 };
  }
  if (od.intervalMs !== undefined) o.interval = duration(od.intervalMs);
  if (od.baseEjectionTimeMs !== undefined) o.base_ejection_time = duration(od.baseEjectionTimeMs);
  if (positive(od.maxEjectionPercent) !== undefined) o.max_ejection_percent = { value: od.maxEjectionPercent };
  if (od.splitExternalLocalOriginErrors) {
    o.split_external_local_origin_errors = true;
    if (positive(od.consecutiveLocalOriginFailures) !== undefined) {
      o.consecutive_local_origin_failure = { value: od.consecutiveLocalOriginFailures };
      o.enforcing_consecutive_local_origin_failure = { value: 100 };
    }
    o.enforcing_local_origin_success_rate = { value: 0 };
  }
  // Istio always sets the panic threshold with outlier detection: minHealthPercent, 0 by default.
  return { outlier_detection: o, common_lb_config: { healthy_panic_threshold: { value: od.minHealthPercent ?? 0 } } };
}

/** Istio treats 0 as unset for these counts. */
function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 ? n : undefined;
}

/** Load balancing and outlier detection both write common_lb_config (locality weights, the panic
 * threshold): spread both with that one object merged. */
export function withCommonLbConfig(lb: Record<string, unknown>, outlier: Record<string, unknown>): Record<string, unknown> {
  const common = { ...(lb.common_lb_config as object | undefined), ...(outlier.common_lb_config as object | undefined) };
  return { ...lb, ...outlier, ...(Object.keys(common).length ? { common_lb_config: common } : {}) };
}
