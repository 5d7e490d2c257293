// Transparent proxy mode end to end, with the real `weft iptables` rules in network namespaces this
// test makes: a client pod and a server pod (each its own namespace holding the app and its sidecar, the
// sidecar `weft proxy --mode transparent --proxy-uid 1337`). The apps know nothing of the mesh: the
// client calls http://server:8080/ (a name in its namespace's hosts file), plain TCP and a
// server-speaks-first TCP service, and a port no listener knows (ALLOW_ANY passthrough). Every call
// passes both sidecars: their stats count it and the server app sees its peer as 127.0.0.6 (Istio's
// inbound passthrough source). A uid-1337 process bypasses capture. The sidecars run a static xDS
// fixture in Istio's transparent layout (test/proxy/helpers/transparent-resources.ts) served from
// inside each namespace by bench/dataplane/static-xds.ts.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { conntrackFlows, flowsTo } from '../helpers/capture-evidence.js';
import { applyCaptureRules, PROXY_UID } from '../helpers/capture-rules.js';
import { TestNet, type TestHost } from '../helpers/netns.js';
import { repoRoot } from '../helpers/paths.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { waitForLine, weftBin } from '../helpers/processes.js';
import { INBOUND_PASSTHROUGH_SOURCE, transparentClusters, transparentListeners, type TransparentLayout } from '../proxy/helpers/transparent-resources.js';

const HTTP_PORT = 8080;
const ECHO_PORT = 5000;
const BANNER_PORT = 5001;
/** Served by the server app but unknown to the mesh config: reached by passthrough. */
const UNKNOWN_PORT = 5002;
const XDS_PORT = 15010;
const ADMIN_PORT = 15000;

const apps = path.join(repoRoot, 'dist/test/helpers/capture-apps.js');
const staticXds = path.join(repoRoot, 'dist/bench/dataplane/static-xds.js');


