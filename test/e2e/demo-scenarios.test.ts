// `weft demo --scenario`: each live scenario through the real demo (control plane, seven sidecars,
// the sample app): a fault on ratings, a circuit breaker on reviews overflowing under bursts (UO
// counted by the caller's sidecar), and a failing reviews instance ejected by outlier detection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnWeft } from '../helpers/processes.js';

interface Block { up: number; message: string; counters: string; rows: Map<string, { rps: number; success: number; share: number }> }

function parseBlocks(output: string): Block[] {
  return output.split('Weft demo — ').slice(1).map((chunk) => {
    const rows = new Map<string, { rps: number; success: number; share: number }>();
    for (const m of chunk.matchAll(/^(\w+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)%\s+\S+\s+(\d+)%$/gm))
      rows.set(`${m[1]} ${m[2]}`, { rps: Number(m[3]), success: Number(m[4]), share: Number(m[5]) });
    return {
      up: Number(/\(up (\d+)s\)/.exec(chunk)?.[1] ?? -1),
      message: /^scenario (\w+)/m.exec(chunk)?.[1] ?? '',
      counters: /^productpage → reviews: .*$/m.exec(chunk)?.[0] ?? '',
      rows,
    };
  });
}

async function runScenario(name: string, seconds: number): Promise<{ blocks: Block[]; out: string }> {
  const base = 11_000 + 100 * Math.floor(Math.random() * 80);
  const demo = spawnWeft('demo', ['demo', '--base-port', String(base), '--duration', String(seconds), '--rps', '40', '--scenario', name]);
  const code = await new Promise<number | null>((resolve) => demo.child.once('exit', (c) => resolve(c)));
  const out = demo.output();
  assert.equal(code, 0, out.slice(-3000));
  return { blocks: parseBlocks(out), out };
}

/** The table whose 5 s window lies wholly after the scenario was switched on (plus a second). */
function settled(blocks: Block[], scenario: string, afterSeconds = 6): Block {
  const on = blocks.find((b) => b.message === scenario);
  assert.ok(on, `scenario ${scenario} was switched on`);
  const b = blocks.filter((x) => x.up >= on.up + afterSeconds).pop();
  assert.ok(b, `the run lasted ${afterSeconds} s past the switch (at ${on.up} s of ${blocks[blocks.length - 1].up} s)`);
  return b;
}

test('demo scenario fault: half of ratings calls are aborted by the mesh (FI), the rest reach ratings', { timeout: 90_000 }, async () => {
  const { blocks } = await runScenario('fault', 26);
  const b = settled(blocks, 'fault');
  const fault = b.rows.get('ratings [FI]');
  const ok = b.rows.get('ratings v1');
  assert.ok(fault && ok, JSON.stringify([...b.rows]));
  assert.equal(fault.success, 0);
  assert.ok(fault.share >= 35 && fault.share <= 65, `aborted share ${fault.share}%`);
});

test('demo scenario breaker: bursts overflow reviews’ circuit breaker, counted as UO by productpage’s sidecar', { timeout: 90_000 }, async () => {
  const { blocks } = await runScenario('breaker', 26);
  const b = settled(blocks, 'breaker');
  const overflows = Number(/(\d+) circuit-breaker overflows/.exec(b.counters)?.[1] ?? 0);
  assert.ok(overflows > 0, b.counters);
  assert.ok((b.rows.get('reviews [UO]')?.rps ?? 0) > 0, JSON.stringify([...b.rows]));
});

test('demo scenario outlier: the failing reviews v3 is ejected, then comes back when it heals', { timeout: 90_000 }, async () => {
  const { blocks } = await runScenario('outlier', 40);
  const on = blocks.find((b) => b.message === 'outlier')!;
  assert.ok(on, 'scenario switched on');
  // While it fails and is ejected: v3 takes (almost) nothing; ejections counted.
  const ejected = blocks.filter((b) => b.up >= on.up + 6 && b.up <= on.up + 11).pop();
  assert.ok(ejected, 'a table while v3 is ejected');
  assert.ok((ejected.rows.get('reviews v3')?.share ?? 0) <= 10, JSON.stringify([...ejected.rows]));
  assert.ok(Number(/(\d+) outlier ejections/.exec(ejected.counters)?.[1] ?? 0) >= 1, ejected.counters);
  // Healed 12 s after the switch; ejected for 5 s, then 10 s once re-ejected while still failing
  // (Envoy multiplies the base ejection time by the ejection count): back by about 16 s after the
  // switch, so the last window (the run goes on 30 s past the switch) spreads over three again.
  const last = blocks[blocks.length - 1];
  assert.ok(last.up >= on.up + 26, `the run lasted long enough past the switch (${on.up} s → ${last.up} s)`);
  assert.ok((last.rows.get('reviews v3')?.share ?? 0) >= 20, JSON.stringify([...last.rows]));
  assert.ok((last.rows.get('reviews v3')?.success ?? 0) >= 99, JSON.stringify([...last.rows]));
});
