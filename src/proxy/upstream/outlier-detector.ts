// Passive outlier detection for one cluster, with Envoy's semantics (Outlier::DetectorImpl):
// each attempt's outcome is put as a typed result; consecutive 5xx, gateway failures and (when
// split) local-origin failures eject a host at once, bounded by max_ejection_percent (one host
// may always be ejected); an interval sweep returns hosts whose ejection time — base ejection
// time × the host's ejection multiplier, capped at max_ejection_time — has passed, and decays the
// multiplier of hosts that stayed healthy for a whole interval.
import type { OutlierDetection } from '../xds/model.js';

/** Failures the proxy itself observed, before or instead of an HTTP status. */
export type LocalOriginFailure = 'connect' | 'timeout' | 'reset';

export type UpstreamResult =
  | { kind: 'http'; status: number }
  /** The connection to the host was established (clears local-origin failure streaks). */
  | { kind: 'connect_success' }
  | { kind: 'local_failure'; failure: LocalOriginFailure };

type Detector = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure';
const detectors: readonly Detector[] = ['consecutive_5xx', 'consecutive_gateway_failure', 'consecutive_local_origin_failure'];

export type OutlierStats = Record<string, number>;

function newStats(): OutlierStats {
  const s: OutlierStats = { ejections_active: 0, ejections_enforced_total: 0, ejections_overflow: 0, ejections_returned_total: 0 };
  for (const d of detectors) {
    s[`ejections_detected_${d}`] = 0;
    s[`ejections_enforced_${d}`] = 0;
  }
  return s;
}

/** What /clusters shows per host. */
export interface HostOutlierView {
  ejected: boolean;
  /** Ejections of this host so far. */
  ejections: number;
}

class HostMonitor {
  consecutive5xx = 0;
  consecutiveGateway = 0;
  consecutiveLocal = 0;
  ejected = false;
  ejectedAt = 0;
  lastReturnedAt: number | undefined;
  /** Grows with each ejection, shrinks each healthy interval: the ejection time multiplier. */
  multiplier = 0;
  ejections = 0;

  resetStreaks(): void {
    this.consecutive5xx = 0;
    this.consecutiveGateway = 0;
    this.consecutiveLocal = 0;
  }
}

export interface OutlierDetectorOptions {
  now?: () => number;
  random?: () => number;
  /** Called when a host is ejected or returned (the cluster rebuilds its load balancer). */
  onChange: () => void;
}

