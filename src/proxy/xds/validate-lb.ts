// The load-balancing parts of envoy.config.cluster.v3.Cluster: the lb_config oneof (ring hash,
// Maglev, least request, round robin with slow start) and common_lb_config. ORIGINAL_DST /
// CLUSTER_PROVIDED live in validate-original-dst.ts.
import type { ClusterLbConfig, LbPolicy } from './model.js';
import { durationMs, has, isObj, join, num, obj, Problems, str, wrapped, type Raw } from './validate-common.js';
import { isPrime, DEFAULT_MAGLEV_TABLE_SIZE } from '../upstream/maglev.js';
import { defaultRingHash } from '../upstream/ring-hash.js';

const MAX_RING_SIZE = 8_388_608; // Envoy's bound on both ring sizes
const MAX_MAGLEV_TABLE_SIZE = 5_000_011;

/** The lb_policy and type values a cluster may name, with a reason for the ones we refuse. */
export function lbPolicyProblem(name: string): string | undefined {
  // CLUSTER_PROVIDED is checked with the cluster's type (validate-original-dst.ts).
  if (['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'RING_HASH', 'MAGLEV', 'CLUSTER_PROVIDED'].includes(name)) return undefined;
  return `${name} is not supported (supported: ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH, MAGLEV, and CLUSTER_PROVIDED for ORIGINAL_DST clusters)`;
}

export function clusterLbConfig(raw: Raw, policy: LbPolicy, p: Problems): ClusterLbConfig {
  const out: ClusterLbConfig = {
    ringHash: { ...defaultRingHash },
    maglevTableSize: DEFAULT_MAGLEV_TABLE_SIZE,
    activeRequestBias: 1,
    slowStart: undefined,
    localityWeighted: false,
  };
  // Envoy rejects an lb_config that does not belong to the cluster's lb_policy.
  const owner: Record<string, LbPolicy> = {
    ring_hash_lb_config: 'RING_HASH',
    maglev_lb_config: 'MAGLEV',
    least_request_lb_config: 'LEAST_REQUEST',
    round_robin_lb_config: 'ROUND_ROBIN',
  };
  for (const [field, want] of Object.entries(owner)) {
    if (has(raw, field) && policy !== want) p.add(field, `only applies to lb_policy ${want} (the cluster's is ${policy})`);
  }

  const rh = obj(raw.ring_hash_lb_config);
  if (has(rh, 'minimum_ring_size')) out.ringHash.minimumRingSize = wrapped(rh.minimum_ring_size, defaultRingHash.minimumRingSize);
  if (has(rh, 'maximum_ring_size')) out.ringHash.maximumRingSize = wrapped(rh.maximum_ring_size, defaultRingHash.maximumRingSize);
  for (const k of ['minimum_ring_size', 'maximum_ring_size'] as const) {
    const v = k === 'minimum_ring_size' ? out.ringHash.minimumRingSize : out.ringHash.maximumRingSize;
    if (v < 1 || v > MAX_RING_SIZE) p.add(`ring_hash_lb_config.${k}`, `${v} is outside 1..${MAX_RING_SIZE}`);
  }
  if (out.ringHash.minimumRingSize > out.ringHash.maximumRingSize) {
    p.add('ring_hash_lb_config', `minimum_ring_size ${out.ringHash.minimumRingSize} exceeds maximum_ring_size ${out.ringHash.maximumRingSize}`);
  }
  // XX_HASH is the default and stands for "the proxy's hash" (MurmurHash3 here); MURMUR_HASH_2 asks for
  // compatibility with other rings, which we do not provide.
  if (has(rh, 'hash_function') && str(rh.hash_function) !== 'XX_HASH') p.add('ring_hash_lb_config.hash_function', `${str(rh.hash_function)} is not supported (only the default)`);

  const mg = obj(raw.maglev_lb_config);
  if (has(mg, 'table_size')) {
    const size = wrapped(mg.table_size, DEFAULT_MAGLEV_TABLE_SIZE);
    if (!isPrime(size) || size > MAX_MAGLEV_TABLE_SIZE) p.add('maglev_lb_config.table_size', `${size} must be a prime number no larger than ${MAX_MAGLEV_TABLE_SIZE}`);
    else out.maglevTableSize = size;
  }

  const lr = obj(raw.least_request_lb_config);
  if (has(lr, 'active_request_bias')) {
    const bias = runtimeDouble(lr.active_request_bias, 1);
    if (!(bias >= 0)) p.add('least_request_lb_config.active_request_bias', 'must not be negative');
    else out.activeRequestBias = bias;
  }
  // Slow start lives in the config of the policy it applies to (only one of them can be set).
  for (const field of ['least_request_lb_config', 'round_robin_lb_config']) {
    const cfg = obj(raw[field]);
    if (has(cfg, 'slow_start_config')) out.slowStart = slowStart(obj(cfg.slow_start_config), `${field}.slow_start_config`, p);
  }

  const common = obj(raw.common_lb_config);
  out.localityWeighted = has(common, 'locality_weighted_lb_config');
  for (const [k, why] of [
    ['zone_aware_lb_config', 'zone-aware routing needs the local cluster (cluster_manager.local_cluster_name), which this sidecar has no notion of'],
    ['override_host_status', 'not supported'],
  ] as const) {
    if (has(common, k)) p.add(join('common_lb_config', k), why);
  }
  if (common.close_connections_on_host_set_change === true) p.add('common_lb_config.close_connections_on_host_set_change', 'not supported');
  const ch = obj(common.consistent_hashing_lb_config);
  if (ch.use_hostname_for_hashing === true) p.add('common_lb_config.consistent_hashing_lb_config.use_hostname_for_hashing', 'not supported (hosts are hashed by address)');
  if (has(ch, 'hash_balance_factor')) p.add('common_lb_config.consistent_hashing_lb_config.hash_balance_factor', 'bounded-load consistent hashing is not supported');
  return out;
}

function slowStart(raw: Raw, path: string, p: Problems): ClusterLbConfig['slowStart'] {
  const windowMs = durationMs(raw.slow_start_window, join(path, 'slow_start_window'), p) ?? 0;
  if (windowMs <= 0) {
    p.add(join(path, 'slow_start_window'), 'is required and must be positive');
    return undefined;
  }
  const aggression = has(raw, 'aggression') ? runtimeDouble(raw.aggression, 1) : 1;
  if (!(aggression > 0)) p.add(join(path, 'aggression'), 'must be greater than 0');
  const minWeightPercent = has(raw, 'min_weight_percent') ? num(obj(raw.min_weight_percent).value) : 10;
  if (minWeightPercent < 0 || minWeightPercent > 100) p.add(join(path, 'min_weight_percent'), `${minWeightPercent} is outside 0..100`);
  return { windowMs, aggression, minWeightPercent };
}

/** core.v3.RuntimeDouble: there is no runtime here, so the default value is the value. */
function runtimeDouble(v: unknown, dflt: number): number {
  return isObj(v) && has(v, 'default_value') ? num(v.default_value) : isObj(v) ? 0 : dflt;
}
