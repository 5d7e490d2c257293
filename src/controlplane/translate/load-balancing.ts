// DestinationRule loadBalancer → Envoy: the cluster's lb_policy and lb config (CDS), and for
// consistent hashing the route's hash_policy (RDS), which is where Istio puts it: the cluster only
// says "ring hash" or "Maglev", the route says what to hash.
import type { ConsistentHashLB, TrafficPolicy } from '../../config/types.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import { destinationRuleFor, effectivePolicy, envoyLbPolicy } from './destination-rules.js';
import { duration } from './types.js';

/** Istio's PASSTHROUGH: connect to the address the caller was going to (ORIGINAL_DST). */
export const isPassthrough = (policy: TrafficPolicy): boolean => policy.loadBalancer?.simple === 'PASSTHROUGH' && !policy.loadBalancer.consistentHash;

/** lb_policy and its config for an outbound cluster (type and discovery stay with the caller,
 * except PASSTHROUGH, which is a cluster type of its own). */
export function clusterLbFields(policy: TrafficPolicy): Record<string, unknown> {
  const lb = policy.loadBalancer;
  if (lb && isPassthrough(policy)) return { type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' };
  const out: Record<string, unknown> = {};
  const ch = lb?.consistentHash;
  if (ch) {
    if (ch.table.kind === 'maglev') {
      out.lb_policy = 'MAGLEV';
      if (ch.table.tableSize) out.maglev_lb_config = { table_size: { value: ch.table.tableSize } };
    } else {
      out.lb_policy = 'RING_HASH';
      if (ch.table.minimumRingSize) out.ring_hash_lb_config = { minimum_ring_size: { value: ch.table.minimumRingSize } };
    }
  } else {
    const name = envoyLbPolicy(lb?.simple);
    out.lb_policy = name;
    // Warm-up applies to round robin and least request only, as in Istio.
    if (lb?.warmup && name !== 'RANDOM') {
      const slow: Record<string, unknown> = { slow_start_window: duration(lb.warmup.durationMs) };
      if (lb.warmup.aggression !== undefined) slow.aggression = { default_value: lb.warmup.aggression, runtime_key: '' };
      if (lb.warmup.minimumPercent !== undefined) slow.min_weight_percent = { value: lb.warmup.minimumPercent };
      out[name === 'ROUND_ROBIN' ? 'round_robin_lb_config' : 'least_request_lb_config'] = { slow_start_config: slow };
    }
  }
  // Locality weights (distribute) only mean something with locality-weighted balancing on; hash
  // balancers ignore them in Envoy, so Istio leaves it off there too.
  const loc = lb?.localityLbSetting;
  if (loc && loc.enabled !== false && !ch) out.common_lb_config = { locality_weighted_lb_config: {} };
  return out;
}

/** RouteAction.hash_policy for one consistent-hash setting. */
export function hashPolicyOf(ch: ConsistentHashLB): Record<string, unknown> {
  const k = ch.key;
  switch (k.kind) {
    case 'header':
      return { header: { header_name: k.name } };
    case 'cookie':
      return { cookie: { name: k.name, ...(k.path !== undefined ? { path: k.path } : {}), ...(k.ttlMs !== undefined ? { ttl: duration(k.ttlMs) } : {}) } };
    case 'sourceIp':
      return { connection_properties: { source_ip: true } };
    case 'queryParameter':
      return { query_parameter: { name: k.name } };
  }
}

/** `{hash_policy}` for a route to these outbound clusters: the destinations' consistent hash when
 * they agree on one (a route has a single hash), nothing when none has one or they differ. */
export function routeHashPolicy(snap: MeshSnapshot, clientNamespace: string, clusterNames: readonly string[]): Record<string, unknown> {
  let chosen: string | undefined;
  let policy: Record<string, unknown> | undefined;
  for (const name of clusterNames) {
    const [dir, port, subset, hostname] = name.split('|');
    const svc = snap.serviceByHost.get(hostname);
    if (dir !== 'outbound' || !svc) continue;
    const ch = effectivePolicy(destinationRuleFor(snap, hostname, clientNamespace, svc.namespace), Number(port), subset || undefined).loadBalancer?.consistentHash;
    if (!ch) continue;
    const hp = hashPolicyOf(ch);
    const key = JSON.stringify(hp);
    if (chosen !== undefined && chosen !== key) return {};
    chosen = key;
    policy = hp;
  }
  return policy ? { hash_policy: [policy] } : {};
}
