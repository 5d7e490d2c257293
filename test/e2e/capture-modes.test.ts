// One end-to-end suite for the three capture modes (iptables, weft-cni in the CNI chain, eBPF), on the
// topology `weft demo --netns` ships (src/demo/netns): pods are network namespaces on a bridge made by
// Debian's CNI plugins, the control plane runs in the hub namespace with a CA (mTLS between sidecars),
// each pod's app and `weft proxy --mode transparent` (uid 1337) share the pod's namespace and cgroup.
// The apps know nothing of the mesh: they call services by name (the pod's hosts file, from the control
// plane's /debug/vips). Asserted per mode: HTTP, gRPC, TCP echo and a server-speaks-first service pass
// both sidecars (both count it, the server app's peer is 127.0.0.6, the pod's veth carries no
// plaintext of the request); a uid-1337 process and an excluded port bypass capture; an app calling its
// own service works; and nothing is left afterwards. Modes run one after the other.
// WEFT_CAPTURE_MODES=iptables,ebpf picks modes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { PodMesh, ADMIN_PORT } from '../../src/demo/netns/mesh.js';
import { CAPTURE_MODES, PodNet, PROXY_UID, type CaptureMode, type Pod } from '../../src/demo/netns/pods.js';
import { PacketCapture } from '../helpers/capture-evidence.js';
import { privilegedSuite, type Need } from '../helpers/privileged.js';
import { repoRoot } from '../helpers/paths.js';

const apps = path.join(repoRoot, 'dist/test/helpers/capture-apps.js');
const HTTP_PORT = 8080;
const GRPC_PORT = 9090;
const ECHO_PORT = 7000;
const BANNER_PORT = 7001;
/** Excluded from capture: outbound in the client pod, inbound in the web pod. */
const DIRECT_PORT = 7005;
const CLIENT_PORT = 9080;
const PASSTHROUGH_SOURCE = '127.0.0.6';

const NEEDS: Record<CaptureMode, Need[]> = {
  iptables: ['netns', 'cni', 'iptables', 'cgroup2', 'tcpdump'],
  cni: ['netns', 'cni', 'iptables', 'cgroup2', 'tcpdump'],
  ebpf: ['netns', 'cni', 'cgroup2', 'clang', 'bpftool', 'tcpdump'],
};
const modes = (process.env.WEFT_CAPTURE_MODES?.split(',') ?? [...CAPTURE_MODES]) as CaptureMode[];
for (const m of modes) if (!CAPTURE_MODES.includes(m)) throw new Error(`WEFT_CAPTURE_MODES: "${m}" is not one of ${CAPTURE_MODES.join(', ')}`);

type Reply = { status?: number; body?: string; reply?: string; error?: string };

