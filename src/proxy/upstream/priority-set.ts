// Envoy's priority levels and locality-weighted balancing above the per-host balancers.
//
// Priority: each level's health is min(100, overprovisioning · healthy/total) percent (Envoy's
// default factor 1.4, so a level keeps all traffic until fewer than ~71% of its hosts are healthy);
// levels take load in order, each as much as its health allows of what is left, normalised by the
// sum of health when that is below 100. Locality: within a level, with locality_weighted_lb_config,
// a locality is chosen by its EDS weight times its own availability (same factor), in a smooth
// weighted round robin so shares hold exactly rather than by chance; then a host within it.
import { createLoadBalancer, WeightedRoundRobin, type Balanceable, type LbContext, type LbOptions, type LoadBalancer } from './load-balancer.js';
import type { LbPolicy } from '../xds/model.js';

export interface PrioritizedHost extends Balanceable {
  priority: number;
  /** "region/zone/sub_zone" of the host's locality group ('' when none). */
  locality: string;
  /** The locality group's load_balancing_weight (0: unset). */
  localityWeight: number;
}

export interface PrioritySetOptions extends LbOptions {
  policy: LbPolicy;
  /** common_lb_config.locality_weighted_lb_config is set. */
  localityWeighted: boolean;
  /** ClusterLoadAssignment.policy.overprovisioning_factor in percent (Envoy's default 140). */
  overprovisioningFactor: number;
  /** common_lb_config.healthy_panic_threshold in percent (0 or absent: never panic). */
  panicThresholdPercent?: number;
}

export const DEFAULT_OVERPROVISIONING_FACTOR = 140;

interface Level<H extends Balanceable> {
  priority: number;
  /** Percent of traffic this level takes. */
  load: number;
  lb: LoadBalancer<H>;
  size: number;
}

/** Envoy's per-level health percent and the resulting load per level (both in percent). */
export function priorityLoads(levels: readonly { total: number; healthy: number }[], factor: number): number[] {
  const health = levels.map((l) => (l.total === 0 ? 0 : Math.min(100, (factor * l.healthy) / l.total)));
  const sum = Math.min(100, health.reduce((s, h) => s + h, 0));
  // Nothing healthy anywhere: all load stays on the first level (which then has nothing to pick).
  if (sum === 0) return levels.map((_, i) => (i === 0 ? 100 : 0));
  let left = 100;
  return health.map((h) => {
    const load = Math.min(left, (h * 100) / sum);
    left -= load;
    return load;
  });
}

/** Envoy's panic mode per level: only when the levels together are under 100% healthy; then a level
 * whose usable share is under the threshold balances over all its hosts (no healthy host at all:
 * every level panics). */
export function panicLevels(levels: readonly { total: number; healthy: number }[], factor: number, threshold: number): boolean[] {
  const health = levels.reduce((s, l) => s + (l.total === 0 ? 0 : Math.min(100, (factor * l.healthy) / l.total)), 0);
  if (threshold <= 0 || health >= 100) return levels.map(() => false);
  return levels.map((l) => health === 0 || (l.total > 0 && (100 * l.healthy) / l.total < threshold));
}

export function createPrioritySetLb<H extends PrioritizedHost>(all: readonly H[], eligible: readonly H[], o: PrioritySetOptions): LoadBalancer<H> {
  const random = o.random ?? Math.random;
  const priorities = [...new Set(all.map((h) => h.priority))].sort((a, b) => a - b);
  const stats = priorities.map((p) => ({ total: all.filter((h) => h.priority === p).length, healthy: eligible.filter((h) => h.priority === p).length }));
  const panic = panicLevels(stats, o.overprovisioningFactor, o.panicThresholdPercent ?? 0);
  if (priorities.length <= 1 && !o.localityWeighted) return createLoadBalancer(o.policy, panic[0] ? all : eligible, o);
  let loads = priorityLoads(stats, o.overprovisioningFactor);
  // Total panic (nothing usable anywhere): Envoy spreads by each level's share of the hosts.
  if (panic.every(Boolean) && stats.every((l) => l.healthy === 0)) loads = stats.map((l) => (100 * l.total) / all.length);
  const levels: Level<H>[] = priorities.map((p, i) => {
    const hostsOf = all.filter((h) => h.priority === p);
    const inLevel = panic[i] ? hostsOf : eligible.filter((h) => h.priority === p);
    return { priority: p, load: loads[i], size: inLevel.length, lb: levelLb(hostsOf, inLevel, o) };
  });
  return {
    pick(avoid?: H, ctx?: LbContext): H | undefined {
      // Hash balancers choose the level from the hash too, so a key keeps its level (as Envoy does).
      let x = ctx?.hash !== undefined ? ctx.hash % 100 : random() * 100;
      let chosen: Level<H> | undefined;
      for (const l of levels) {
        if (l.load <= 0) continue;
        chosen = l;
        if (x < l.load) break;
        x -= l.load;
      }
      const h = chosen?.lb.pick(avoid, ctx);
      if (h) return h;
      for (const l of levels) if (l.size > 0) return l.lb.pick(avoid, ctx);
      return undefined;
    },
  };
}

/** Hash balancers ignore locality weights (as in Envoy: a ring spans the whole level). */
function levelLb<H extends PrioritizedHost>(all: readonly H[], eligible: readonly H[], o: PrioritySetOptions): LoadBalancer<H> {
  if (!o.localityWeighted || o.policy === 'RING_HASH' || o.policy === 'MAGLEV') return createLoadBalancer(o.policy, eligible, o);
  const groups = new Map<string, { total: number; eligible: H[]; weight: number }>();
  for (const h of all) {
    let g = groups.get(h.locality);
    if (!g) groups.set(h.locality, (g = { total: 0, eligible: [], weight: h.localityWeight }));
    g.total++;
  }
  for (const h of eligible) groups.get(h.locality)?.eligible.push(h);
  const localities: { weight: number; active: number; lb: LoadBalancer<H> }[] = [];
  for (const g of groups.values()) {
    const availability = Math.min(1, (o.overprovisioningFactor / 100) * (g.eligible.length / g.total));
    // A locality without a weight receives no traffic under locality-weighted balancing (Envoy),
    // unless no locality has one (below).
    const weight = g.weight * availability;
    if (weight > 0 && g.eligible.length > 0) localities.push({ weight, active: 0, lb: createLoadBalancer(o.policy, g.eligible, o) });
  }
  // No locality carries a weight: Envoy has no locality to choose and balances over the whole level.
  if (localities.length === 0) return createLoadBalancer(o.policy, eligible, o);
  const chooser = new WeightedRoundRobin(localities, (l) => l.weight);
  return { pick: (avoid, ctx) => chooser.pick().lb.pick(avoid, ctx) };
}