privilegedSuite('transparent proxy mode (iptables REDIRECT in network namespaces)', ['netns', 'iptables', 'conntrack'], () => {
  let net: TestNet;
  let client: TestHost;
  let server: TestHost;
  const sidecars = new Map<string, ChildProcess>();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-transparent-'));

  const run = async (host: TestHost, args: string[], asProxyUser = false): Promise<{ status?: number; body?: string; reply?: string; error?: string }> => {
    const cmd = asProxyUser ? ['setpriv', `--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups', process.execPath] : [process.execPath];
    const out = await net.inNs(host.ns, cmd[0], [...cmd.slice(1), apps, ...args]);
    return JSON.parse(out) as { status?: number; body?: string; reply?: string };
  };
  const stats = async (host: TestHost): Promise<Record<string, number>> => {
    const out = await net.inNs(host.ns, process.execPath, [apps, 'admin', String(ADMIN_PORT), '/stats?format=json']);
    return Object.fromEntries((JSON.parse(out) as { stats: { name: string; value: number }[] }).stats.map((s) => [s.name, s.value]));
  };

  before(async () => {
    net = await TestNet.create();
    client = await net.addHost('client');
    server = await net.addHost('server');
    net.writeHosts(client, { server: server.ip });
    const layout: TransparentLayout = {
      outboundPolicy: 'ALLOW_ANY',
      services: [
        { ip: server.ip, port: HTTP_PORT, protocol: 'HTTP', host: 'server' },
        { ip: server.ip, port: ECHO_PORT, protocol: 'TCP', host: 'echo' },
        { ip: server.ip, port: BANNER_PORT, protocol: 'TCP', host: 'banner' },
      ],
      inboundPorts: [
        { port: HTTP_PORT, protocol: 'HTTP' },
        { port: ECHO_PORT, protocol: 'TCP' },
        { port: BANNER_PORT, protocol: 'TCP' },
      ],
    };
    const resources = { listeners: transparentListeners(layout), clusters: transparentClusters(layout) };
    const file = path.join(dir, 'xds.json');
    fs.writeFileSync(file, JSON.stringify({ client: resources, server: resources }));
    fs.chmodSync(dir, 0o755);
    const started: Promise<void>[] = [];
    const app = net.spawnIn(server, process.execPath, [apps, 'serve', String(HTTP_PORT), String(ECHO_PORT), String(BANNER_PORT), String(UNKNOWN_PORT)]);
    started.push(waitForLine(app, /ready/, 'server app'));
    for (const host of [client, server]) {
      await applyCaptureRules(net, host);
      const xds = net.spawnIn(host, process.execPath, [staticXds, String(XDS_PORT), file]);
      await waitForLine(xds, /ready/, `${host.name} xDS`);
      const proxy = net.spawnIn(host, process.execPath, [
        weftBin, 'proxy', '--mode', 'transparent', '--proxy-uid', String(PROXY_UID), '--xds-address', `127.0.0.1:${XDS_PORT}`, '--xds-protocol', 'sotw',
        '--id', host.name, '--service', host.name, '--address', host.ip, '--app-port', String(HTTP_PORT), '--admin-port', String(ADMIN_PORT),
      ]);
      sidecars.set(host.name, proxy);
      started.push(waitForLine(proxy, /ready: first CDS and LDS applied/, `${host.name} sidecar`));
    }
    await Promise.all(started);
  });

  after(async () => {
    await net?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('each sidecar runs as uid and gid 1337 (--proxy-uid)', () => {
    for (const [name, child] of sidecars) {
      // `ip netns exec` execs the command: the child's PID is the proxy's.
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      assert.match(status, new RegExp(`^Uid:\\s+${PROXY_UID}\\s+${PROXY_UID}\\s`, 'm'), `${name} uid`);
      assert.match(status, new RegExp(`^Gid:\\s+${PROXY_UID}\\s+${PROXY_UID}\\s`, 'm'), `${name} gid`);
    }
  });

  test('HTTP by name through both sidecars; the server app sees 127.0.0.6', async () => {
    const [c0, s0] = [await stats(client), await stats(server)];
    const r = await run(client, ['get', `http://server:${HTTP_PORT}/hello`]);
    assert.equal(r.status, 200, JSON.stringify(r));
    const body = JSON.parse(r.body!) as { peer: string; host: string; url: string };
    assert.deepEqual(body, { app: 'http', peer: INBOUND_PASSTHROUGH_SOURCE, host: `server:${HTTP_PORT}`, url: '/hello' });
    const [c1, s1] = [await stats(client), await stats(server)];
    assert.equal(c1['listener.virtualOutbound.downstream_cx_handed_off'] - c0['listener.virtualOutbound.downstream_cx_handed_off'], 1, 'virtualOutbound handed it to 0.0.0.0_8080');
    assert.equal(c1[`http.outbound_0.0.0.0_${HTTP_PORT}.downstream_rq_2xx`] - (c0[`http.outbound_0.0.0.0_${HTTP_PORT}.downstream_rq_2xx`] ?? 0), 1, 'the client sidecar routed it');
    assert.equal(s1[`http.inbound_0.0.0.0_${HTTP_PORT}.downstream_rq_2xx`] - (s0[`http.inbound_0.0.0.0_${HTTP_PORT}.downstream_rq_2xx`] ?? 0), 1, 'the server sidecar took it on 15006');
    assert.equal(s1['listener.virtualInbound.downstream_cx_total'] - s0['listener.virtualInbound.downstream_cx_total'], 1);
    // conntrack in the server pod: every connection the client pod made to the app port was
    // answered by the sidecar's 15006 (REDIRECT), none by the app directly.
    const tracked = flowsTo(await conntrackFlows(net, server.ns), { ip: server.ip, port: HTTP_PORT }, client.ip);
    assert.ok(tracked.length >= 1, 'conntrack saw the connection');
    for (const f of tracked) assert.deepEqual([f.redirected, f.reply.src.port], [true, 15006], JSON.stringify(f));
  });

  test('plain TCP through the <ip>_<port> listener and both sidecars', async () => {
    const c0 = await stats(client);
    const r = await run(client, ['tcp', 'server', String(ECHO_PORT), 'ping']);
    assert.equal(r.reply, `echo:${ECHO_PORT} peer=${INBOUND_PASSTHROUGH_SOURCE} ping`);
    const c1 = await stats(client);
    const key = `tcp.outbound|${ECHO_PORT}||echo.downstream_cx_total`;
    assert.equal(c1[key] - (c0[key] ?? 0), 1);
    const s = await stats(server);
    assert.ok(s[`tcp.inbound|${ECHO_PORT}||.downstream_cx_total`] >= 1);
  });

  test('a server-speaks-first TCP service', async () => {
    const r = await run(client, ['banner', 'server', String(BANNER_PORT)]);
    assert.equal(r.reply, `banner peer=${INBOUND_PASSTHROUGH_SOURCE}\n`);
    assert.ok((await stats(server))[`tcp.inbound|${BANNER_PORT}||.downstream_cx_total`] >= 1);
  });

  test('an unknown destination passes through (ALLOW_ANY) and arrives by the inbound passthrough', async () => {
    const [c0, s0] = [await stats(client), await stats(server)];
    const r = await run(client, ['tcp', server.ip, String(UNKNOWN_PORT), 'hi']);
    assert.equal(r.reply, `echo:${UNKNOWN_PORT} peer=${INBOUND_PASSTHROUGH_SOURCE} hi`);
    const [c1, s1] = [await stats(client), await stats(server)];
    assert.equal(c1['tcp.PassthroughCluster.downstream_cx_total'] - (c0['tcp.PassthroughCluster.downstream_cx_total'] ?? 0), 1);
    assert.equal(s1['tcp.InboundPassthroughClusterIpv4.downstream_cx_total'] - (s0['tcp.InboundPassthroughClusterIpv4.downstream_cx_total'] ?? 0), 1);
  });

  test('HTTP with an unknown Host on a known port: allow_any → PassthroughCluster to the original destination', async () => {
    const c0 = await stats(client);
    const r = await run(client, ['get', `http://server:${HTTP_PORT}/any`, 'unknown.example']);
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.deepEqual(JSON.parse(r.body!), { app: 'http', peer: INBOUND_PASSTHROUGH_SOURCE, host: 'unknown.example', url: '/any' });
    const c1 = await stats(client);
    assert.equal(c1['cluster.PassthroughCluster.upstream_rq_total'] - (c0['cluster.PassthroughCluster.upstream_rq_total'] ?? 0), 1, 'the ORIGINAL_DST cluster took the restored destination');
  });

  test('a uid-1337 process bypasses capture', async () => {
    const c0 = await stats(client);
    const r = await run(client, ['get', `http://server:${HTTP_PORT}/direct`], true);
    assert.equal(r.status, 200);
    const c1 = await stats(client);
    for (const k of ['listener.virtualOutbound.downstream_cx_total', `http.outbound_0.0.0.0_${HTTP_PORT}.downstream_rq_total`]) assert.equal(c1[k], c0[k], `${k} unchanged: the client sidecar never saw it`);
  });

  test('a connection to 15001 itself meets the BlackHoleCluster (no loop)', async () => {
    const c0 = await stats(client);
    const r = await run(client, ['tcp', '127.0.0.1', '15001', 'loop?']);
    assert.equal(r.reply, '', 'closed (or reset) without an answer');
    const c1 = await stats(client);
    assert.equal(c1['tcp.BlackHoleCluster.downstream_cx_no_route'] - (c0['tcp.BlackHoleCluster.downstream_cx_no_route'] ?? 0), 1);
  });
});
