// EDS locality groups and Istio's locality load balancing (pilot's ApplyLocalityLoadBalancer), from
// the client's point of view: endpoints are grouped by "region/zone/subzone" with the group's weight
// (the sum of its endpoints'); then either `distribute` re-weights groups for the client's locality
// (groups no rule names are dropped), or failover ranks groups into priorities: same sub-zone 0, same
// zone 1, same region 2, other regions 3 (4 for regions a `failover` rule does not name), renumbered
// without gaps. As in Istio, failover needs outlier detection (without it nothing would ever leave
// priority 0) and both need the client's locality.
import type { LocalityLbSetting, TrafficPolicy } from '../../config/types.js';
import type { MeshEndpoint } from '../model/snapshot.js';

export interface LocalityGroup {
  locality: string;
  endpoints: MeshEndpoint[];
  weight: number;
  priority: number;
}

/** Group endpoints by locality, in first-seen order (endpoints arrive sorted by address). */
export function groupByLocality(endpoints: readonly MeshEndpoint[]): LocalityGroup[] {
  const groups = new Map<string, LocalityGroup>();
  for (const e of endpoints) {
    const loc = e.locality ?? '';
    let g = groups.get(loc);
    if (!g) groups.set(loc, (g = { locality: loc, endpoints: [], weight: 0, priority: 0 }));
    g.endpoints.push(e);
    g.weight += e.weight;
  }
  return [...groups.values()];
}

/** The locality setting in force for a cluster: the rule's, Istio's mesh default (enabled) otherwise. */
export function applyLocalityLb(groups: LocalityGroup[], clientLocality: string, policy: TrafficPolicy): LocalityGroup[] {
  const setting: LocalityLbSetting = policy.loadBalancer?.localityLbSetting ?? {};
  if (!clientLocality || setting.enabled === false || groups.every((g) => !g.locality)) return groups;
  if (setting.distribute?.length) return distribute(groups, clientLocality, setting.distribute);
  if (policy.outlierDetection) return failover(groups, clientLocality, setting.failover ?? []);
  return groups;
}

/** Istio's LocalityMatch: a rule "r/z/*" (or "r", "*") against a concrete "r/z/s". */
export function localityMatches(locality: string, rule: string): boolean {
  const have = locality.split('/');
  return rule.split('/').every((part, i) => part === '*' || part === (have[i] ?? ''));
}

function distribute(groups: LocalityGroup[], client: string, rules: NonNullable<LocalityLbSetting['distribute']>): LocalityGroup[] {
  const rule = rules.find((r) => localityMatches(client, r.from));
  if (!rule) return groups;
  const weights = new Map<LocalityGroup, number>();
  for (const [to, pct] of Object.entries(rule.to)) {
    // A wildcard that names several groups splits its share by their own weights.
    const matched = groups.filter((g) => !weights.has(g) && localityMatches(g.locality, to));
    const total = matched.reduce((s, g) => s + g.weight, 0);
    for (const g of matched) weights.set(g, total ? Math.ceil((g.weight * pct) / total) : 0);
  }
  return groups.filter((g) => (weights.get(g) ?? 0) > 0).map((g) => ({ ...g, weight: weights.get(g)! }));
}

function failover(groups: LocalityGroup[], client: string, rules: NonNullable<LocalityLbSetting['failover']>): LocalityGroup[] {
  const [region, zone, subZone] = client.split('/');
  const ranked = groups.map((g) => {
    const [r, z, s] = g.locality.split('/');
    let p = r !== region ? 3 : z !== zone ? 2 : s !== subZone ? 1 : 0;
    if (p === 3) {
      const rule = rules.find((f) => f.from === region);
      if (rule && r !== rule.to) p = 4;
    }
    return { ...g, priority: p };
  });
  const levels = [...new Set(ranked.map((g) => g.priority))].sort((a, b) => a - b);
  return ranked.map((g) => ({ ...g, priority: levels.indexOf(g.priority) })).sort((a, b) => a.priority - b.priority);
}

/** Envoy's Locality message for "region/zone/subzone". */
export function envoyLocality(locality: string): Record<string, string> {
  const [region = '', zone = '', subZone = ''] = locality.split('/');
  const out: Record<string, string> = {};
  if (region) out.region = region;
  if (zone) out.zone = zone;
  if (subZone) out.sub_zone = subZone;
  return out;
}
