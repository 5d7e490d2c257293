// `weft demo` as a user runs it (minus the terminal): traffic flows through every sidecar, the 90/10
// split it writes moves the reviews shares, every edge is mTLS as the servers' sidecars counted it
// (auto mTLS, no security config), and it stops every process it started.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { parseBlocks } from '../helpers/demo-table.js';
import { spawnWeft } from '../helpers/processes.js';

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

test('weft demo: live table, the 90/10 split moves it, clean stop', { timeout: 60_000 }, async () => {
  // Below both the kernel's ephemeral range and freePorts' range (see helpers/processes.ts).
  const base = 10_000 + 100 * Math.floor(Math.random() * 95);
  const demo = spawnWeft('demo', ['demo', '--base-port', String(base), '--duration', '32', '--rps', '60']);
  const code = await new Promise<number | null>((resolve) => demo.child.once('exit', (c) => resolve(c)));
  const out = demo.output();
  assert.equal(code, 0, out.slice(-3000));
  const blocks = parseBlocks(out);
  const before = blocks.filter((b) => b.message === 'steer it yourself').pop();
  // The split is written 6 s after every sidecar synced, which on a busy machine can be late in the
  // run: judge the table whose 5 s window lies wholly after the write (plus a second for the push).
  const written = blocks.find((b) => b.message === 'wrote a 90/10');
  assert.ok(written, `the demo wrote its split:\n${out.slice(-3000)}`);
  const last = blocks.filter((b) => b.up >= written.up + 6).pop();
  assert.ok(last, `the run ended less than 6 s after the split (written at ${written.up} s of ${blocks[blocks.length - 1].up} s)`);
  assert.ok(before, `a table before the split with reviews v3 in it:\n${out.slice(0, 4000)}`);
  // Just before the split reviews is spread over v1, v2 and v3 (Istio's default: every instance).
  assert.ok(before.rows.get('reviews v3')!.share >= 15, `v3 share before split: ${JSON.stringify([...before.rows])}`);
  // After it: 90/10 between v1 and v2, no v3.
  const v1 = last.rows.get('reviews v1')!;
  assert.ok(v1.share >= 80 && v1.share <= 97, `v1 share after split: ${JSON.stringify([...last.rows])}`);
  assert.ok((last.rows.get('reviews v3')?.share ?? 0) <= 1, `v3 share after split: ${JSON.stringify([...last.rows])}`);
  assert.ok(last.rows.get('productpage v1')!.success >= 99, 'requests succeed end to end');
  assert.ok(last.rows.get('productpage v1')!.rps >= 40, `traffic flows: ${JSON.stringify([...last.rows])}`);
  // Every edge of bookinfo, each seen as mTLS by the server's sidecar, no plaintext connection at all.
  assert.deepEqual([...last.edges.keys()].sort(), ['loadgen → productpage', 'productpage → details', 'productpage → reviews', 'reviews → ratings']);
  for (const [edge, seen] of last.edges) assert.match(seen, /^mTLS [1-9]\d* mTLS \/ 0 plaintext$/, edge);
  // Each edge's latency as the caller's sidecar measured it over the last refreshes, and no flags:
  // nothing failed.
  for (const [edge, row] of last.edgeRows) {
    assert.ok(row.p50 !== undefined && row.p99 !== undefined && row.p50 > 0 && row.p50 <= row.p99, `${edge}: ${JSON.stringify(row)}`);
    assert.deepEqual([...row.flags], [], edge);
  }
  assert.match(out, /edit .*reviews\.yaml/);
  assert.match(out, /every process it started has exited/);
  // Nothing it started is still listening: control plane and each sidecar's ports.
  for (const port of [base, base + 1, base + 11, base + 12, base + 13, base + 71]) assert.equal(await portOpen(port), false, `port ${port} still open`);
});