export class OutlierDetector {
  readonly stats: OutlierStats = newStats();
  private config: OutlierDetection;
  private readonly monitors = new Map<string, HostMonitor>();
  private readonly now: () => number;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    config: OutlierDetection,
    private readonly o: OutlierDetectorOptions,
  ) {
    this.config = config;
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  /** Start the interval sweep (tests call sweep() themselves instead). */
  start(): void {
    this.stopTimer();
    this.timer = setInterval(() => this.sweep(), this.config.intervalMs).unref();
  }

  /** New settings keep each host's state, as Envoy keeps a detector across cluster updates only
   * when the config is unchanged; restarting the sweep is enough here. */
  update(config: OutlierDetection): void {
    const restart = this.timer !== undefined && config.intervalMs !== this.config.intervalMs;
    this.config = config;
    if (restart) this.start();
  }

  /** The cluster's host set (every host counts toward max_ejection_percent); hosts that left are forgotten. */
  setHosts(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const [key, m] of this.monitors) {
      if (keep.has(key)) continue;
      if (m.ejected) this.stats.ejections_active--;
      this.monitors.delete(key);
    }
    for (const key of keep) this.monitor(key);
  }

  isEjected(hostKey: string): boolean {
    return this.monitors.get(hostKey)?.ejected ?? false;
  }

  view(hostKey: string): HostOutlierView {
    const m = this.monitors.get(hostKey);
    return { ejected: m?.ejected ?? false, ejections: m?.ejections ?? 0 };
  }

  putResult(hostKey: string, result: UpstreamResult): void {
    const m = this.monitor(hostKey);
    const c = this.config;
    if (result.kind === 'http') return this.putStatus(hostKey, m, result.status);
    if (!c.splitExternalLocalOriginErrors) {
      // Not split: a local-origin failure counts as if the host had answered 503 (Envoy maps
      // connect failures and timeouts to the 5xx/gateway detectors); a connect success says nothing.
      if (result.kind === 'local_failure') this.putStatus(hostKey, m, 503);
      return;
    }
    if (result.kind === 'connect_success') {
      m.consecutiveLocal = 0;
      return;
    }
    if (++m.consecutiveLocal >= c.consecutiveLocalOriginFailure && c.consecutiveLocalOriginFailure > 0) {
      this.maybeEject(hostKey, m, 'consecutive_local_origin_failure', c.enforcingConsecutiveLocalOriginFailure);
    }
  }

  private putStatus(hostKey: string, m: HostMonitor, status: number): void {
    const c = this.config;
    if (status < 500) {
      m.consecutive5xx = 0;
      m.consecutiveGateway = 0;
      return;
    }
    const gateway = status === 502 || status === 503 || status === 504;
    if (gateway) {
      if (++m.consecutiveGateway >= c.consecutiveGatewayFailure && c.consecutiveGatewayFailure > 0) {
        this.maybeEject(hostKey, m, 'consecutive_gateway_failure', c.enforcingConsecutiveGatewayFailure);
      }
    } else m.consecutiveGateway = 0;
    if (++m.consecutive5xx >= c.consecutive5xx && c.consecutive5xx > 0) {
      this.maybeEject(hostKey, m, 'consecutive_5xx', c.enforcingConsecutive5xx);
    }
  }

  private maybeEject(hostKey: string, m: HostMonitor, why: Detector, enforcingPercent: number): void {
    if (m.ejected) return;
    this.stats[`ejections_detected_${why}`]++;
    // Envoy resets the streak that fired whether or not the ejection is enforced.
    if (why === 'consecutive_5xx') m.consecutive5xx = 0;
    else if (why === 'consecutive_gateway_failure') m.consecutiveGateway = 0;
    else m.consecutiveLocal = 0;
    if (this.random() * 100 >= enforcingPercent) return;
    // Checked against the hosts already ejected, so one host past the cap may go (Envoy, gRPC).
    if ((this.stats.ejections_active * 100) / Math.max(1, this.monitors.size) >= this.config.maxEjectionPercent) {
      this.stats.ejections_overflow++;
      return;
    }
    const c = this.config;
    if (m.multiplier * c.baseEjectionTimeMs < c.maxEjectionTimeMs) m.multiplier++;
    m.ejected = true;
    m.ejectedAt = this.now();
    m.ejections++;
    this.stats.ejections_active++;
    this.stats.ejections_enforced_total++;
    this.stats[`ejections_enforced_${why}`]++;
    this.o.onChange();
  }

  /** The interval sweep: return hosts whose time is up, decay the multiplier of healthy ones. */
  sweep(): void {
    const now = this.now();
    const c = this.config;
    let changed = false;
    for (const m of this.monitors.values()) {
      if (!m.ejected) {
        if (m.multiplier > 0 && m.lastReturnedAt !== undefined && now - m.lastReturnedAt >= c.intervalMs) m.multiplier--;
        continue;
      }
      const ejectionMs = Math.min(c.baseEjectionTimeMs * m.multiplier, c.maxEjectionTimeMs);
      if (now - m.ejectedAt < ejectionMs) continue;
      m.ejected = false;
      m.lastReturnedAt = now;
      // A returning host starts with clean streaks, so a few new errors do not eject it again at once.
      m.resetStreaks();
      this.stats.ejections_active--;
      this.stats.ejections_returned_total++;
      changed = true;
    }
    if (changed) this.o.onChange();
  }

  stop(): void {
    this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private monitor(hostKey: string): HostMonitor {
    let m = this.monitors.get(hostKey);
    if (!m) {
      m = new HostMonitor();
      this.monitors.set(hostKey, m);
    }
    return m;
  }
}
