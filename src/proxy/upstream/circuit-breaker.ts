// Circuit-breaker resources of one cluster (Envoy's ResourceManager for the DEFAULT priority):
// open connections, requests waiting for a connection, requests in flight, and retries in flight.
// Each is a counter with a limit; when a limit is hit the caller fails fast and the overflow is
// counted per cluster. The retry limit is either max_retries or, with a retry budget, a share of
// the active and pending requests (never below min_retry_concurrency).
import type { PoolResources } from '../http1/client.js';
import type { CircuitBreakers } from '../xds/model.js';

export interface OverflowStats {
  upstream_cx_overflow: number;
  upstream_rq_pending_overflow: number;
  upstream_rq_retry_overflow: number;
}

/** One limited resource: a count in use and a limit read at each check (the retry limit moves). */
class Resource {
  count = 0;
  constructor(
    readonly max: () => number,
    private readonly onOverflow: () => void,
  ) {}

  /** Take one unit; false (and the overflow counted) when the limit is reached. */
  tryAcquire(): boolean {
    if (this.count >= this.max()) {
      this.onOverflow();
      return false;
    }
    this.count++;
    return true;
  }

  release(): void {
    this.count--;
  }
}

export class ClusterResources implements PoolResources {
  private limits: CircuitBreakers;
  // Envoy counts max_requests overflows under the pending-overflow stat too.
  readonly requests = new Resource(() => this.limits.maxRequests, () => this.stats.upstream_rq_pending_overflow++);
  readonly pending = new Resource(() => this.limits.maxPendingRequests, () => this.stats.upstream_rq_pending_overflow++);
  readonly retries = new Resource(() => this.maxRetries(), () => this.stats.upstream_rq_retry_overflow++);
  /** Open (and opening) connections; the pools check before opening rather than acquire. */
  connections = 0;

  constructor(
    limits: CircuitBreakers,
    private readonly stats: OverflowStats,
  ) {
    this.limits = limits;
  }

  update(limits: CircuitBreakers): void {
    this.limits = limits;
  }

  /** max_retries, or with a retry budget a share of the active and pending requests. */
  maxRetries(): number {
    const b = this.limits.retryBudget;
    if (!b) return this.limits.maxRetries;
    return Math.max(Math.floor((b.percent / 100) * (this.requests.count + this.pending.count)), b.minConcurrency);
  }

  /** Envoy's circuit_breakers.default.* gauges: whether each breaker is open, and what remains. */
  gauges(): Record<string, number> {
    const l = this.limits;
    const rows: [string, number, number][] = [
      ['cx', this.connections, l.maxConnections],
      ['rq_pending', this.pending.count, l.maxPendingRequests],
      ['rq', this.requests.count, l.maxRequests],
      ['rq_retry', this.retries.count, this.maxRetries()],
    ];
    const out: Record<string, number> = {};
    for (const [name, used, max] of rows) {
      out[`${name}_open`] = used >= max ? 1 : 0;
      out[`remaining_${name}`] = Math.max(0, max - used);
    }
    return out;
  }

  // ---- PoolResources: what the host pools use ----

  canOpenConnection(): boolean {
    return this.connections < this.limits.maxConnections;
  }

  onConnectionOverflow(): void {
    this.stats.upstream_cx_overflow++;
  }

  connectionOpened(): void {
    this.connections++;
  }

  connectionClosed(): void {
    this.connections--;
  }

  tryAcquirePending(): boolean {
    return this.pending.tryAcquire();
  }

  releasePending(): void {
    this.pending.release();
  }
}
