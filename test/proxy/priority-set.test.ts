// Priority levels (spill-over by health with the overprovisioning factor), locality weights, and
// slow start, over plain host objects with a fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPrioritySetLb, panicLevels, priorityLoads, type PrioritizedHost } from '../../src/proxy/upstream/priority-set.js';
import { createLoadBalancer } from '../../src/proxy/upstream/load-balancer.js';
import { slowStartWeight } from '../../src/proxy/upstream/slow-start.js';
import { lcg } from './helpers/random.js';

interface H extends PrioritizedHost {
  name: string;
}
const host = (name: string, priority = 0, locality = '', localityWeight = 0, extra: Partial<H> = {}): H => ({ name, weight: 1, active: 0, priority, locality, localityWeight, key: name, ...extra });
function tally(pick: () => H | undefined, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = pick()?.name ?? 'none';
    out[name] = (out[name] ?? 0) + 1;
  }
  return out;
}

describe('priority loads (Envoy, overprovisioning 1.4)', () => {
  const cases: { name: string; levels: [number, number][]; factor?: number; want: number[] }[] = [
    { name: 'all healthy: P0 takes everything', levels: [[4, 4], [4, 4]], want: [100, 0] },
    { name: '3 of 4 healthy still 100 with 1.4', levels: [[4, 3], [4, 4]], want: [100, 0] },
    { name: 'half healthy: 70 / 30', levels: [[4, 2], [4, 4]], want: [70, 30] },
    { name: 'P0 empty: all to P1', levels: [[2, 0], [2, 2]], want: [0, 100] },
    { name: 'factor 100: exact health', levels: [[4, 2], [4, 4]], factor: 100, want: [50, 50] },
    { name: 'both degraded: normalised', levels: [[10, 2], [10, 3]], want: [40, 60] },
    { name: 'nothing healthy: all on P0', levels: [[2, 0], [2, 0]], want: [100, 0] },
  ];
  for (const c of cases)
    it(c.name, () => {
      const got = priorityLoads(c.levels.map(([total, healthy]) => ({ total, healthy })), c.factor ?? 140);
      assert.deepEqual(got.map((x) => Math.round(x * 1000) / 1000), c.want);
    });
});

describe('priority set balancer', () => {
  it('fails over to the next priority when the local one has no healthy host', () => {
    const all = [host('local-a', 0), host('local-b', 0), host('remote', 1)];
    const lb = createPrioritySetLb(all, [all[2]], { policy: 'ROUND_ROBIN', localityWeighted: false, overprovisioningFactor: 140, random: lcg(1) });
    assert.deepEqual(tally(() => lb.pick(), 100), { remote: 100 });
    const healthy = createPrioritySetLb(all, all, { policy: 'ROUND_ROBIN', localityWeighted: false, overprovisioningFactor: 140, random: lcg(1) });
    assert.equal(tally(() => healthy.pick(), 100).remote, undefined);
  });

  it('locality weights hold exactly (80/20) within a priority', () => {
    const all = [host('a1', 0, 'r/z1/', 80), host('a2', 0, 'r/z1/', 80), host('b1', 0, 'r/z2/', 20)];
    const lb = createPrioritySetLb(all, all, { policy: 'ROUND_ROBIN', localityWeighted: true, overprovisioningFactor: 140, random: lcg(2) });
    const t = tally(() => lb.pick(), 2000);
    assert.equal(t.a1 + t.a2, 1600);
    assert.equal(t.b1, 400);
  });

  it('a locality with unhealthy hosts loses share by its availability', () => {
    const all = [host('a1', 0, 'z1', 50), host('a2', 0, 'z1', 50), host('a3', 0, 'z1', 50), host('a4', 0, 'z1', 50), host('b1', 0, 'z2', 50)];
    // z1: 1 of 4 healthy → availability min(1, 1.4 · 0.25) = 0.35 → weights 17.5 : 50.
    const lb = createPrioritySetLb(all, [all[0], all[4]], { policy: 'ROUND_ROBIN', localityWeighted: true, overprovisioningFactor: 140, random: lcg(3) });
    const t = tally(() => lb.pick(), 1350);
    assert.deepEqual(t, { a1: 350, b1: 1000 });
  });

  it('an unweighted locality receives nothing under locality weighting', () => {
    const all = [host('a', 0, 'z1', 10), host('b', 0, 'z2', 0)];
    const lb = createPrioritySetLb(all, all, { policy: 'ROUND_ROBIN', localityWeighted: true, overprovisioningFactor: 140 });
    assert.deepEqual(tally(() => lb.pick(), 10), { a: 10 });
    // …but when no locality has a weight there is nothing to choose by: the whole level serves.
    const none = [host('a', 0, 'z1'), host('b', 0, 'z2')];
    const plain = createPrioritySetLb(none, none, { policy: 'ROUND_ROBIN', localityWeighted: true, overprovisioningFactor: 140, random: () => 0 });
    assert.deepEqual(tally(() => plain.pick(), 10), { a: 5, b: 5 });
  });

  it('hash balancers choose the level from the hash', () => {
    const all = [host('p0a', 0), host('p0b', 0), host('p1', 1)];
    // P0 half healthy: 70 / 30; hash % 100 = 80 goes to P1, 10 stays on P0.
    const lb = createPrioritySetLb(all, [all[0], all[2]], { policy: 'MAGLEV', localityWeighted: false, overprovisioningFactor: 140, random: () => 0.5 });
    assert.equal(lb.pick(undefined, { hash: 180 })!.name, 'p1');
    assert.equal(lb.pick(undefined, { hash: 110 })!.name, 'p0a');
  });
});

