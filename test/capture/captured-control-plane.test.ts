// Captured sidecars driven by the Weft control plane itself, end to end in network namespaces this
// test makes: `weft control-plane` in the hub namespace (198.18.0.1), a client and a server pod each
// captured by `weft iptables` and running `weft proxy --mode transparent`. The client app resolves
// `server` to the VIP the control plane allocated (its hosts file comes from
// /debug/vips?format=hosts) and knows nothing of the mesh; the call passes both sidecars (the server
// app's peer is 127.0.0.6), and a destination the mesh does not know passes through (ALLOW_ANY) or,
// under REGISTRY_ONLY, does not.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { TestNet, type TestHost } from '../helpers/netns.js';
import { privilegedSuite } from '../helpers/privileged.js';
import { waitForLine, weftBin } from '../helpers/processes.js';

const HTTP_PORT = 8080;
const UNKNOWN_PORT = 5002;
const CP = '198.18.0.1';
const PROXY_UID = 1337;

// The apps: a server answering with the peer it sees (HTTP, and a TCP echo on a port no service
// declares), and one-shot clients printing JSON. Plain Node, no mesh awareness.
const SERVER_APP = `
const http = require('node:http'), net = require('node:net');
let up = 0; const ready = () => ++up === 2 && console.log('ready');
http.createServer((q, s) => s.end(JSON.stringify({ peer: q.socket.remoteAddress, host: q.headers.host, url: q.url }))).listen(${HTTP_PORT}, '0.0.0.0', ready);
net.createServer({ allowHalfOpen: true }, (s) => { let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => s.end('echo peer=' + s.remoteAddress + ' ' + d)); s.on('error', () => {}); }).listen(${UNKNOWN_PORT}, '0.0.0.0', ready);`;
const GET = (url: string) => `fetch(${JSON.stringify(url)}).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => console.log(JSON.stringify({ error: String(e.cause ?? e) })))`;
const TCP = (host: string, port: number, text: string) => `
const s = require('node:net').connect(${port}, ${JSON.stringify(host)}, () => s.end(${JSON.stringify(text)}));
let d = ''; s.on('data', (c) => (d += c)); s.on('close', () => console.log(JSON.stringify({ reply: d }))); s.on('error', () => {});`;


/** One mesh: control plane (with `meshConfig` YAML), server and client pods, the client's hosts file from /debug/vips. */
function capturedMesh(meshConfig: string) {
  const m = { net: undefined as unknown as TestNet, client: undefined as unknown as TestHost, server: undefined as unknown as TestHost, vips: '' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-captured-cp-'));
  before(async () => {
    m.net = await TestNet.create();
    const net = m.net;
    m.client = await net.addHost('client');
    m.server = await net.addHost('server');
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, 'mesh.yaml'), meshConfig);
    fs.mkdirSync(path.join(dir, 'config'));
    const cp = net.spawnIn(net.hub, process.execPath, [
      weftBin, 'control-plane', '--insecure-registration', '--config-dir', path.join(dir, 'config'), '--mesh-config', path.join(dir, 'mesh.yaml'),
      '--xds-address', `${CP}:15010`, '--monitor-address', `${CP}:15014`, '--service-vip-range', '198.19.0.0/16', '--debounce-ms', '20',
    ]);
    await waitForLine(cp, /serving ADS/, 'control plane');
    await waitForLine(net.spawnIn(m.server, process.execPath, ['-e', SERVER_APP]), /ready/, 'server app');
    const started: Promise<void>[] = [];
    for (const [host, appPort] of [[m.server, HTTP_PORT], [m.client, 9090]] as const) {
      await net.inNs(host.ns, process.execPath, [weftBin, 'iptables', '--proxy-uid', String(PROXY_UID), '--proxy-gid', String(PROXY_UID)]);
      const proxy = net.spawnIn(host, process.execPath, [
        weftBin, 'proxy', '--mode', 'transparent', '--proxy-uid', String(PROXY_UID), '--xds-address', `${CP}:15010`, '--xds-protocol', 'sotw',
        '--id', host.name, '--service', host.name, '--address', host.ip, '--app-port', String(appPort), '--admin-port', '15000',
      ]);
      started.push(waitForLine(proxy, /ready: first CDS and LDS applied/, `${host.name} sidecar`));
    }
    await Promise.all(started);
    // Both registered: the client's hosts file is the control plane's answer for its namespace.
    const monitor = () => net.inNs(net.hub, process.execPath, ['-e', `fetch('http://${CP}:15014/debug/vips?format=hosts&namespace=default').then((r) => r.text()).then((t) => process.stdout.write(t))`]);
    for (let i = 0; i < 100 && !/ server\.default\.svc\.cluster\.local /.test(m.vips); i++) {
      m.vips = await monitor();
      if (!/ server\.default\.svc\.cluster\.local /.test(m.vips)) await new Promise((r) => setTimeout(r, 50));
    }
    fs.mkdirSync(`/etc/netns/${m.client.ns}`, { recursive: true });
    fs.writeFileSync(`/etc/netns/${m.client.ns}/hosts`, `127.0.0.1 localhost\n${m.vips}`);
  });
  after(async () => {
    await m.net?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const run = async (host: TestHost, script: string) => JSON.parse(await m.net.inNs(host.ns, process.execPath, ['-e', script])) as { status?: number; body?: string; reply?: string; error?: string };
  return { m, run };
}

const suite = (name: string, body: () => void) => privilegedSuite(name, ['netns', 'iptables'], body);

suite('captured sidecars on the Weft control plane: ALLOW_ANY', () => {
  const { m, run } = capturedMesh('outboundTrafficPolicy: { mode: ALLOW_ANY }\n');

  test('http://server:8080 by the VIP the control plane allocated, through both sidecars', async () => {
    assert.match(m.vips, /^198\.19\.\d+\.\d+ server\.default\.svc\.cluster\.local server\.default\.svc server\.default server$/m);
    const r = await run(m.client, GET(`http://server:${HTTP_PORT}/hello`));
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.deepEqual(JSON.parse(r.body!), { peer: '127.0.0.6', host: `server:${HTTP_PORT}`, url: '/hello' });
  });

  test('a destination the mesh does not know passes through and reaches the app by the inbound passthrough', async () => {
    assert.deepEqual(await run(m.client, TCP(m.server.ip, UNKNOWN_PORT, 'hi')), { reply: 'echo peer=127.0.0.6 hi' });
  });
});

suite('captured sidecars on the Weft control plane: REGISTRY_ONLY', () => {
  const { m, run } = capturedMesh('outboundTrafficPolicy: { mode: REGISTRY_ONLY }\n');

  test('the mesh service is still reached by name', async () => {
    const r = await run(m.client, GET(`http://server:${HTTP_PORT}/hello`));
    assert.equal(r.status, 200, JSON.stringify(r));
  });

  test('a destination the mesh does not know is blocked: TCP is closed, an unknown HTTP host gets 502', async () => {
    assert.deepEqual(await run(m.client, TCP(m.server.ip, UNKNOWN_PORT, 'hi')), { reply: '' });
    const r = await run(m.client, GET(`http://${m.server.ip}:${HTTP_PORT}/`));
    assert.equal(r.status, 502, JSON.stringify(r));
  });
});
