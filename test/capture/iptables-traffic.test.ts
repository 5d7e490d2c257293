// Real traffic through `weft iptables` rules in a pod namespace: a stand-in proxy on 15001/15006 (a tiny
// reporter, not Weft's proxy) says which connections reached it; conntrack and tcpdump show what the
// kernel did. Outbound goes to 15001 and never leaves directly, the proxy's uid goes straight out,
// excluded ports and CIDRs bypass, inbound lands on 15006, and the pod calling itself follows Istio's
// loopback rules (127.0.0.6 passthrough, the proxy's calls to the pod IP redirected inbound).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { between, conntrackFlows, flowsTo, PacketCapture } from '../helpers/capture-evidence.js';
import { CONNECT_JS, REPORTER_JS, UDP_ASK_JS, UDP_REPORTER_JS, type Report } from '../helpers/capture-peers.js';
import { TestNet, type TestHost } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { weftBin } from '../helpers/processes.js';

const exec = promisify(execFile);
const PROXY_UID = 1337;

privilegedSuite('traffic through weft iptables rules (real sockets in network namespaces)', ['netns', 'iptables', 'ip6tables', 'conntrack', 'tcpdump'], () => {
  let net: TestNet;
  let pod: TestHost;
  let b: TestHost;
  let c: TestHost;
  let dnsPod: TestHost;

  const listen = async (host: TestHost, label: string, ports: number[], script = REPORTER_JS) => {
    const child = net.spawnIn(host, process.execPath, ['-e', script, label, ...ports.map(String)]);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`${label} reporter exited ${code}`)));
    });
  };
  /** Connects from inside `from`'s namespace, as root or as the proxy's uid/gid. */
  const connect = async (from: TestHost, host: string, port: number, opts: { asProxy?: boolean; localAddress?: string; udp?: boolean } = {}): Promise<Report & { error?: string }> => {
    const node = [process.execPath, '-e', opts.udp ? UDP_ASK_JS : CONNECT_JS, host, String(port), ...(opts.localAddress ? [opts.localAddress] : [])];
    const cmd = opts.asProxy ? ['setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups', ...node] : node;
    const out = await net.inNs(from.ns, cmd[0]!, cmd.slice(1));
    return JSON.parse(out.trim()) as Report & { error?: string };
  };

  before(async () => {
    net = await TestNet.create({ ipv6: true });
    pod = await net.addHost('pod');
    b = await net.addHost('b');
    c = await net.addHost('c');
    dnsPod = await net.addHost('dnspod');
    const { stderr } = await exec(process.execPath, [weftBin, 'iptables', '--netns', `/run/netns/${pod.ns}`, '-d', '9081', '-o', '7001', '-x', `${c.ip}/32`]);
    assert.equal(stderr, '');
    await listen(pod, 'proxy', [15001, 15006]);
    await listen(pod, 'app', [9080, 9081]);
    await listen(b, 'b', [7000, 7001]);
    await listen(c, 'c', [7000]);
    // A second pod with DNS capture only (no inbound), and a DNS "server" on b over UDP and TCP.
    await exec(process.execPath, [weftBin, 'iptables', '--netns', `/run/netns/${dnsPod.ns}`, '--capture-dns', '-b', '']);
    await listen(dnsPod, 'proxy-dns', [15053], UDP_REPORTER_JS);
    await listen(dnsPod, 'proxy-dns', [15053]);
    await listen(b, 'b-dns', [53], UDP_REPORTER_JS);
    await listen(b, 'b-dns', [53]);
  });
  after(() => net?.destroy());

  test('the app\'s outbound connection lands on 15001, and no packet of it goes to the other host', async () => {
    const capture = await PacketCapture.start(net, b.ns, 'eth0', `tcp and port 7000`);
    const got = await connect(pod, b.ip, 7000);
    // A connection that did reach b (the proxy's uid bypass) proves the capture sees b's traffic at all.
    const direct = await connect(pod, b.ip, 7000, { asProxy: true });
    const packets = await capture.stop();
    assert.deepEqual({ by: got.by, via: got.via }, { by: 'proxy', via: 15001 });
    assert.deepEqual({ by: direct.by, peer: direct.peer }, { by: 'b', peer: pod.ip });
    const seen = between(packets, pod.ip, b.ip);
    assert.ok(seen.length > 0, 'the uid-1337 connection is on the wire');
    // Every packet on b's wire belongs to the one direct (proxy-uid) connection: the app's own never left.
    assert.equal(new Set(seen.map((p) => (p.src.ip === pod.ip ? p.src.port : p.dst.port))).size, 1, 'a single connection reached b');
    const flows = flowsTo(await conntrackFlows(net, pod.ns), { ip: b.ip, port: 7000 });
    assert.ok(flows.some((f) => f.redirected && f.reply.src.port === 15001), 'conntrack: the app\'s connection was redirected to 15001');
    assert.ok(flows.some((f) => !f.redirected), 'conntrack: the proxy-uid connection went direct');
  });

  test('an excluded outbound port and an excluded CIDR bypass the proxy', async () => {
    assert.deepEqual((await connect(pod, b.ip, 7001)).by, 'b');
    assert.deepEqual((await connect(pod, c.ip, 7000)).by, 'c');
  });

  test('IPv6 outbound is captured too (ip6tables)', async () => {
    const got = await connect(pod, b.ip6!, 7000);
    assert.deepEqual({ by: got.by, via: got.via }, { by: 'proxy', via: 15001 });
  });

  test('inbound to an app port lands on 15006; an excluded inbound port reaches the app', async () => {
    const got = await connect(b, pod.ip, 9080);
    assert.deepEqual({ by: got.by, via: got.via, peer: got.peer }, { by: 'proxy', via: 15006, peer: b.ip });
    assert.deepEqual((await connect(b, pod.ip, 9081)).by, 'app');
    const got6 = await connect(b, pod.ip6!, 9080);
    assert.deepEqual({ by: got6.by, via: got6.via }, { by: 'proxy', via: 15006 });
  });

  test('the pod calling itself: app direct over lo, the proxy to the pod IP via 15006, the 127.0.0.6 passthrough direct', async () => {
    // The app talking to its own pod IP stays on lo, uncaptured (Istio's `-o lo ! --uid-owner` RETURN).
    assert.equal((await connect(pod, pod.ip, 9080)).by, 'app');
    // The proxy's outbound side calling the pod's own IP (the app called its own service) goes to the
    // inbound side, so the request gets inbound policy and telemetry.
    const viaInbound = await connect(pod, pod.ip, 9080, { asProxy: true });
    assert.deepEqual({ by: viaInbound.by, via: viaInbound.via }, { by: 'proxy', via: 15006 });
    // The proxy's inbound side handing the connection to the app, from 127.0.0.6, is not captured again.
    const passthrough = await connect(pod, pod.ip, 9080, { asProxy: true, localAddress: '127.0.0.6' });
    assert.deepEqual({ by: passthrough.by, peer: passthrough.peer }, { by: 'app', peer: '127.0.0.6' });
  });

  test("DNS capture: the app's UDP and TCP port 53 go to the proxy's DNS port, the proxy's own queries go out", async () => {
    const udp = await connect(dnsPod, b.ip, 53, { udp: true });
    assert.deepEqual({ by: udp.by, via: udp.via }, { by: 'proxy-dns', via: 15053 });
    const tcp = await connect(dnsPod, b.ip, 53);
    assert.deepEqual({ by: tcp.by, via: tcp.via }, { by: 'proxy-dns', via: 15053 });
    assert.equal((await connect(dnsPod, b.ip, 53, { udp: true, asProxy: true })).by, 'b-dns');
    assert.equal((await connect(dnsPod, b.ip, 53, { asProxy: true })).by, 'b-dns');
  });
});
