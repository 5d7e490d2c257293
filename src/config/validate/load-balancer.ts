// DestinationRule trafficPolicy.loadBalancer: simple | consistentHash, localityLbSetting, warmup.
// Rules follow Istio's validation (validateLoadBalancer, validateLocalityLbSetting).
import type { ConsistentHashLB, LoadBalancerSettings, LocalityLbSetting, SimpleLB } from '../types.js';
import { fields, type Fields } from './fields.js';

const SIMPLE_LB: readonly SimpleLB[] = ['UNSPECIFIED', 'ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH'];
const HASH_KEYS = ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'] as const;
const UINT32 = 2 ** 32 - 1;

export function readLoadBalancer(f: Fields): LoadBalancerSettings | undefined {
  const lb = f.sub('loadBalancer', ['simple', 'consistentHash', 'localityLbSetting', 'warmupDurationSecs', 'warmup']);
  if (!lb) return undefined;
  const out: LoadBalancerSettings = {};
  if (lb.has('simple') && lb.has('consistentHash')) lb.issues.add('WEFT_E_CONFLICT', lb.at('consistentHash'), 'cannot be combined with simple');
  const simple = lb.oneOf('simple', SIMPLE_LB);
  // LEAST_CONN is Istio's deprecated alias of LEAST_REQUEST.
  if (simple !== undefined) out.simple = simple === 'LEAST_CONN' ? 'LEAST_REQUEST' : simple;
  const ch = readConsistentHash(lb);
  if (ch) out.consistentHash = ch;
  const loc = readLocalityLb(lb);
  if (loc) out.localityLbSetting = loc;
  const warmupSecs = lb.durationMs('warmupDurationSecs');
  const w = lb.sub('warmup', ['duration', 'minimumPercent', 'aggression']);
  if (warmupSecs !== undefined && w) lb.issues.add('WEFT_E_CONFLICT', lb.at('warmup'), 'cannot be combined with warmupDurationSecs');
  if (w) {
    const durationMs = w.durationMs('duration', { required: true });
    const minimumPercent = w.num('minimumPercent', { min: 0, max: 100 });
    const aggression = w.num('aggression', { min: 1 });
    if (durationMs !== undefined) out.warmup = { durationMs, ...(minimumPercent !== undefined ? { minimumPercent } : {}), ...(aggression !== undefined ? { aggression } : {}) };
  } else if (warmupSecs !== undefined) out.warmup = { durationMs: warmupSecs };
  return out;
}

