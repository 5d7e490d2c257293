// Retry state of one request (Envoy's RetryStateImpl): which outcomes the route's retry_on
// covers, how many retries are left, the cluster's retry circuit breaker (max_retries or the
// retry budget), jittered exponential back-off, and previous-host avoidance. A retry holds one
// slot of the cluster's retry resource from the decision until the next decision or the end of
// the request, as in Envoy.
import type { ClusterResources } from '../upstream/circuit-breaker.js';
import type { LocalOriginFailure } from '../upstream/outlier-detector.js';
import type { RetryPolicy } from '../xds/model.js';

/** The outcome of one attempt, as the router sees it. */
export type AttemptOutcome =
  | { kind: 'response'; status: number; /** grpc-status from the response headers, if any. */ grpcStatus: number | undefined }
  | { kind: 'failure'; failure: LocalOriginFailure };

/** 'retry': schedule one after backOffMs(); 'no': the policy does not cover the outcome;
 * 'exhausted': it does but num_retries are used up, 'overflow': the retry breaker is full (both
 * are Envoy's URX, upstream retry limit exceeded). */
export type RetryDecision = 'retry' | 'no' | 'exhausted' | 'overflow';

/** Envoy's per-cluster retry counters. */
export interface RetryStats {
  upstream_rq_retry: number;
  upstream_rq_retry_success: number;
  upstream_rq_retry_limit_exceeded: number;
}

/** retriable-4xx covers only 409 Conflict, as in Envoy. */
const RETRIABLE_4XX = 409;

export class RetryState {
  private retriesLeft: number;
  private holdsSlot = false;
  private disabled = false;
  private retried = false;
  /** The next back-off window; doubles per retry up to the maximum. */
  private nextWindowMs: number;
  /** Hosts tried so far; only kept for the previous-hosts predicate (most requests never retry). */
  private tried: Set<unknown> | undefined;

  constructor(
    private readonly policy: RetryPolicy | undefined,
    private readonly resources: ClusterResources,
    private readonly stats: RetryStats,
    private readonly random: () => number,
  ) {
    this.retriesLeft = policy?.numRetries ?? 0;
    this.nextWindowMs = policy?.backOff.baseMs ?? 0;
  }

  /** Whether a retry may still happen (a body must be kept to replay it). */
  get mayRetry(): boolean {
    return this.retriesLeft > 0;
  }

  /** The request cannot be replayed (its body streamed): no retries. */
  disable(): void {
    this.retriesLeft = 0;
    this.disabled = true;
  }

  /** Decide after an attempt; a 'retry' holds a retry slot until the next call or release(). */
  decide(outcome: AttemptOutcome): RetryDecision {
    this.release();
    if (!this.policy || !this.covers(outcome)) {
      if (this.retried && outcome.kind === 'response') this.stats.upstream_rq_retry_success++;
      return 'no';
    }
    if (this.retriesLeft <= 0) {
      if (this.policy.numRetries === 0 || this.disabled) return 'no';
      this.stats.upstream_rq_retry_limit_exceeded++;
      return 'exhausted';
    }
    if (!this.resources.retries.tryAcquire()) return 'overflow';
    this.holdsSlot = true;
    this.retriesLeft--;
    this.retried = true;
    this.stats.upstream_rq_retry++;
    return 'retry';
  }

  /** Full jitter over an exponential window: [0, base), [0, 2·base), … capped at the maximum. */
  backOffMs(): number {
    const max = this.policy?.backOff.maxMs ?? 0;
    const window = Math.min(this.nextWindowMs, max);
    this.nextWindowMs = Math.min(this.nextWindowMs * 2, max);
    return Math.floor(this.random() * window);
  }

  /** Pick a host: with previous_hosts, up to host_selection_retry_max_attempts picks to find one
   * not tried yet (the last pick stands if none is found). */
  selectHost<H>(pick: (avoid: H | undefined) => H | undefined, last: H | undefined): H | undefined {
    if (!this.policy?.avoidPreviousHosts) return pick(undefined);
    const tried = (this.tried ??= new Set());
    let host = pick(last);
    for (let i = 1; i < this.policy.hostSelectionMaxAttempts && host !== undefined && tried.has(host); i++) host = pick(last);
    if (host !== undefined) tried.add(host);
    return host;
  }

  /** The request is over (answered, failed or abandoned). */
  release(): void {
    if (!this.holdsSlot) return;
    this.holdsSlot = false;
    this.resources.retries.release();
  }

  private covers(o: AttemptOutcome): boolean {
    const on = this.policy!.on;
    if (o.kind === 'failure') {
      // Envoy counts a reset or timeout as a 5xx for the 5xx and gateway-error policies.
      if (on.status5xx || on.gatewayError || on.reset) return true;
      return o.failure === 'connect' && on.connectFailure;
    }
    const s = o.status;
    if (on.status5xx && s >= 500) return true;
    if (on.gatewayError && (s === 502 || s === 503 || s === 504)) return true;
    if (on.retriable4xx && s === RETRIABLE_4XX) return true;
    if (on.retriableStatusCodes && this.policy!.retriableStatusCodes.includes(s)) return true;
    return o.grpcStatus !== undefined && on.grpcStatuses.includes(o.grpcStatus);
  }
}

/** grpc-status from response headers (a trailers-only gRPC error carries it there). */
export function grpcStatusOf(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}
