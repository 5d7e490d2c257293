// Load balancers over plain host objects, with deterministic randomness.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLoadBalancer, pickIndex } from '../../src/proxy/upstream/load-balancer.js';
import { lcg } from './helpers/random.js';

interface H {
  name: string;
  weight: number;
  active: number;
}
const hosts = (...spec: [string, number?, number?][]): H[] => spec.map(([name, weight = 1, active = 0]) => ({ name, weight, active }));
/** A repeatable sequence in [0, 1). */
function seq(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}
function tally(pick: () => H | undefined, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const h = pick()!;
    out[h.name] = (out[h.name] ?? 0) + 1;
  }
  return out;
}

describe('load balancers', () => {
  it('round robin visits every host in turn', () => {
    const lb = createLoadBalancer('ROUND_ROBIN', hosts(['a'], ['b'], ['c']), { random: () => 0 });
    assert.deepEqual(
      Array.from({ length: 6 }, () => lb.pick()!.name),
      ['a', 'b', 'c', 'a', 'b', 'c'],
    );
  });

  it('round robin honours weights smoothly', () => {
    const lb = createLoadBalancer('ROUND_ROBIN', hosts(['a', 3], ['b', 1]));
    const picks = Array.from({ length: 8 }, () => lb.pick()!.name);
    assert.deepEqual(tally(() => ({ name: picks.shift()!, weight: 1, active: 0 }), 8), { a: 6, b: 2 });
    const lb2 = createLoadBalancer('ROUND_ROBIN', hosts(['a', 3], ['b', 1]));
    assert.deepEqual(
      Array.from({ length: 4 }, () => lb2.pick()!.name),
      ['a', 'a', 'b', 'a'],
      'interleaved, not bursty',
    );
  });

  it('round robin avoids the previous host on a retry', () => {
    const hs = hosts(['a'], ['b']);
    const lb = createLoadBalancer('ROUND_ROBIN', hs, { random: () => 0 });
    assert.equal(lb.pick(hs[0])!.name, 'b');
  });

  it('least request prefers the idle host', () => {
    const hs = hosts(['busy', 1, 10], ['idle', 1, 0], ['busier', 1, 20]);
    const lb = createLoadBalancer('LEAST_REQUEST', hs, { random: lcg(7) });
    const counts = tally(() => lb.pick(), 300);
    assert.ok((counts.idle ?? 0) > (counts.busy ?? 0) && (counts.idle ?? 0) > (counts.busier ?? 0), JSON.stringify(counts));
    // Two choices: of the two hosts drawn, the one with fewer active requests wins.
    const lb2 = createLoadBalancer('LEAST_REQUEST', hs, { random: seq([0.9, 0.5, 0.9, 0.1]) });
    assert.equal(lb2.pick()!.name, 'idle', 'busier vs idle');
    assert.equal(lb2.pick()!.name, 'busy', 'busier vs busy');
  });

  it('least request with all hosts equal spreads load', () => {
    const lb = createLoadBalancer('LEAST_REQUEST', hosts(['a'], ['b'], ['c']), { random: lcg(3) });
    const counts = tally(() => lb.pick(), 300);
    assert.deepEqual(Object.keys(counts).sort(), ['a', 'b', 'c']);
  });

  it('random honours weights', () => {
    const N = 1000;
    let i = 0;
    const lb = createLoadBalancer('RANDOM', hosts(['a', 1], ['b', 3]), { random: () => (i++ % N) / N });
    assert.deepEqual(tally(() => lb.pick(), N), { a: 250, b: 750 });
  });

  it('no hosts → nothing; one host → that host', () => {
    assert.equal(createLoadBalancer('ROUND_ROBIN', [] as H[]).pick(), undefined);
    const one = hosts(['solo']);
    assert.equal(createLoadBalancer('LEAST_REQUEST', one).pick(one[0])!.name, 'solo', 'the only host even when avoided');
  });

  it('pickIndex finds the bucket', () => {
    const cum = [10, 30, 60];
    assert.deepEqual([0, 9.9, 10, 29, 30, 59.9].map((x) => pickIndex(cum, x)), [0, 0, 1, 1, 2, 2]);
  });
});
