// Slow start (Envoy's slow_start_config on ROUND_ROBIN and LEAST_REQUEST): a host that joined the
// cluster less than `windowMs` ago gets a share of its weight that grows with time,
//   weight · max(minWeightPercent/100, timeFactor^(1/aggression)),  timeFactor = max(age, 1 s)/window,
// so an instance that still fills caches or JIT-compiles is not handed its full load at once.
import type { Balanceable } from './load-balancer.js';

export interface SlowStartConfig {
  windowMs: number;
  /** Envoy's default 1.0 (linear); larger ramps faster early on. */
  aggression: number;
  /** Envoy's default 10. */
  minWeightPercent: number;
}

/** A host's weight now: its configured weight, scaled down while it is in its slow-start window. */
export function slowStartWeight(h: Balanceable, cfg: SlowStartConfig | undefined, nowMs: number): number {
  if (!cfg || h.addedAtMs === undefined) return h.weight;
  const age = nowMs - h.addedAtMs;
  if (age >= cfg.windowMs) return h.weight;
  const timeFactor = Math.max(age, 1000) / cfg.windowMs;
  const factor = Math.max(cfg.minWeightPercent / 100, timeFactor ** (1 / cfg.aggression));
  return h.weight * Math.min(factor, 1);
}
