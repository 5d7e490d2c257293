// EDS locality groups and Istio's locality load balancing (pilot's ApplyLocalityLoadBalancer), from
// the client's point of view: endpoints are grouped by "region/zone/subzone" with the group's weight
// (the sum of its endpoints'); then either `distribute` re-weights groups for the client's locality
// (groups no rule names are dropped), or failover ranks groups into priorities: same sub-zone 0, same
// zone 1, same region 2, other regions 3 (4 for regions a `failover` rule does not name), renumbered
// without gaps. As in Istio, failover needs outlier detection (without it nothing would ever leave
// priority 0) and both need the client's locality. `failoverPriority` ranks endpoints by how many of
// the listed labels, in order, they share with the client (the topology keys read the locality).
import type { LocalityLbSetting, TrafficPolicy } from '../../config/types.js';
import type { MeshEndpoint, MeshSnapshot } from '../model/snapshot.js';

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

/** Who is asking: its locality ('' when unknown) and labels (failoverPriority compares them). */
export interface LocalityClient {
  locality: string;
  labels: Record<string, string>;
}

/** The locality setting in force for a cluster: the rule's, Istio's mesh default (enabled) otherwise. */
export function applyLocalityLb(groups: LocalityGroup[], client: LocalityClient, policy: TrafficPolicy): LocalityGroup[] {
  const setting: LocalityLbSetting = policy.loadBalancer?.localityLbSetting ?? {};
  if (setting.enabled === false) return groups;
  const keys = setting.failoverPriority ?? [];
  if (keys.length && policy.outlierDetection) return renumber(byLabelPriority(groups, client, keys, setting.failover));
  if (!client.locality || groups.every((g) => !g.locality)) return groups;
  if (setting.distribute?.length) return distribute(groups, client.locality, setting.distribute);
  if (policy.outlierDetection) return renumber(failover(groups, client.locality, setting.failover ?? []));
  return groups;
}

/** Label keys that stand for a part of the locality (Istio's topology labels). */
const TOPOLOGY_PART: Record<string, number> = { 'topology.kubernetes.io/region': 0, 'topology.kubernetes.io/zone': 1, 'topology.istio.io/subzone': 2 };

function labelValue(labels: Record<string, string>, locality: string, key: string): string | undefined {
  const part = TOPOLOGY_PART[key];
  if (part === undefined) return labels[key];
  return locality.split('/')[part] || undefined;
}

/** Istio's failoverPriority: matching all N keys (in order) is priority 0, the first N-1 is 1, …,
 * none is N. With `failover` rules too, the locality rank orders endpoints within each label rank. */
function byLabelPriority(groups: LocalityGroup[], client: LocalityClient, keys: readonly string[], rules: LocalityLbSetting['failover']): LocalityGroup[] {
  const split = new Map<string, LocalityGroup>();
  for (const g of groups)
    for (const e of g.endpoints) {
      let matched = 0;
      for (const k of keys) {
        const want = labelValue(client.labels, client.locality, k);
        if (want === undefined || want !== labelValue(e.labels, e.locality ?? '', k)) break;
        matched++;
      }
      const rank = keys.length - matched;
      const id = `${rank}|${g.locality}`;
      let sub = split.get(id);
      if (!sub) split.set(id, (sub = { locality: g.locality, endpoints: [], weight: 0, priority: rank }));
      sub.endpoints.push(e);
      sub.weight += e.weight;
    }
  const ranked = [...split.values()];
  if (!rules?.length || !client.locality) return ranked;
  const byLocality = new Map(failover(ranked, client.locality, rules).map((g) => [g.endpoints, g.priority]));
  return ranked.map((g) => ({ ...g, priority: g.priority * 5 + (byLocality.get(g.endpoints) ?? 0) }));
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
  return groups.map((g) => {
    const [r, z, s] = g.locality.split('/');
    let p = r !== region ? 3 : z !== zone ? 2 : s !== subZone ? 1 : 0;
    if (p === 3) {
      const rule = rules.find((f) => f.from === region);
      if (rule && r !== rule.to) p = 4;
    }
    return { ...g, priority: p };
  });
}

/** Priorities from 0 without gaps (Envoy wants them consecutive), groups in priority order. */
function renumber(groups: LocalityGroup[]): LocalityGroup[] {
  const levels = [...new Set(groups.map((g) => g.priority))].sort((a, b) => a - b);
  return groups.map((g) => ({ ...g, priority: levels.indexOf(g.priority) })).sort((a, b) => a.priority - b.priority);
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

const labelKeysBySnapshot = new WeakMap<MeshSnapshot, readonly string[]>();

/** Client label keys some DestinationRule's failoverPriority reads: the only labels EDS depends on
 * (the cache splits EDS by them, as it splits routes by sourceLabels keys). Once per snapshot. */
export function failoverLabelKeys(snap: MeshSnapshot): readonly string[] {
  let keys = labelKeysBySnapshot.get(snap);
  if (!keys) {
    const set = new Set<string>();
    for (const dr of snap.config.destinationRules) {
      const policies = [dr.spec.trafficPolicy, ...dr.spec.subsets.map((s) => s.trafficPolicy)];
      for (const p of policies) for (const layer of [p, ...(p?.portLevelSettings ?? [])]) for (const k of layer?.loadBalancer?.localityLbSetting?.failoverPriority ?? []) set.add(k);
    }
    keys = [...set].sort();
    labelKeysBySnapshot.set(snap, keys);
  }
  return keys;
}