function readConsistentHash(lb: Fields): ConsistentHashLB | undefined {
  const ch = lb.sub('consistentHash', [...HASH_KEYS, 'ringHash', 'maglev', 'minimumRingSize']);
  if (!ch) return undefined;
  const set = HASH_KEYS.filter((k) => ch.has(k) && !(k === 'useSourceIp' && ch.raw(k) === false));
  if (set.length !== 1) {
    ch.issues.add(set.length ? 'WEFT_E_CONFLICT' : 'WEFT_E_REQUIRED_FIELD', ch.path, `exactly one of ${HASH_KEYS.join(', ')} is required${set.length ? ` (got ${set.join(', ')})` : ''}`);
  }
  let key: ConsistentHashLB['key'] | undefined;
  const header = ch.str('httpHeaderName');
  if (header !== undefined) key = { kind: 'header', name: header.toLowerCase() };
  const query = ch.str('httpQueryParameterName');
  if (query !== undefined) key ??= { kind: 'queryParameter', name: query };
  if (ch.bool('useSourceIp') === true) key ??= { kind: 'sourceIp' };
  const cookie = ch.sub('httpCookie', ['name', 'path', 'ttl', 'attributes']);
  if (cookie) {
    const name = cookie.str('name', { required: true });
    const path = cookie.str('path');
    const ttlMs = cookie.durationMs('ttl', { allowZero: true });
    if (cookie.has('attributes')) cookie.issues.add('WEFT_E_UNSUPPORTED', cookie.at('attributes'), 'cookie attributes are not supported yet');
    if (name !== undefined) key ??= { kind: 'cookie', name, ...(path !== undefined ? { path } : {}), ...(ttlMs !== undefined ? { ttlMs } : {}) };
  }
  if (ch.has('ringHash') && ch.has('maglev')) ch.issues.add('WEFT_E_CONFLICT', ch.at('maglev'), 'cannot be combined with ringHash');
  if (ch.has('minimumRingSize') && (ch.has('ringHash') || ch.has('maglev'))) ch.issues.add('WEFT_E_CONFLICT', ch.at('minimumRingSize'), 'deprecated; set ringHash.minimumRingSize instead of both');
  let table: ConsistentHashLB['table'] = { kind: 'ringHash' };
  const legacyMin = ch.int('minimumRingSize', { min: 0, max: UINT32 });
  if (legacyMin) table = { kind: 'ringHash', minimumRingSize: legacyMin };
  const rh = ch.sub('ringHash', ['minimumRingSize']);
  const min = rh?.int('minimumRingSize', { min: 0, max: 8_388_608 });
  if (min) table = { kind: 'ringHash', minimumRingSize: min };
  const mg = ch.sub('maglev', ['tableSize']);
  if (mg) {
    const size = mg.int('tableSize', { min: 0, max: 5_000_011 });
    // Envoy requires a prime; Istio checks it too.
    if (size && !isPrimeNumber(size)) mg.issues.add('WEFT_E_INVALID_VALUE', mg.at('tableSize'), `${size} is not a prime number (Envoy's default is 65537)`);
    table = { kind: 'maglev', ...(size ? { tableSize: size } : {}) };
  }
  return key && { key, table };
}

function readLocalityLb(lb: Fields): LocalityLbSetting | undefined {
  const l = lb.sub('localityLbSetting', ['enabled', 'distribute', 'failover', 'failoverPriority']);
  if (!l) return undefined;
  const out: LocalityLbSetting = {};
  const enabled = l.bool('enabled');
  if (enabled !== undefined) out.enabled = enabled;
  const distribute: NonNullable<LocalityLbSetting['distribute']> = [];
  for (const { value, path } of l.list('distribute') ?? []) {
    const d = fields(l.issues, value, path, ['from', 'to']);
    if (!d) continue;
    const from = d.str('from', { required: true });
    const to: Record<string, number> = {};
    let sum = 0;
    for (const e of d.map('to') ?? []) {
      const w = typeof e.value === 'number' && Number.isInteger(e.value) && e.value >= 0 ? e.value : undefined;
      if (w === undefined) d.issues.add('WEFT_E_TYPE', e.path, 'must be a whole number of percent');
      else {
        to[e.key] = w;
        sum += w;
      }
    }
    if (Object.keys(to).length && sum !== 100) d.issues.add('WEFT_E_WEIGHTS', d.at('to'), `weights must add up to 100, got ${sum}`);
    if (from !== undefined) distribute.push({ from, to });
  }
  const failover: NonNullable<LocalityLbSetting['failover']> = [];
  for (const { value, path } of l.list('failover') ?? []) {
    const fo = fields(l.issues, value, path, ['from', 'to']);
    const from = fo?.str('from', { required: true });
    const to = fo?.str('to', { required: true });
    // Istio: failover is between regions, and a region does not fail over to itself.
    if (fo && from !== undefined && to !== undefined) {
      if (from === to) fo.issues.add('WEFT_E_INVALID_VALUE', fo.at('to'), 'must differ from from');
      if (from.includes('/') || to.includes('/')) fo.issues.add('WEFT_E_INVALID_VALUE', fo.path, 'failover is between regions (no zone or sub-zone)');
      failover.push({ from, to });
    }
  }
  const priority = l.strList('failoverPriority');
  if (distribute.length && failover.length) l.issues.add('WEFT_E_CONFLICT', l.at('failover'), 'cannot be combined with distribute');
  if (distribute.length) out.distribute = distribute;
  if (failover.length) out.failover = failover;
  if (priority?.length) out.failoverPriority = priority;
  return out;
}

function isPrimeNumber(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
