// VirtualService `retries` → Envoy route retry_policy, as Istio converts it (pilot
// networking/core/route/retry): start from the mesh default, override what the route sets.
import type { HTTPRetry } from '../../config/types.js';
import { duration } from './types.js';

const PREVIOUS_HOSTS = [{ name: 'envoy.retry_host_predicates.previous_hosts' }];

/** Istio's default for mesh traffic: 2 retries on connection-level failures, gRPC unavailable and
 * cancelled, and 503; retries prefer hosts not tried yet (5 picks to find one). */
export const DEFAULT_RETRY: Readonly<Record<string, unknown>> = Object.freeze({
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: { value: 2 },
  retriable_status_codes: [503],
  retry_host_predicate: PREVIOUS_HOSTS,
  host_selection_retry_max_attempts: 5,
});

/** With consistent hashing a retry stays on the hashed host: Istio drops the host predicate. */
export function defaultRetry(o: { consistentHash: boolean }): Record<string, unknown> {
  if (!o.consistentHash) return DEFAULT_RETRY;
  const { retry_host_predicate: _p, host_selection_retry_max_attempts: _a, ...rest } = DEFAULT_RETRY;
  return rest;
}

/** A route's retry_policy; attempts 0 turns retries off (overriding the virtual host's default). */
export function retryPolicy(r: HTTPRetry, o: { consistentHash: boolean }): Record<string, unknown> {
  if (r.attempts === 0) return { num_retries: { value: 0 } };
  const out: Record<string, unknown> = { ...defaultRetry(o), num_retries: { value: r.attempts } };
  if (r.retryOn !== undefined) {
    // Numbers in retryOn are status codes; they replace the default 503.
    const { conditions, codes } = parseRetryOn(r.retryOn);
    if (codes.length > 0 && !conditions.includes('retriable-status-codes')) conditions.push('retriable-status-codes');
    out.retry_on = conditions.join(',');
    out.retriable_status_codes = codes;
  }
  if (r.perTryTimeoutMs !== undefined) out.per_try_timeout = duration(r.perTryTimeoutMs);
  if (r.retryIgnorePreviousHosts === false) {
    delete out.retry_host_predicate;
    delete out.host_selection_retry_max_attempts;
  }
  if (r.backoffMs !== undefined) out.retry_back_off = { base_interval: duration(r.backoffMs) };
  return out;
}

function parseRetryOn(retryOn: string): { conditions: string[]; codes: number[] } {
  const conditions: string[] = [];
  const codes: number[] = [];
  for (const part of retryOn.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    if (/^[1-5]\d\d$/.test(part)) codes.push(Number(part));
    else conditions.push(part);
  }
  return { conditions, codes };
}
