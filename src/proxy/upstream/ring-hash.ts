// Ketama-style consistent hashing (Envoy's RING_HASH): each host owns points on a 32-bit ring in
// proportion to its weight; a request's hash is served by the first point at or after it. Removing
// a host moves only the keys its points owned (about 1/n of them), which is why a cache-affine
// service keeps most of its hit rate when an instance goes away.
import type { Balanceable, LbContext, LoadBalancer } from './load-balancer.js';
import { murmur3 } from './hash.js';

export interface RingHashConfig {
  /** Envoy's defaults: 1024 and 8M entries. */
  minimumRingSize: number;
  maximumRingSize: number;
}

export const defaultRingHash: RingHashConfig = Object.freeze({ minimumRingSize: 1024, maximumRingSize: 8 * 1024 * 1024 });

/** The name a host is hashed by on the ring (its address, as Envoy does unless use_hostname_for_hashing). */
export function hostHashKey(h: Balanceable, index: number): string {
  return h.key ?? `#${index}`;
}

export class RingHash<H extends Balanceable> implements LoadBalancer<H> {
  /** Sorted point hashes and the host index owning each. */
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;

  constructor(
    private readonly hosts: readonly H[],
    config: RingHashConfig,
    private readonly random: () => number,
  ) {
    const total = hosts.reduce((s, h) => s + h.weight, 0);
    const normalized = hosts.map((h) => h.weight / total);
    const minNormalized = Math.min(...normalized);
    // Envoy's sizing: about minimum_ring_size points in all (rounded up so the lightest host's share
    // is whole), at most maximum_ring_size; each host gets its weight's share. Each host's count
    // thus depends on how many hosts there are, which is why a removal moves a few extra keys.
    const scale = Math.min(Math.ceil(minNormalized * config.minimumRingSize) / minNormalized, config.maximumRingSize);
    const entries: { hash: number; owner: number }[] = [];
    let target = 0;
    let made = 0;
    hosts.forEach((h, i) => {
      target += scale * normalized[i];
      const key = hostHashKey(h, i);
      // Carry the fractional part over so the ring size matches the scale overall.
      for (let k = 0; made < Math.floor(target); k++, made++) entries.push({ hash: murmur3(`${key}_${k}`), owner: i });
    });
    entries.sort((a, b) => a.hash - b.hash || a.owner - b.owner);
    this.points = Uint32Array.from(entries, (e) => e.hash);
    this.owners = Uint32Array.from(entries, (e) => e.owner);
  }

  get size(): number {
    return this.points.length;
  }

  pick(avoid?: H, ctx?: LbContext): H | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    // No hash (no hash policy matched the request): Envoy picks a random point.
    const hash = ctx?.hash ?? Math.floor(this.random() * 2 ** 32);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return walkPast(avoid, lo === n ? 0 : lo, n, (i) => this.hosts[this.owners[i]]);
  }
}

/** The host at slot `start`, or, for a retry that must go elsewhere, the next slot's host that is
 * not `avoid` (the same host every time for the same key). Shared with Maglev. */
export function walkPast<H>(avoid: H | undefined, start: number, n: number, hostAt: (slot: number) => H): H {
  const h = hostAt(start);
  if (h !== avoid) return h;
  for (let step = 1; step < n; step++) {
    const other = hostAt((start + step) % n);
    if (other !== avoid) return other;
  }
  return h;
}
