// `weft demo --scenario`: each live scenario through the real demo (control plane, seven sidecars,
// the sample app): a fault on ratings, a circuit breaker on reviews overflowing under bursts (UO
// counted by the caller's sidecar), a failing reviews instance ejected by outlier detection, an
// AuthorizationPolicy denying reviews' identity at ratings (403, RBAC), and details opting out of mTLS
// (its edge shows plaintext, as counted by details' own sidecar, while the others stay mTLS).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEdges, type EdgeRow } from '../helpers/demo-table.js';
import { spawnWeft } from '../helpers/processes.js';

interface Block { up: number; message: string; counters: string; rows: Map<string, { rps: number; success: number; share: number }>; edges: Map<string, EdgeRow> }

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
      edges: parseEdges(chunk),
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
  const { blocks } = await runScenario('fault', 32);
  const b = settled(blocks, 'fault');
  const fault = b.rows.get('ratings [FI]');
  const ok = b.rows.get('ratings v1');
  assert.ok(fault && ok, JSON.stringify([...b.rows]));
  assert.equal(fault.success, 0);
  assert.ok(fault.share >= 35 && fault.share <= 65, `aborted share ${fault.share}%`);
  // The edge list counts the aborts as reviews' sidecar flagged them.
  const edge = b.edges.get('reviews → ratings');
  assert.ok((edge?.flags.get('FI') ?? 0) > 0, JSON.stringify([...b.edges]));
});

test('demo scenario breaker: bursts overflow reviews’ circuit breaker, counted as UO by productpage’s sidecar', { timeout: 90_000 }, async () => {
  const { blocks } = await runScenario('breaker', 32);
  const b = settled(blocks, 'breaker');
  const overflows = Number(/(\d+) circuit-breaker overflows/.exec(b.counters)?.[1] ?? 0);
  assert.ok(overflows > 0, b.counters);
  assert.ok((b.rows.get('reviews [UO]')?.rps ?? 0) > 0, JSON.stringify([...b.rows]));
  const edge = b.edges.get('productpage → reviews');
  assert.ok((edge?.flags.get('UO') ?? 0) > 0, `UO on the edge: ${JSON.stringify([...b.edges])}`);
});

test('demo scenario outlier: the failing reviews v3 is ejected, then comes back when it heals', { timeout: 90_000 }, async () => {
  const { blocks } = await runScenario('outlier', 50);
  const on = blocks.find((b) => b.message === 'outlier')!;
  assert.ok(on, 'scenario switched on');
  // While it fails and is ejected: v3 takes (almost) nothing; ejections counted.
  const ejected = blocks.filter((b) => b.up >= on.up + 6 && b.up <= on.up + 11).pop();
  assert.ok(ejected, 'a table while v3 is ejected');
  assert.ok((ejected.rows.get('reviews v3')?.share ?? 0) <= 10, JSON.stringify([...ejected.rows]));
  assert.ok(Number(/(\d+) outlier ejections/.exec(ejected.counters)?.[1] ?? 0) >= 1, ejected.counters);
  // Healed 12 s after the switch; ejected for 5 s, then 10 s once re-ejected while still failing
  // (Envoy multiplies the base ejection time by the ejection count): back by about 16 s after the
  // switch, so the last window (the run lasts 50 s; the switch comes 6 s after the sidecars synced) spreads over three again.
  const last = blocks[blocks.length - 1];
  assert.ok(last.up >= on.up + 26, `the run lasted long enough past the switch (${on.up} s → ${last.up} s)`);
  assert.ok((last.rows.get('reviews v3')?.share ?? 0) >= 20, JSON.stringify([...last.rows]));
  assert.ok((last.rows.get('reviews v3')?.success ?? 0) >= 99, JSON.stringify([...last.rows]));
});

const EDGES = ['loadgen → productpage', 'productpage → details', 'productpage → reviews', 'reviews → ratings'];

test('demo scenario authz: ratings denies reviews’ identity — its calls answer 403 [RBAC] over mTLS, everything else succeeds', { timeout: 90_000 }, async () => {
  const { blocks } = await runScenario('authz', 32);
  const b = settled(blocks, 'authz');
  const rows = JSON.stringify([...b.rows]);
  // Every call to ratings in the window was refused by ratings' sidecar, none reached the app.
  const denied = b.rows.get('ratings [RBAC]');
  assert.ok(denied && denied.rps > 0, rows);
  assert.equal(denied.success, 0, rows);
  assert.ok(denied.share >= 95, rows);
  // A 403 from ratings is not a failure of reviews: productpage, details and reviews all succeed.
  for (const key of ['productpage v1', 'details v1', 'reviews v1', 'reviews v2', 'reviews v3'])
    assert.ok((b.rows.get(key)?.success ?? 0) >= 99, `${key}: ${rows}`);
  // The edge list: the denials were counted by ratings' RBAC filter, on an mTLS edge (the identity
  // the policy names comes from reviews' certificate), and only on that edge.
  const edge = b.edges.get('reviews → ratings');
  assert.ok(edge, JSON.stringify([...b.edges]));
  assert.equal(edge.security, 'mTLS');
  assert.ok(edge.denied > 0, JSON.stringify(edge));
  for (const name of EDGES.filter((e) => e !== 'reviews → ratings')) assert.equal(b.edges.get(name)?.denied, 0, name);
});

test('demo scenario plaintext: details opts out of mTLS and its edge shows plaintext; every other edge stays mTLS', { timeout: 90_000 }, async () => {
  const { blocks } = await runScenario('plaintext', 32);
  const b = settled(blocks, 'plaintext');
  const edges = JSON.stringify([...b.edges]);
  const details = b.edges.get('productpage → details');
  assert.ok(details, edges);
  assert.equal(details.security, 'plaintext', edges);
  assert.ok(details.plaintext > 0, edges);
  for (const name of EDGES.filter((e) => e !== 'productpage → details')) {
    assert.equal(b.edges.get(name)?.security, 'mTLS', `${name}: ${edges}`);
    assert.equal(b.edges.get(name)?.plaintext, 0, `${name}: ${edges}`);
  }
  assert.ok((b.rows.get('details v1')?.success ?? 0) >= 99, JSON.stringify([...b.rows]));
  assert.ok((b.rows.get('productpage v1')?.success ?? 0) >= 99, JSON.stringify([...b.rows]));
});
