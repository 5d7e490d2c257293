// Maglev consistent hashing (Envoy's MAGLEV; Eisenbud et al., NSDI 2016): a lookup table of prime
// size M where each host fills slots in its own permutation order (offset + j·skip mod M), taking
// turns in proportion to its weight. Lookup is one modulo; removing one of n hosts moves about 1/n
// of the keys, a little more than a ring, in exchange for O(1) picks and an even spread.
import type { Balanceable, LbContext, LoadBalancer } from './load-balancer.js';
import { hostHashKey, walkPast } from './ring-hash.js';
import { murmur3 } from './hash.js';

/** Envoy's default table size. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export class Maglev<H extends Balanceable> implements LoadBalancer<H> {
  private readonly table: Uint32Array;

  constructor(
    private readonly hosts: readonly H[],
    tableSize: number,
    private readonly random: () => number,
  ) {
    const m = tableSize;
    const n = hosts.length;
    const table = new Uint32Array(m).fill(0xffffffff);
    const offset = new Array<number>(n);
    const skip = new Array<number>(n);
    const next = new Array<number>(n).fill(0);
    const credit = new Array<number>(n).fill(0);
    const maxWeight = Math.max(...hosts.map((h) => h.weight));
    hosts.forEach((h, i) => {
      const key = hostHashKey(h, i);
      offset[i] = murmur3(key, 0) % m;
      skip[i] = (murmur3(key, 1) % (m - 1)) + 1;
    });
    let filled = 0;
    while (filled < m) {
      for (let i = 0; i < n && filled < m; i++) {
        // Weighted turns: a host with half the top weight takes a slot every other round.
        credit[i] += hosts[i].weight / maxWeight;
        if (credit[i] < 1) continue;
        credit[i] -= 1;
        let slot: number;
        do {
          slot = (offset[i] + next[i] * skip[i]) % m;
          next[i]++;
        } while (table[slot] !== 0xffffffff);
        table[slot] = i;
        filled++;
      }
    }
    this.table = table;
  }

  pick(avoid?: H, ctx?: LbContext): H | undefined {
    const m = this.table.length;
    const hash = ctx?.hash ?? Math.floor(this.random() * 2 ** 32);
    return walkPast(avoid, hash % m, m, (i) => this.hosts[this.table[i]]);
  }
}
