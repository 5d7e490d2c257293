// A sidecar's SIGTERM, through a real `weft proxy` process: during the drain period the listener
// still accepts and answers (each connection closed after its response, so callers reconnect
// elsewhere), the request in flight finishes, and only after the drain period are new connections
// refused; then the process exits 0.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { rawExchange, listenerPorts, startSidecarProcess, statuses, type SidecarProcess } from '../helpers/sidecar.js';
import { rdsListener, staticCluster, startUpstream, type Upstream } from '../proxy/helpers/resources.js';

let app: Upstream;
let slow: http.Server;
let sc: SidecarProcess;
let port = 0;
const DRAIN_MS = 1500;
const get = (host: string, path = '/') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
const complete = (t: string) => /\r\n\r\n[^]*$/.test(t) && /content-length: (\d+)/i.test(t) && t.split('\r\n\r\n')[1].length >= Number(/content-length: (\d+)/i.exec(t)![1]);

before(async () => {
  app = await startUpstream('app');
  slow = http.createServer((_req, res) => setTimeout(() => res.end('slow done'), 1000));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  [port] = await listenerPorts(1);
  const vh = (name: string, cluster: string) => ({ name, domains: [name], routes: [{ match: { prefix: '/' }, route: { cluster } }] });
  sc = await startSidecarProcess({
    clusters: [staticCluster('app', [app.port]), staticCluster('slow', [(slow.address() as net.AddressInfo).port])],
    listeners: [rdsListener('out', port)],
    routes: [{ name: 'out', virtual_hosts: [vh('app', 'app'), vh('slow', 'slow')] }],
    args: ['--drain-period-ms', String(DRAIN_MS)],
  });
});

after(async () => {
  await sc?.stop();
  await app?.close();
  slow?.close();
});

test('SIGTERM: in-flight finishes, new requests are served (connection: close) during the drain, refused after it', async () => {
  const inflight = rawExchange(port, [get('slow')], { done: complete, timeoutMs: 5000 });
  await new Promise((r) => setTimeout(r, 200));
  const exited = new Promise<number | null>((resolve) => sc.proc.child.once('exit', (c) => resolve(c)));
  const termAt = Date.now();
  sc.proc.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  // Inside the drain period: a new connection is accepted and answered, and told to close.
  const during = await rawExchange(port, [get('app')], { done: complete });
  assert.deepEqual(statuses(during), [200]);
  assert.match(during, /\r\nconnection: close\r\n/);
  const slowAnswer = await inflight;
  assert.deepEqual(statuses(slowAnswer), [200]);
  assert.match(slowAnswer, /slow done$/);
  // After the drain period the listener is gone and the process has exited cleanly.
  assert.equal(await exited, 0);
  assert.ok(Date.now() - termAt >= DRAIN_MS, 'the drain period was kept');
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve('connected')));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  assert.equal(refused, 'ECONNREFUSED');
});
