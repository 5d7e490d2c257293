// eBPF capture end to end, as root: `weft ebpf install` compiles and attaches the programs to a pod's
// app and proxy cgroups; an app process in the app cgroup, in the pod's network namespace, connects to
// 198.18.0.3:8080 on another test host and lands on the proxy (the capture probe, uid 1337), which
// reads the original destination with getsockopt(SO_ORIGINAL_DST) and getsockname() and forwards.
// Processes of the proxy's UID or outside the cgroups, and excluded ports and CIDRs, go direct; a
// client on the other host calling the pod lands on the proxy's inbound port (tc on the pod's eth0);
// maps empty as connections close and stay bounded; uninstall leaves nothing behind.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { mountPoints } from '../../src/capture/ebpf/preflight.js';
import { CAPTURE_PROGRAMS } from '../../src/capture/ebpf/programs.js';
import type { InstallStatus } from '../../src/capture/ebpf/status.js';
import { createEbpfRun, destroyEbpfRun, installArgs, JsonLines, mapEntries, probeIn, runProbe, spawnProbe, weftEbpf, type EbpfRun } from '../helpers/ebpf-run.js';
import { TestNet, type TestHost } from '../helpers/netns.js';
import { CGROUP2_ROOT, privilegedSuite } from '../helpers/privileged.js';

const exec = promisify(execFile);
const MAX_CONNECTIONS = 4096;
/** Answers on 8080 and 8081 with the peer it sees, then what it got. */
const SERVER = `const net = require('net'); let up = 0;
for (const port of [8080, 8081]) net.createServer((s) => {
  s.write('seen ' + s.remoteAddress.replace(/^::ffff:/, '') + ':' + s.remotePort + '\\n');
  let got = ''; s.on('data', (d) => got += d); s.on('end', () => s.end('got ' + got)); s.on('error', () => {});
}).listen(port, '::', () => ++up === 2 && console.log(JSON.stringify({ up: true })))`;
/** Istio-style exclusions the install is given; dest also answers at 198.18.0.103 and fd18::103, inside the CIDRs. */
const EXCLUSIONS = ['--exclude-outbound-ports', '8081', '--exclude-outbound-cidrs', '198.18.0.96/27,fd18::100/120', '--exclude-inbound-ports', '8081'];

interface Connected {
  local: string;
  peer: string;
  reply: string;
}

