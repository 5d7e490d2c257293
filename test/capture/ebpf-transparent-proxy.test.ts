// Transparent sidecars under eBPF capture, end to end, as root: the capture benchmark's topology
// (bench/dataplane/capture-net.ts: pods on a bridge, `weft control-plane` in the hub namespace,
// `weft ebpf install` on per-pod app and proxy cgroups with inbound by tc) with a plain Node app. The
// client app calls the service VIP and passes both sidecars. Under eBPF the proxy's getsockname()
// already reads as the original destination, which the original_dst listener filter once took for a
// direct connection to the listener (and sent to the PassthroughCluster with no destination).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { CaptureNet, getIn, type Pod } from '../../bench/dataplane/capture-net.js';
import { waitFor } from '../../bench/lib/procs.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { weftBin } from '../helpers/processes.js';

const APP = `require('node:http').createServer((q, s) => s.end(JSON.stringify({ peer: q.socket.remoteAddress, host: q.headers.host, url: q.url })))
  .listen(8080, '0.0.0.0', () => console.log('ready'));`;

privilegedSuite('transparent sidecars under eBPF capture on the Weft control plane', ['netns', 'clang', 'bpftool', 'cgroup2'], () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-ebpf-transparent-'));
  let cn: CaptureNet | undefined;
  let client: Pod;
  let server: Pod;
  let vip = '';
  const stats = async (p: Pod): Promise<Record<string, number>> =>
    Object.fromEntries((JSON.parse((await getIn({ ns: p.ns }, '127.0.0.1', 15000, '/stats?format=json', 'admin')).body) as { stats: { name: string; value: number }[] }).stats.map((s) => [s.name, s.value]));

  before(async () => {
    fs.chmodSync(dir, 0o755);
    cn = await CaptureNet.create({ dir, weftBin, nodeArgs: [] });
    ({ client, server } = await cn.pods('t', 'ebpf'));
    const app = cn.startIn(server, 'app', process.execPath, ['-e', APP]);
    await waitFor('the app', async () => app.tail().includes('ready'), 10_000, app);
    for (const p of [server, client]) await cn.capture(p, 'ebpf');
    await cn.sidecar(server, { name: 't-server', service: 'server', appPort: 8080, transparent: true });
    await cn.sidecar(client, { name: 't-client', service: 'client', appPort: 9090, transparent: true });
    vip = await cn.vip('server');
  });
  after(async () => {
    await cn?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the client app calls http://server:8080 by its VIP through both sidecars; the app sees 127.0.0.6', async () => {
    assert.match(vip, /^198\.19\.\d+\.\d+$/);
    const [c0, s0] = [await stats(client), await stats(server)];
    const r = await getIn(client, vip, 8080, '/hello', 'server:8080');
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.deepEqual(JSON.parse(r.body), { peer: '127.0.0.6', host: 'server:8080', url: '/hello' });
    const [c1, s1] = [await stats(client), await stats(server)];
    const d = (a: Record<string, number>, b: Record<string, number>, k: string) => (b[k] ?? 0) - (a[k] ?? 0);
    assert.equal(d(c0, c1, 'listener.virtualOutbound.downstream_cx_handed_off'), 1, 'the original destination (the VIP) was restored and handed to 0.0.0.0_8080');
    assert.equal(d(c0, c1, 'http.outbound_0.0.0.0_8080.downstream_rq_2xx'), 1, 'the client sidecar routed it');
    assert.equal(d(c0, c1, 'tcp.PassthroughCluster.downstream_cx_total'), 0, 'nothing fell through to the PassthroughCluster');
    assert.equal(d(s0, s1, 'http.inbound_0.0.0.0_8080.downstream_rq_2xx'), 1, 'the server sidecar took it on 15006 (tc) and reached the app by the original destination');
  });
});
