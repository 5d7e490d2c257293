// `weft demo --netns --capture <mode>` as a user runs it (as root, minus the terminal), for each capture
// mode: every bookinfo workload in its own pod, the apps calling services by name. The table shows
// traffic on every edge, each seen as mTLS by the server's sidecar and none plaintext, no failed
// request, and afterwards nothing of the run is left: namespaces, cgroups, bpffs mounts, its run dir.
// WEFT_CAPTURE_MODES=iptables,ebpf picks modes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { CAPTURE_MODES, type CaptureMode } from '../../src/demo/netns/pods.js';
import { CGROUP2_ROOT } from '../../src/demo/netns/leftovers.js';
import { parseBlocks } from '../helpers/demo-table.js';
import { privilegedSuite, type Need } from '../helpers/privileged.js';
import { spawnWeft, weftBin } from '../helpers/processes.js';

const NEEDS: Record<CaptureMode, Need[]> = {
  iptables: ['netns', 'cni', 'iptables', 'cgroup2'],
  cni: ['netns', 'cni', 'iptables', 'cgroup2'],
  ebpf: ['netns', 'cni', 'cgroup2', 'clang', 'bpftool'],
};
const modes = (process.env.WEFT_CAPTURE_MODES?.split(',') ?? [...CAPTURE_MODES]) as CaptureMode[];
for (const m of modes) if (!CAPTURE_MODES.includes(m)) throw new Error(`WEFT_CAPTURE_MODES: "${m}" is not one of ${CAPTURE_MODES.join(', ')}`);
const EDGES = ['loadgen → productpage', 'productpage → details', 'productpage → reviews', 'reviews → ratings'];

for (const mode of modes) {
  privilegedSuite(`weft demo --netns --capture ${mode}`, NEEDS[mode], () => {
    test('traffic on every edge with mTLS, no errors, nothing left afterwards', { timeout: 120_000 }, async () => {
      const demo = spawnWeft('demo', ['demo', '--netns', '--capture', mode, '--duration', '20', '--rps', '20', '--no-auto-split']);
      const code = await new Promise<number | null>((resolve) => demo.child.once('exit', (c) => resolve(c)));
      const out = demo.output();
      assert.equal(code, 0, out.slice(-3000));
      const run = /ip netns exec (weft-nsdemo-\d+-\w+)-hub/.exec(out)?.[1];
      assert.ok(run, `the table names the run's hub namespace:\n${out.slice(-3000)}`);
      assert.match(out, new RegExp(`capture by ${mode}: the apps call http://<service>:9080`));
      const last = parseBlocks(out).filter((b) => b.message === 'steer it yourself').pop();
      assert.ok(last, `a table with traffic:\n${out.slice(-3000)}`);
      assert.deepEqual([...last.edges.keys()].sort(), EDGES);
      for (const [edge, seen] of last.edges) assert.match(seen, /^mTLS [1-9]\d* mTLS \/ 0 plaintext$/, edge);
      assert.ok(last.rows.get('productpage v1')!.rps >= 10, `traffic flows: ${JSON.stringify([...last.rows])}`);
      for (const [row, r] of last.rows) assert.equal(r.success, 100, `${row}: no failed request (${JSON.stringify(r)})`);
      for (const svc of ['details v1', 'ratings v1']) assert.ok((last.rows.get(svc)?.rps ?? 0) > 0, `${svc} is called`);
      assert.match(out, /every process it started has exited/);
      // Nothing of the run is left.
      assert.ok(!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(run), 'no namespace of the run');
      assert.ok(!fs.existsSync(path.join(CGROUP2_ROOT, run)), 'no cgroup of the run');
      assert.ok(!fs.readdirSync(os.tmpdir()).some((n) => n.startsWith(`${run}-`)), 'no run dir (leases, eBPF state, bpffs)');
      assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(run), 'no mount of the run');
    });
  });
}

privilegedSuite('weft demo --netns without root', ['root'], () => {
  test('exits 1 saying it needs root and what it would do', () => {
    let failure: { status?: number; stderr?: string } = {};
    try {
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, weftBin, 'demo', '--netns'], { stdio: 'pipe', encoding: 'utf8' });
    } catch (e) {
      failure = e as { status?: number; stderr?: string };
    }
    assert.equal(failure.status, 1);
    assert.match(failure.stderr ?? '', /^weft demo --netns: needs root: it creates a network namespace per workload .* Run it with sudo, or run plain `weft demo`/);
  });
});