privilegedSuite('eBPF capture (weft ebpf)', ['netns', 'clang', 'bpftool', 'cgroup2'], () => {
  let net: TestNet | undefined;
  let r: EbpfRun | undefined;
  let pod: TestHost;
  let dest: TestHost;
  let app: string;
  let proxyCg: string;
  let proxy: JsonLines | undefined;

  const pins = () => path.join(r!.bpffs, 'weft', r!.name);
  const connect = (ip: string, o: { cgroup?: string; uid?: number } = {}, port = '8080'): Promise<Connected> => runProbe<Connected>(r!, [...probeIn(pod, o), 'connect', ip, port, 'hello']);
  const startProxy = async (extra: string[] = []) => {
    const child = spawnProbe(r!, [...probeIn(pod, { cgroup: proxyCg, uid: 1337 }), 'proxy', '15001', '15006', ...extra]);
    proxy = new JsonLines(child);
    await proxy.waitFor((l) => 'listening' in l, 'the proxy listening');
  };
  const stopProxy = async () => {
    const child = proxy?.child;
    proxy = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };
  /** Waits, bounded, until the maps hold the expected numbers of entries; returns what they hold. */
  const mapsSettle = async (origDst: number, connecting = 0, inbound = 0): Promise<[number, number, number]> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const count = (m: string) => mapEntries(path.join(pins(), 'maps', m));
      const now: [number, number, number] = [await count('weft_orig_dst'), await count('weft_connecting'), await count('weft_inbound')];
      if ((now[0] === origDst && now[1] === connecting && now[2] === inbound) || Date.now() > deadline) return now;
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  before(async () => {
    net = await TestNet.create({ ipv6: true });
    pod = await net.addHost('pod');
    dest = await net.addHost('dest');
    await net.inNs(dest.ns, 'ip', ['addr', 'add', '198.18.0.103/24', 'dev', 'eth0']);
    await net.inNs(dest.ns, 'ip', ['addr', 'add', 'fd18::103/64', 'dev', 'eth0', 'nodad']);
    r = await createEbpfRun();
    app = r.cgroups.child('pod/app');
    proxyCg = r.cgroups.child('pod/proxy');
    for (const host of [dest, pod]) {
      const server = new JsonLines(net.spawnIn(host, process.execPath, ['-e', SERVER]));
      await server.waitFor((l) => l.up === true, `the server on ${host.name}`);
    }
    console.log(`# kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}`);
  });
  after(async () => {
    await stopProxy();
    await destroyEbpfRun(r);
    await net?.destroy();
  });

  test('install attaches each program to its cgroup, none to the root cgroup, and status reports it', async () => {
    const res = await weftEbpf(r!, installArgs(r!, app, proxyCg, ['--max-connections', String(MAX_CONNECTIONS), '--inbound-interface', 'eth0', '--pod-netns', `/run/netns/${pod.ns}`, ...EXCLUSIONS]));
    assert.equal(res.code, 0, res.stderr);
    const shown = (cg: string) => JSON.parse(execFileSync('bpftool', ['-j', 'cgroup', 'show', cg], { encoding: 'utf8' }).trim() || '[]') as { id: number; attach_type: string; name: string }[];
    for (const [role, cg] of [['workload', app], ['proxy', proxyCg]] as const) {
      const want = CAPTURE_PROGRAMS.filter((p) => p.roles.includes(role)).map((p) => `${p.attachType} ${p.name.slice(0, 15)}`).sort();
      assert.deepEqual(shown(cg).map((a) => `${a.attach_type} ${a.name}`).sort(), want, `${role} cgroup ${cg}`);
    }
    const [status] = JSON.parse((await weftEbpf(r!, ['status', '--name', r!.name, '-o', 'json'])).stdout) as InstallStatus[];
    assert.ok(status?.complete, JSON.stringify(status));
    const ours = new Set(status.attachments.map((a) => a.progId));
    for (const cg of [CGROUP2_ROOT, path.dirname(app)]) assert.deepEqual(shown(cg).filter((a) => ours.has(a.id)), [], `nothing of ours on ${cg}`);
    assert.deepEqual(status.maps.map((m) => [m.name, m.entries, m.maxEntries]), [['weft_connecting', 0, MAX_CONNECTIONS], ['weft_inbound', 0, MAX_CONNECTIONS], ['weft_orig_dst', 0, MAX_CONNECTIONS]]);
    const tcShown = (dir: string) => execFileSync('ip', ['netns', 'exec', pod.ns, 'tc', '-j', 'filter', 'show', 'dev', 'eth0', dir], { encoding: 'utf8' });
    for (const dir of ['ingress', 'egress']) assert.match(tcShown(dir), new RegExp(`"pref":15006,"kind":"bpf".*"name":"weft_tc_${dir}"`));
    assert.deepEqual(status.inbound?.hooks.map((h) => h.program), ['weft_tc_ingress', 'weft_tc_egress']);
    assert.match((await weftEbpf(r!, ['status'])).stdout, new RegExp(`${r!.name}: installed[^]*excluded: outbound ports 8081; outbound CIDRs 198.18.0.96/27,fd18::100/120; inbound ports 8081[^]*attached +weft_getsockopt +cgroup_getsockopt`));
  });

  test('an app in the workload cgroup reaches 198.18.0.3:8080 through the proxy, which reads the original destination', async () => {
    await startProxy();
    // A dual-stack (AF_INET6) socket calling a v4-mapped address, as Java does, stays IPv4 throughout.
    const cases = [
      ['198.18.0.3', '198.18.0.3:8080', '127.0.0.1:15001', '198.18.0.2'],
      ['fd18::3', '[fd18::3]:8080', '[::1]:15001', 'fd18::2'],
      ['::ffff:198.18.0.3', '198.18.0.3:8080', '[::ffff:127.0.0.1]:15001', '198.18.0.2'],
    ] as const;
    for (const [ip, shown, proxyAt, from] of cases) {
      const out = await connect(ip, { cgroup: app });
      assert.equal(out.peer, proxyAt, 'the app is connected to the proxy');
      const local = out.local.replace(/^\[::ffff:(.*)\]/, '$1');
      const seen = await proxy!.waitFor((l) => l.peer === local, `the proxy's accept of ${out.local}`);
      assert.deepEqual(seen, { peer: local, sockname: shown, orig: shown }, 'getsockopt(SO_ORIGINAL_DST) and getsockname() give the original destination');
      const m = /^seen (.+):(\d+)_got hello$/.exec(out.reply);
      assert.ok(m, `relayed reply from the destination: ${out.reply}`);
      assert.equal(m[1], from);
      assert.notEqual(`:${m[2]}`, out.local.slice(out.local.lastIndexOf(':')), "the destination's peer is the proxy's own connection, not the app's");
    }
  });

  for (const [who, opts] of [['a uid-1337 process in the workload cgroup', () => ({ cgroup: app, uid: 1337 })], ['a process outside the capture cgroups', () => ({})]] as const) {
    test(`${who} is not redirected`, async () => {
      const before = proxy!.lines.length;
      const out = await connect('198.18.0.3', opts());
      assert.equal(out.peer, '198.18.0.3:8080');
      assert.equal(out.reply, `seen ${out.local}_got hello`, 'the destination saw the app itself');
      // A redirected connection after it: when the proxy has logged that one, it has logged all before it.
      const marker = await connect('198.18.0.3', { cgroup: app });
      await proxy!.waitFor((l) => l.peer === marker.local, 'the marker connection');
      assert.deepEqual(proxy!.lines.slice(before).map((l) => l.peer), [marker.local]);
    });
  }

  test("inbound: a client calling the pod's port lands on the proxy's inbound port, which reads the original destination, and sees the port it called", async () => {
    for (const [ip, shown, podIp] of [['198.18.0.2', '198.18.0.2:8080', '198.18.0.2'], ['fd18::2', '[fd18::2]:8080', 'fd18::2']] as const) {
      const out = await runProbe<Connected>(r!, [...probeIn(dest), 'connect', ip, '8080', 'hello']);
      assert.equal(out.peer, shown, 'the client is connected to the address and port it called');
      const seen = await proxy!.waitFor((l) => l.peer === out.local, `the proxy's inbound accept of ${out.local}`);
      assert.deepEqual(seen, { peer: out.local, sockname: shown, orig: shown });
      const m = /^seen (.+):(\d+)_got hello$/.exec(out.reply);
      assert.ok(m, `relayed reply from the app: ${out.reply}`);
      assert.equal(m[1], podIp, "the app's peer is the proxy in its own pod, not the client");
    }
    assert.deepEqual(await mapsSettle(0), [0, 0, 0], 'inbound entries go when the connections close');
  });

  test('excluded outbound ports and CIDRs, and excluded inbound ports, go direct', async () => {
    const before = proxy!.lines.length;
    for (const [ip, port, shown] of [['198.18.0.3', '8081', '198.18.0.3:8081'], ['198.18.0.103', '8080', '198.18.0.103:8080'], ['fd18::103', '8080', '[fd18::103]:8080']] as const) {
      const out = await connect(ip, { cgroup: app }, port);
      assert.equal(out.peer, shown, `${shown} is not redirected`);
      assert.equal(out.reply, `seen ${out.local.replace(/^\[(.*)\]/, '$1')}_got hello`, 'the destination saw the app itself');
    }
    const inbound = await runProbe<Connected>(r!, [...probeIn(dest), 'connect', '198.18.0.2', '8081', 'hello']);
    assert.equal(inbound.reply, `seen ${inbound.local}_got hello`, 'the app on 8081 sees the client itself');
    const marker = await connect('198.18.0.3', { cgroup: app });
    await proxy!.waitFor((l) => l.peer === marker.local, 'the marker connection');
    assert.deepEqual(proxy!.lines.slice(before).map((l) => l.peer), [marker.local], 'the proxy saw only the marker');
  });

  test('the maps hold one entry per open proxied connection and none once they close', async () => {
    assert.deepEqual(await mapsSettle(0), [0, 0, 0]);
    const hold = spawnProbe(r!, [...probeIn(pod, { cgroup: app }), 'hold', '20', '198.18.0.3', '8080'], 'pipe');
    await new JsonLines(hold).waitFor((l) => l.open === 20, 'twenty open connections');
    assert.deepEqual(await mapsSettle(20), [20, 0, 0], 'an entry per connection, keyed by the app address; none left in weft_connecting');
    await new Promise<void>((resolve) => {
      hold.once('exit', () => resolve());
      hold.stdin!.end();
    });
    assert.deepEqual(await mapsSettle(0), [0, 0, 0], 'the entries go when the proxy side closes');
    const out = await runProbe<{ other: number; failed: number }>(r!, [...probeIn(pod, { cgroup: app }), 'loop', '300', '198.18.0.3', '8080']);
    assert.deepEqual([out.other, out.failed], [300, 0], 'all 300 connections reached the destination through the proxy');
    assert.deepEqual(await mapsSettle(0), [0, 0, 0], 'no growth over 300 connections');
    for (const m of ['weft_connecting', 'weft_orig_dst']) assert.equal((JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', path.join(pins(), 'maps', m)], { encoding: 'utf8' })) as { max_entries: number }).max_entries, MAX_CONNECTIONS);
  });

  test('a redirected connect that is refused leaves no entry behind (sock_release)', async () => {
    await stopProxy();
    await assert.rejects(connect('198.18.0.3', { cgroup: app }), /connect: Connection refused/);
    assert.deepEqual(await mapsSettle(0), [0, 0, 0]);
  });

  test('the cost of a redirected connect against a plain one to the same proxy', async (t) => {
    await startProxy(['--no-forward']);
    // Both land on the same proxy (accept, getsockopt, one byte, close); only the redirected one runs
    // connect4, sock_ops and the map updates. Rounds alternate, in ABBA order, so machine load and the
    // TIME_WAIT sockets each round leaves behind weigh on both alike.
    const N = 500;
    const ROUNDS = 10;
    type Loop = { proxied: number; other: number; failed: number; seconds: number };
    const loop = (ip: string, port: string, o: { cgroup?: string }) => runProbe<Loop>(r!, [...probeIn(pod, o), 'loop', String(N), ip, port]);
    const redirected: Loop[] = [];
    const plain: Loop[] = [];
    for (let i = 0; i < ROUNDS * 2; i++) {
      if (i % 4 === 0 || i % 4 === 3) redirected.push(await loop('198.18.0.3', '8080', { cgroup: app }));
      else plain.push(await loop('127.0.0.1', '15001', {}));
    }
    for (const x of redirected) assert.deepEqual([x.proxied, x.failed], [N, 0], 'every redirected connection got its original destination');
    for (const x of plain) assert.deepEqual([x.other, x.failed], [N, 0], 'plain connections have none');
    const median = (xs: Loop[]) => xs.map((x) => x.seconds).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const [rs, ps] = [median(redirected), median(plain)];
    t.diagnostic(`connect + accept + getsockopt + 1 byte + close, ${ROUNDS} alternating rounds of ${N}, medians: redirected ${Math.round(N / rs)}/s, plain ${Math.round(N / ps)}/s, ${(((rs - ps) / N) * 1e6).toFixed(1)} µs per connection for the redirect`);
    assert.deepEqual(await mapsSettle(0), [0, 0, 0]);
  });

  test('uninstall detaches every program, removes the pins and unmounts its bpffs', async () => {
    await stopProxy();
    const [status] = JSON.parse((await weftEbpf(r!, ['status', '--name', r!.name, '-o', 'json'])).stdout) as InstallStatus[];
    const ids = [...new Set(status!.attachments.map((a) => a.progId))];
    assert.equal(ids.length, CAPTURE_PROGRAMS.length);
    const res = await weftEbpf(r!, ['uninstall', '--name', r!.name]);
    assert.equal(res.code, 0, res.stderr);
    for (const cg of [app, proxyCg]) assert.equal(execFileSync('bpftool', ['-j', 'cgroup', 'show', cg], { encoding: 'utf8' }).trim() || '[]', '[]', cg);
    const qdiscs = JSON.parse(execFileSync('ip', ['netns', 'exec', pod.ns, 'tc', '-j', 'qdisc', 'show', 'dev', 'eth0'], { encoding: 'utf8' })) as { kind: string }[];
    assert.deepEqual(qdiscs.filter((q) => q.kind === 'clsact'), [], 'the clsact qdisc the install added is gone, and its filters with it');
    for (const id of ids) await assert.rejects(exec('bpftool', ['prog', 'show', 'id', String(id)]), `program ${id} is unloaded`);
    assert.ok(!mountPoints('bpf').includes(r!.bpffs), 'bpffs unmounted');
    assert.ok(!fs.existsSync(r!.bpffs) && !fs.existsSync(path.join(r!.stateDir, `${r!.name}.json`)));
    assert.equal((await weftEbpf(r!, ['status'])).stdout, 'no eBPF capture installed\n');
    assert.equal((await connect('198.18.0.3', { cgroup: app })).peer, '198.18.0.3:8080', 'the app goes direct again');
  });

  test('more open connections than map entries evict the oldest, and a new connection still gets its destination', async () => {
    // After the main install is gone: with both attached, its connect4 would run first and take
    // every connection into its own maps.
    const small = { ...r!, name: `${r!.name}-small` };
    const res = await weftEbpf(small, installArgs(small, app, proxyCg, ['--max-connections', '16']));
    assert.equal(res.code, 0, res.stderr);
    try {
      await startProxy();
      const hold = spawnProbe(r!, [...probeIn(pod, { cgroup: app }), 'hold', '40', '198.18.0.3', '8080'], 'pipe');
      await new JsonLines(hold).waitFor((l) => l.open === 40, 'forty open connections');
      const origDst = path.join(small.bpffs, 'weft', small.name, 'maps/weft_orig_dst');
      const held = await mapEntries(origDst);
      assert.ok(held > 0 && held <= 16, `${held} entries: some, and no more than --max-connections`);
      const out = await connect('198.18.0.3', { cgroup: app });
      assert.equal(out.peer, '127.0.0.1:15001');
      assert.deepEqual(await proxy!.waitFor((l) => l.peer === out.local, 'the 41st connection'), { peer: out.local, sockname: '198.18.0.3:8080', orig: '198.18.0.3:8080' });
      hold.stdin!.end();
    } finally {
      await stopProxy();
      assert.equal((await weftEbpf(small, ['uninstall', '--name', small.name])).code, 0);
    }
  });
});
