// The proxy's reconnect backoff (issue 8 item 5): the ceiling doubles from the initial delay to the
// maximum, and each delay is drawn over 10–100 % of its ceiling, so a fleet whose streams all failed
// at once (a control-plane restart) comes back spread over the step rather than in step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_BACKOFF, reconnectDelay } from '../../src/proxy/xds/reconnecting-stream.js';

const cases: Array<{ name: string; attempt: number; random: number; want: number }> = [
  { name: 'first attempt, lowest draw', attempt: 0, random: 0, want: 10 },
  { name: 'first attempt, highest draw', attempt: 0, random: 1, want: 100 },
  { name: 'doubling', attempt: 3, random: 1, want: 800 },
  { name: 'capped at the maximum', attempt: 12, random: 1, want: DEFAULT_BACKOFF.maxMs },
  { name: 'capped, lowest draw', attempt: 12, random: 0, want: DEFAULT_BACKOFF.maxMs / 10 },
  { name: 'huge attempt counts do not overflow', attempt: 10_000, random: 0.5, want: 2750 },
];
for (const c of cases)
  test(`reconnect delay: ${c.name}`, () => assert.equal(reconnectDelay(c.attempt, undefined, () => c.random), c.want));

test('reconnect delays of 2,000 proxies after one failure cover the step evenly', () => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 2000; i++) buckets[Math.min(9, Math.floor(reconnectDelay(5, undefined, random) / 320))]++;
  // Ceiling 3.2 s: every tenth of the step but the first gets roughly 2000/9 proxies; none gets most.
  assert.ok(Math.max(...buckets) < 400, JSON.stringify(buckets));
  assert.ok(buckets.slice(1).every((n) => n > 120), JSON.stringify(buckets));
});