for (const mode of modes) {
  privilegedSuite(`capture mode ${mode}: the same end-to-end suite`, NEEDS[mode], () => {
    let net: PodNet;
    let mesh: PodMesh;
    const pods: Record<string, Pod> = {};

    const run = async (pod: Pod, args: string[], asProxyUser = false): Promise<Reply> => {
      const cmd = asProxyUser ? ['setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups', process.execPath] : [process.execPath];
      return JSON.parse(await net.runInPod(pod, cmd[0]!, [...cmd.slice(1), apps, ...args])) as Reply;
    };
    /** The sidecar's admin stats, read from inside the pod's namespace (outside its cgroup: never captured). */
    const stats = async (pod: Pod): Promise<Record<string, number>> => {
      const out = await net.exec(pod.ns, process.execPath, [apps, 'admin', String(ADMIN_PORT), '/stats?format=json']);
      return Object.fromEntries((JSON.parse(out) as { stats: { name: string; value: number }[] }).stats.map((s) => [s.name, s.value]));
    };
    const sum = (s: Record<string, number>, re: RegExp) => Object.entries(s).filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);
    const delta = (a: Record<string, number>, b: Record<string, number>, re: RegExp) => sum(b, re) - sum(a, re);
    /** Runs `call` while tcpdump reads the client pod's veth; returns what went over the wire. */
    const onTheWire = async (call: () => Promise<void>): Promise<string> => {
      const capture = await PacketCapture.start(net, pods.client!.ns, 'eth0', 'tcp', { payloads: true });
      await call();
      await new Promise((r) => setTimeout(r, 200));
      await capture.stop();
      return capture.text();
    };

    before(async () => {
      net = await PodNet.create({ prefix: 'wt-', capture: mode });
      // The first pod alone (it creates the bridge and, under eBPF, fills the object cache), the rest
      // and the control plane at once.
      pods.client = await net.addPod('client', { outboundPorts: [DIRECT_PORT] });
      [mesh, pods.web, pods.rpc, pods.echo, pods.hello] = await Promise.all([
        PodMesh.start(net), net.addPod('web', { inboundPorts: [DIRECT_PORT] }), net.addPod('rpc'), net.addPod('echo'), net.addPod('hello'),
      ]);
      const apps$ = [
        ['web', ['serve', HTTP_PORT, ECHO_PORT, BANNER_PORT, DIRECT_PORT]],
        ['echo', ['serve', HTTP_PORT, ECHO_PORT, BANNER_PORT]],
        ['hello', ['serve', HTTP_PORT, ECHO_PORT, BANNER_PORT]],
        ['client', ['serve', CLIENT_PORT, ECHO_PORT, BANNER_PORT]],
        ['rpc', ['grpc-serve', GRPC_PORT]],
      ] as const;
      await Promise.all(
        apps$.map(async ([name, args]) => {
          const child = net.spawnIn(pods[name]!, process.execPath, [apps, ...args.map(String)]);
          await new Promise<void>((resolve, reject) => {
            child.stdout!.once('data', () => resolve());
            child.once('exit', (code) => reject(new Error(`${name} app exited ${code}`)));
          });
        }),
      );
      await Promise.all([
        mesh.sidecar(pods.web!, { service: 'web', port: HTTP_PORT, protocol: 'HTTP' }),
        mesh.sidecar(pods.rpc!, { service: 'rpc', port: GRPC_PORT, protocol: 'GRPC' }),
        mesh.sidecar(pods.echo!, { service: 'echo', port: ECHO_PORT, protocol: 'TCP' }),
        mesh.sidecar(pods.hello!, { service: 'hello', port: BANNER_PORT, protocol: 'TCP' }),
        mesh.sidecar(pods.client!, { service: 'client', port: CLIENT_PORT, protocol: 'HTTP' }),
      ]);
      await mesh.writeHosts(Object.values(pods), ['web', 'rpc', 'echo', 'hello', 'client']);
    });
    after(async () => {
      await net?.destroy();
    });

    test('HTTP by name passes both sidecars over mTLS; the server app sees 127.0.0.6; the wire carries no plaintext of it', async () => {
      const marker = `/marker-${Math.random().toString(36).slice(2)}`;
      const [c0, w0] = [await stats(pods.client!), await stats(pods.web!)];
      let r: Reply = {};
      const wire = await onTheWire(async () => void (r = await run(pods.client!, ['get', `http://web:${HTTP_PORT}${marker}`])));
      assert.equal(r.status, 200, JSON.stringify(r));
      assert.deepEqual(JSON.parse(r.body!), { app: 'http', peer: PASSTHROUGH_SOURCE, host: `web:${HTTP_PORT}`, url: marker });
      const [c1, w1] = [await stats(pods.client!), await stats(pods.web!)];
      assert.equal(delta(c0, c1, /^http\.outbound_0\.0\.0\.0_8080\.downstream_rq_2xx$/), 1, 'the client sidecar routed it');
      assert.equal(delta(w0, w1, /^http\.inbound_0\.0\.0\.0_8080\.downstream_rq_2xx$/), 1, 'the web sidecar took it inbound');
      assert.ok(delta(w0, w1, /^listener\.virtualInbound\.ssl_handshake$/) >= 1, 'over mTLS');
      assert.match(wire, new RegExp(`${pods.client!.ip.replace(/\./g, '\\.')}\\.\\d+ > ${pods.web!.ip.replace(/\./g, '\\.')}\\.${HTTP_PORT}:`), 'tcpdump saw the sidecars\' connection');
      assert.ok(!wire.includes(marker), 'no plaintext request on the veth: no direct app-to-app connection');
    });

    test('gRPC: a unary call by service name through both sidecars', async () => {
      const [c0, s0] = [await stats(pods.client!), await stats(pods.rpc!)];
      const r = await run(pods.client!, ['grpc-say', 'rpc', String(GRPC_PORT), 'hi']);
      assert.match(r.reply ?? JSON.stringify(r), new RegExp(`^hi peer=(ipv4:)?${PASSTHROUGH_SOURCE.replace(/\./g, '\\.')}$`));
      const [c1, s1] = [await stats(pods.client!), await stats(pods.rpc!)];
      assert.ok(delta(c0, c1, /^http\.outbound_0\.0\.0\.0_9090\.downstream_rq_total$/) >= 1, 'the client sidecar routed it');
      assert.ok(delta(s0, s1, /^http\.inbound_0\.0\.0\.0_9090\.downstream_rq_total$/) >= 1, 'the rpc sidecar took it');
    });

    test('plain TCP (echo) by name through both sidecars', async () => {
      const [c0, s0] = [await stats(pods.client!), await stats(pods.echo!)];
      const r = await run(pods.client!, ['tcp', 'echo', String(ECHO_PORT), 'ping']);
      assert.equal(r.reply, `echo:${ECHO_PORT} peer=${PASSTHROUGH_SOURCE} ping`);
      const [c1, s1] = [await stats(pods.client!), await stats(pods.echo!)];
      assert.equal(delta(c0, c1, /^tcp\.outbound\|7000\|\|echo.*\.downstream_cx_total$/), 1, JSON.stringify(Object.keys(c1).filter((k) => k.startsWith('tcp.'))));
      assert.equal(delta(s0, s1, /^tcp\.inbound\|7000\|\|.*\.downstream_cx_total$/), 1);
    });

    test('a server-speaks-first TCP service by name', async () => {
      const s0 = await stats(pods.hello!);
      const r = await run(pods.client!, ['banner', 'hello', String(BANNER_PORT)]);
      assert.equal(r.reply, `banner peer=${PASSTHROUGH_SOURCE}\n`);
      assert.equal(delta(s0, await stats(pods.hello!), /^tcp\.inbound\|7001\|\|.*\.downstream_cx_total$/), 1);
    });

    test('a uid-1337 process bypasses capture', async () => {
      const c0 = await stats(pods.client!);
      const r = await run(pods.client!, ['tcp', pods.web!.ip, String(DIRECT_PORT), 'as-proxy'], true);
      assert.equal(r.reply, `echo:${DIRECT_PORT} peer=${pods.client!.ip} as-proxy`, 'reached the app directly');
      const r2 = await run(pods.client!, ['get', `http://${pods.web!.ip}:${HTTP_PORT}/as-proxy`], true);
      assert.equal(r2.status, 200, JSON.stringify(r2));
      const c1 = await stats(pods.client!);
      assert.equal(delta(c0, c1, /^listener\.virtualOutbound\.downstream_cx_total$/), 0, 'the client sidecar never saw either');
    });

    test('an excluded port bypasses capture both ways: the app sees the client pod, and the wire carries the plaintext', async () => {
      const c0 = await stats(pods.client!);
      const marker = `direct-${Math.random().toString(36).slice(2)}`;
      let r: Reply = {};
      const wire = await onTheWire(async () => void (r = await run(pods.client!, ['tcp', pods.web!.ip, String(DIRECT_PORT), marker])));
      assert.equal(r.reply, `echo:${DIRECT_PORT} peer=${pods.client!.ip} ${marker}`);
      assert.ok(wire.includes(marker), 'tcpdump sees payloads: the check above for their absence can fail');
      assert.equal(delta(c0, await stats(pods.client!), /^listener\.virtualOutbound\.downstream_cx_total$/), 0);
    });

    test('an app calling its own service works, through its own sidecar\'s inbound side', async () => {
      const c0 = await stats(pods.client!);
      const r = await run(pods.client!, ['get', `http://client:${CLIENT_PORT}/self`]);
      assert.equal(r.status, 200, JSON.stringify(r));
      assert.deepEqual(JSON.parse(r.body!), { app: 'http', peer: PASSTHROUGH_SOURCE, host: `client:${CLIENT_PORT}`, url: '/self' });
      const c1 = await stats(pods.client!);
      assert.equal(delta(c0, c1, /^http\.outbound_0\.0\.0\.0_9080\.downstream_rq_2xx$/), 1, 'out through the sidecar');
      assert.equal(delta(c0, c1, /^http\.inbound_0\.0\.0\.0_9080\.downstream_rq_2xx$/), 1, 'and back in through its inbound side');
    });

    test('destroy leaves nothing: namespaces, cgroups, CNI leases, bpffs pins, processes', async () => {
      const pids = [...mesh.sidecars.values()].map((s) => s.child.pid!);
      const { dir, cgroupRoot, id } = net;
      await net.destroy();
      assert.ok(!execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(id), 'no namespace of the run');
      assert.ok(!fs.existsSync(cgroupRoot), 'no cgroup of the run');
      assert.ok(!fs.existsSync(dir), 'no run dir (leases, eBPF state)');
      assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), 'no bpffs mount');
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'sidecar gone');
    });
  });
}