describe('panic threshold (passed by the cluster; off unless set)', () => {
  const stats = (...l: [number, number][]) => l.map(([total, healthy]) => ({ total, healthy }));
  const cases: { name: string; levels: ReturnType<typeof stats>; threshold: number; want: boolean[] }[] = [
    { name: 'off', levels: stats([10, 1]), threshold: 0, want: [false] },
    { name: 'enough health overall: no panic even with a weak level', levels: stats([10, 2], [10, 10]), threshold: 50, want: [false, false] },
    { name: 'one level at 20% of hosts usable, 50% threshold', levels: stats([10, 2]), threshold: 50, want: [true] },
    { name: 'only the weak level panics', levels: stats([10, 2], [10, 4]), threshold: 30, want: [true, false] },
    { name: 'nothing healthy: every level', levels: stats([2, 0], [2, 0]), threshold: 50, want: [true, true] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(panicLevels(c.levels, 140, c.threshold), c.want));

  it('a panicking level balances over all its hosts; total panic spreads by host count', () => {
    const all = [host('a'), host('b'), host('c'), host('d'), host('e')];
    const lb = createPrioritySetLb(all, [all[0]], { policy: 'ROUND_ROBIN', localityWeighted: false, overprovisioningFactor: 140, panicThresholdPercent: 50, random: () => 0 });
    assert.equal(Object.keys(tally(() => lb.pick(), 50)).length, 5);
    const two = [host('p0', 0), host('p1a', 1), host('p1b', 1)];
    let i = 0;
    // An even sweep of [0, 1): level shares come out exact.
    const dead = createPrioritySetLb(two, [], { policy: 'ROUND_ROBIN', localityWeighted: false, overprovisioningFactor: 140, panicThresholdPercent: 50, random: () => (i++ % 3000) / 3000 });
    const t = tally(() => dead.pick(), 3000);
    assert.ok(Math.abs(t.p0 - 1000) <= 2 && Math.abs(t.p1a - 1000) <= 2, JSON.stringify(t));
  });
});

describe('slow start', () => {
  const cfg = { windowMs: 10_000, aggression: 1, minWeightPercent: 10 };
  const table: { name: string; ageMs: number; aggression?: number; want: number }[] = [
    { name: 'just joined: the minimum', ageMs: 0, want: 0.1 },
    { name: 'half way, linear', ageMs: 5000, want: 0.5 },
    { name: 'half way, aggression 2 ramps faster', ageMs: 5000, aggression: 2, want: Math.SQRT1_2 },
    { name: 'window over: full weight', ageMs: 10_000, want: 1 },
    { name: 'never in slow start (initial host)', ageMs: Number.NaN, want: 1 },
  ];
  for (const c of table)
    it(c.name, () => {
      const h = { weight: 1, active: 0, addedAtMs: Number.isNaN(c.ageMs) ? undefined : 1_000_000 };
      const got = slowStartWeight(h, { ...cfg, aggression: c.aggression ?? 1 }, 1_000_000 + (Number.isNaN(c.ageMs) ? 0 : c.ageMs));
      assert.ok(Math.abs(got - c.want) < 1e-9, `${got}`);
    });

  it('round robin ramps a new host up over the window (counted)', () => {
    let now = 0;
    const hs = [
      { name: 'old1', weight: 1, active: 0 },
      { name: 'old2', weight: 1, active: 0 },
      { name: 'new', weight: 1, active: 0, addedAtMs: 0 },
    ];
    const lb = createLoadBalancer('ROUND_ROBIN', hs, { slowStart: cfg, now: () => now });
    const share = () => {
      let n = 0;
      for (let i = 0; i < 300; i++) if (lb.pick()!.name === 'new') n++;
      return n / 300;
    };
    const shares = [0, 2500, 5000, 7500, 10_000].map((t) => ((now = t), share()));
    for (let i = 1; i < shares.length; i++) assert.ok(shares[i] > shares[i - 1], `not increasing: ${shares}`);
    assert.ok(shares[0] < 0.06 && Math.abs(shares[4] - 1 / 3) < 0.01, `${shares}`);
  });

  it('least request ramps too', () => {
    let now = 0;
    const hs = [
      { name: 'old', weight: 1, active: 0 },
      { name: 'new', weight: 1, active: 0, addedAtMs: 0 },
    ];
    const lb = createLoadBalancer('LEAST_REQUEST', hs, { slowStart: cfg, now: () => now, random: lcg(5) });
    const count = () => tally(() => lb.pick() as H, 1000).new ?? 0;
    const early = count();
    now = 10_000;
    const late = count();
    assert.ok(early < 300 && late > 400, `${early} → ${late}`);
  });
});
