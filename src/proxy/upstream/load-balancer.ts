// Load balancers over a cluster's eligible hosts (one priority level, or one locality of it). Each
// is built once per host-set change and picks in O(1) (round robin, least request, Maglev) or
// O(log n) (weighted random, ring hash). Priorities and localities sit above this: priority-set.ts.
import type { LbPolicy } from '../xds/model.js';
import { Maglev, DEFAULT_MAGLEV_TABLE_SIZE } from './maglev.js';
import { defaultRingHash, RingHash, type RingHashConfig } from './ring-hash.js';
import { slowStartWeight, type SlowStartConfig } from './slow-start.js';

/** What a balancer needs from a host (UpstreamHost satisfies it; tests use plain objects). */
export interface Balanceable {
  weight: number;
  active: number;
  /** Stable identity hashed onto a ring or Maglev table ("ip:port"); the index when absent. */
  key?: string;
  /** When the host joined its cluster (slow start); undefined: never in slow start. */
  addedAtMs?: number;
}

/** Per-request input to a pick: the hash from the route's hash_policy, when one produced a value. */
export interface LbContext {
  hash?: number;
  /** ORIGINAL_DST clusters: where the downstream connection was going (or what the header named). */
  originalDst?: { address: string; port: number };
}

export interface LoadBalancer<H extends Balanceable> {
  /** A host, avoiding `avoid` when another is available (retries go elsewhere). */
  pick(avoid?: H, ctx?: LbContext): H | undefined;
}

export interface LbOptions {
  random?: () => number;
  /** LEAST_REQUEST: how many random hosts to compare (Envoy's choice_count, default 2). */
  choiceCount?: number;
  /** LEAST_REQUEST: Envoy's active_request_bias (default 1): weight / (active + 1)^bias. */
  activeRequestBias?: number;
  ringHash?: RingHashConfig;
  maglevTableSize?: number;
  slowStart?: SlowStartConfig;
  /** Clock for slow start (ms). */
  now?: () => number;
}

export function createLoadBalancer<H extends Balanceable>(policy: LbPolicy, hosts: readonly H[], o: LbOptions = {}): LoadBalancer<H> {
  const random = o.random ?? Math.random;
  if (hosts.length === 0) return { pick: () => undefined };
  if (hosts.length === 1) {
    const only = hosts[0];
    return { pick: () => only };
  }
  const now = o.now ?? Date.now;
  const slow = o.slowStart && hosts.some((h) => h.addedAtMs !== undefined) ? o.slowStart : undefined;
  const weightOf = slow ? (h: H) => slowStartWeight(h, slow, now()) : (h: H) => h.weight;
  switch (policy) {
    case 'ROUND_ROBIN':
      return !slow && uniformWeights(hosts) ? new RoundRobin(hosts, random) : new WeightedRoundRobin(hosts, weightOf);
    case 'LEAST_REQUEST':
      return new LeastRequest(hosts, random, o.choiceCount ?? 2, o.activeRequestBias ?? 1, weightOf);
    case 'RANDOM':
      return new WeightedRandom(hosts, random);
    case 'RING_HASH':
      return new RingHash(hosts, o.ringHash ?? defaultRingHash, random);
    case 'MAGLEV':
      return new Maglev(hosts, o.maglevTableSize ?? DEFAULT_MAGLEV_TABLE_SIZE, random);
    case 'CLUSTER_PROVIDED':
      // An ORIGINAL_DST cluster picks by each connection's original destination (original-dst-hosts.ts).
      return { pick: () => undefined };
  }
}

function uniformWeights(hosts: readonly Balanceable[]): boolean {
  return hosts.every((h) => h.weight === hosts[0].weight);
}

class RoundRobin<H extends Balanceable> implements LoadBalancer<H> {
  private next: number;
  constructor(
    private readonly hosts: readonly H[],
    random: () => number,
  ) {
    // Start at a random offset so many proxies do not all hit the first host at once.
    this.next = Math.floor(random() * hosts.length);
  }
  pick(avoid?: H): H {
    let h = this.hosts[this.next];
    this.next = (this.next + 1) % this.hosts.length;
    if (h === avoid) {
      h = this.hosts[this.next];
      this.next = (this.next + 1) % this.hosts.length;
    }
    return h;
  }
}

/** Smooth weighted round robin (each pick: add weights, take the max, subtract the total). Weights
 * are read on every pick, so slow-start weights that grow over time take effect at once. */
export class WeightedRoundRobin<H extends Balanceable> implements LoadBalancer<H> {
  private readonly current: number[];
  constructor(
    private readonly hosts: readonly H[],
    private readonly weightOf: (h: H) => number,
  ) {
    this.current = hosts.map(() => 0);
  }
  pick(avoid?: H): H {
    let h = this.step();
    if (h === avoid) h = this.step();
    return h;
  }
  private step(): H {
    let best = 0;
    let total = 0;
    for (let i = 0; i < this.hosts.length; i++) {
      const w = this.weightOf(this.hosts[i]);
      total += w;
      this.current[i] += w;
      if (this.current[i] > this.current[best]) best = i;
    }
    this.current[best] -= total;
    return this.hosts[best];
  }
}

/** Power of N choices on active requests (weights scale the comparison, as in Envoy). */
class LeastRequest<H extends Balanceable> implements LoadBalancer<H> {
  constructor(
    private readonly hosts: readonly H[],
    private readonly random: () => number,
    private readonly choices: number,
    private readonly bias: number,
    private readonly weightOf: (h: H) => number,
  ) {}
  pick(avoid?: H): H {
    const n = this.hosts.length;
    let best: H | undefined;
    let bestScore = Infinity;
    for (let c = 0; c < this.choices; c++) {
      const h = this.hosts[Math.floor(this.random() * n)];
      if (h === avoid) continue;
      const score = (this.bias === 1 ? h.active + 1 : (h.active + 1) ** this.bias) / this.weightOf(h);
      if (score < bestScore) {
        best = h;
        bestScore = score;
      }
    }
    return best ?? this.hosts.find((h) => h !== avoid) ?? this.hosts[0];
  }
}

class WeightedRandom<H extends Balanceable> implements LoadBalancer<H> {
  private readonly cumulative: number[];
  private readonly total: number;
  constructor(
    private readonly hosts: readonly H[],
    private readonly random: () => number,
  ) {
    let sum = 0;
    this.cumulative = hosts.map((h) => (sum += h.weight));
    this.total = sum;
  }
  pick(avoid?: H): H {
    let h = this.draw();
    if (h === avoid) h = this.draw();
    return h;
  }
  private draw(): H {
    return this.hosts[pickIndex(this.cumulative, this.random() * this.total)];
  }
}

/** The first index whose cumulative weight exceeds x (binary search). */
export function pickIndex(cumulative: readonly number[], x: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
