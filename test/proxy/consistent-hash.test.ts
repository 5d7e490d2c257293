// Ring hash and Maglev over plain host objects: stickiness, remapping when a host leaves, weights,
// retries that avoid the previous host; and the hash itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { murmur3 } from '../../src/proxy/upstream/hash.js';
import { createLoadBalancer, type LoadBalancer } from '../../src/proxy/upstream/load-balancer.js';
import { isPrime } from '../../src/proxy/upstream/maglev.js';
import { RingHash } from '../../src/proxy/upstream/ring-hash.js';

interface H {
  key: string;
  weight: number;
  active: number;
}
const hosts = (n: number, weights: number[] = []): H[] => Array.from({ length: n }, (_, i) => ({ key: `10.0.0.${i + 1}:8080`, weight: weights[i] ?? 1, active: 0 }));
const keys = Array.from({ length: 10_000 }, (_, i) => murmur3(`user-${i}`));
const never = () => {
  throw new Error('a hash balancer given a hash must not draw randomness');
};

function assignment(lb: LoadBalancer<H>): string[] {
  return keys.map((hash) => lb.pick(undefined, { hash })!.key);
}

/** Share of keys whose host changes when host `removed` leaves (keys it owned must move). */
function remapped(policy: 'RING_HASH' | 'MAGLEV', n: number, removed: number): { moved: number; ownedByRemoved: number } {
  const all = hosts(n);
  const before = assignment(createLoadBalancer(policy, all, { random: never }));
  const after = assignment(createLoadBalancer(policy, all.filter((_, i) => i !== removed), { random: never }));
  let moved = 0;
  let owned = 0;
  before.forEach((k, i) => {
    if (k !== after[i]) moved++;
    if (k === all[removed].key) owned++;
  });
  return { moved: moved / keys.length, ownedByRemoved: owned / keys.length };
}

for (const policy of ['RING_HASH', 'MAGLEV'] as const) {
  describe(`${policy}`, () => {
    it('the same key reaches the same host every time', () => {
      const lb = createLoadBalancer(policy, hosts(4), { random: never });
      const first = lb.pick(undefined, { hash: murmur3('alice') });
      for (let i = 0; i < 1000; i++) assert.equal(lb.pick(undefined, { hash: murmur3('alice') }), first);
    });

    it('spreads keys over every host, roughly evenly', () => {
      const counts = new Map<string, number>();
      for (const k of assignment(createLoadBalancer(policy, hosts(4), { random: never }))) counts.set(k, (counts.get(k) ?? 0) + 1);
      assert.equal(counts.size, 4);
      for (const c of counts.values()) assert.ok(c > 1500 && c < 3500, `${[...counts.values()]}`);
    });

    it('removing one of 4 hosts remaps at most about a third of keys', (t) => {
      const worst = [0, 1, 2, 3].map((i) => remapped(policy, 4, i)).reduce((a, b) => (b.moved > a.moved ? b : a));
      t.diagnostic(`${policy}: worst of 4 removals moved ${(worst.moved * 100).toFixed(1)}% of 10,000 keys (the removed host owned ${(worst.ownedByRemoved * 100).toFixed(1)}%)`);
      // Every key of the removed host must move. A ring moves a little more: sized as Envoy sizes it
      // (each host gets ring/n points), each remaining host gains points (256 → 342 at 1024), and those
      // take arcs from the others.
      assert.ok(worst.moved >= worst.ownedByRemoved);
      assert.ok(worst.moved <= 0.4, `moved ${worst.moved}`);
    });

    it('honours weights', () => {
      const hs = hosts(2, [1, 3]);
      const heavy = assignment(createLoadBalancer(policy, hs, { random: never })).filter((k) => k === hs[1].key).length / keys.length;
      assert.ok(heavy > 0.68 && heavy < 0.82, `heavy share ${heavy}`);
    });

    it('a retry avoiding the previous host goes to another, deterministically', () => {
      const hs = hosts(4);
      const lb = createLoadBalancer(policy, hs, { random: never });
      const first = lb.pick(undefined, { hash: 42 })!;
      const second = lb.pick(first, { hash: 42 })!;
      assert.notEqual(second, first);
      assert.equal(lb.pick(first, { hash: 42 }), second);
    });

    it('without a hash, picks at random', () => {
      let drew = 0;
      const lb = createLoadBalancer(policy, hosts(3), { random: () => (drew++, 0.5) });
      assert.ok(lb.pick());
      assert.equal(drew, 1);
    });
  });
}

describe('ring and table sizing', () => {
  it('the ring has at least minimum_ring_size points and at most maximum', () => {
    assert.equal(new RingHash(hosts(3), { minimumRingSize: 1024, maximumRingSize: 8_388_608 }, Math.random).size >= 1024, true);
    assert.equal(new RingHash(hosts(3), { minimumRingSize: 1024, maximumRingSize: 64 }, Math.random).size <= 64, true);
  });

  it('isPrime', () => {
    assert.deepEqual([2, 3, 251, 65537, 5_000_011].map(isPrime), [true, true, true, true, true]);
    assert.deepEqual([0, 1, 4, 65536, 1_000_000].map(isPrime), [false, false, false, false, false]);
  });

  it('murmur3 matches the reference vectors', () => {
    // MurmurHash3_x86_32 test vectors (seed 0 unless noted).
    assert.equal(murmur3(''), 0);
    assert.equal(murmur3('', 1), 0x514e28b7);
    assert.equal(murmur3('hello'), 0x248bfa47);
    assert.equal(murmur3('The quick brown fox jumps over the lazy dog'), 0x2e4ff723);
  });
});
