// End to end on loopback with real processes: a control plane, two `reviews` versions and a client
// workload, each with its own `weft proxy`. Asserts behaviour (where requests land), not proto shape.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePorts, httpGetJson, spawnWeft, stopTestbed, waitFor, waitForDisconnected, type Proc } from '../helpers/processes.js';

interface TypeStatus { sent: string | null; acked: string | null; nack: { message: string } | null; sentAt: string | null; resources: number }
interface Syncz { proxies: { id: string; service: string; types: Record<string, TypeStatus> }[] }

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-e2e-'));
const procs: Proc[] = [];
const apps: http.Server[] = [];
let cp: Proc;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let ports: Record<string, number>;
/** Every sidecar's admin port. */
let adminPorts: number[] = [];

const DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
`;
const vs = (w1: number, w2: number) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match:
    - headers:
        end-user: { exact: jason }
    route:
    - destination: { host: reviews, subset: v2 }
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: ${w1}
    - destination: { host: reviews, subset: v2 }
      weight: ${w2}
`;

function startApp(version: string): Promise<number> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-app-version': version });
    res.end(JSON.stringify({ service: 'reviews', version, path: req.url, host: req.headers.host }));
  });
  apps.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function startControlPlane(): Proc {
  const p = spawnWeft('control-plane', [
    'control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${ports.xds}`, '--monitor-address', `127.0.0.1:${ports.monitor}`, '--debounce-ms', '50',
  ]);
  procs.push(p);
  return p;
}

function request(headers: Record<string, string> = {}, host = 'reviews:9080'): Promise<{ status: number; version: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: ports.clientOutbound, path: '/reviews/1', agent, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, version: String(res.headers['x-app-version'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends n requests, `concurrency` at a time, and counts the answering version. */
async function load(n: number, headers: Record<string, string> = {}, concurrency = 8): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next++;
      const r = await request(headers);
      const key = r.status === 200 ? r.version : `status ${r.status}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }));
  return counts;
}

const syncz = () => httpGetJson<Syncz>(`http://127.0.0.1:${ports.monitor}/debug/syncz`);
// The sidecars speak Delta ADS (the default): routes' virtual hosts arrive over VHDS, and a proxy whose
// diff for a snapshot is empty counts as having ACKed that snapshot's version.
const allAcked = (s: Syncz, n: number) =>
  s.proxies.length === n && s.proxies.every((p) => ['cluster', 'endpoint', 'listener', 'route', 'virtualHost'].every((t) => p.types[t]?.sent && p.types[t].sent === p.types[t].acked));

before(async () => {
  const [xds, monitor, clientOutbound, ...rest] = await freePorts(12);
  ports = { xds, monitor, clientOutbound };
  adminPorts = [rest[2], rest[5], rest[7]];
  fs.writeFileSync(path.join(dir, 'destination-rule.yaml'), DR);
  fs.writeFileSync(path.join(dir, 'reviews.yaml'), vs(80, 20));
  cp = startControlPlane();
  await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, procs);
  const appV1 = await startApp('v1');
  const appV2 = await startApp('v2');
  const sidecar = (service: string, labels: string, appPort: number, [outbound, inbound, admin]: number[]) =>
    spawnWeft(`proxy ${service} ${labels}`, [
      'proxy', '--xds-address', `127.0.0.1:${xds}`, '--service', service, '--labels', labels, '--app-port', String(appPort),
      '--service-port', '9080', '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin),
    ]);
  procs.push(sidecar('reviews', 'version=v1', appV1, rest.slice(0, 3)));
  procs.push(sidecar('reviews', 'version=v2', appV2, rest.slice(3, 6)));
  // The client workload has no app listening; only its outbound side is used.
  procs.push(sidecar('client', 'version=v1', rest[8], [clientOutbound, rest[6], rest[7]]));
  await waitFor('every proxy ACKed', async () => allAcked(await syncz(), 3), 20_000, procs);
  // Both reviews endpoints must be in the client's EDS before measuring.
  await waitFor('both versions answer', async () => {
    const c = await load(40);
    return c.v1 > 0 && c.v2 > 0;
  }, 10_000, procs);
});

after(() => stopTestbed({ agent, procs, apps, dir }));

test('an 80/20 split lands within ±3 points over 2,000 requests', async () => {
  const counts = await load(2000);
  const share = (100 * (counts.v2 ?? 0)) / 2000;
  console.log(`# 80/20 split: ${JSON.stringify(counts)} → v2 share ${share.toFixed(1)}%`);
  assert.equal((counts.v1 ?? 0) + (counts.v2 ?? 0), 2000, `every request answered: ${JSON.stringify(counts)}`);
  assert.ok(Math.abs(share - 20) <= 3, `v2 share ${share}% not within 20±3`);
});

test('end-user: jason goes to v2 every time', async () => {
  const counts = await load(300, { 'end-user': 'jason' });
  assert.deepEqual(counts, { v2: 300 });
});

test('weft proxy-status lists every proxy as SYNCED', async () => {
  const ps = spawnWeft('proxy-status', ['proxy-status', '--monitor-address', `127.0.0.1:${ports.monitor}`]);
  const code = await new Promise((resolve) => ps.child.once('exit', resolve));
  const lines = ps.output().trim().split('\n');
  assert.equal(code, 0, ps.output());
  assert.match(lines[0], /^NAME\s+SERVICE\s+ADDRESS\s+XDS\s+CDS\s+LDS\s+EDS\s+RDS\s+VHDS$/);
  assert.equal(lines.filter((l) => /Delta\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED$/.test(l)).length, 3, ps.output());
});

test('unknown host gets 404 with a clear body', async () => {
  const r = await request({}, 'nosuch.example');
  assert.equal(r.status, 404);
  assert.match(r.body, /nosuch\.example/);
});

test('a config edit on disk is ACKed within 1 s by the proxy that holds the edited virtual host', async () => {
  const before = await syncz();
  // The edit changes the reviews virtual host: VHDS, not the route configuration that names it. Only
  // the client holds it (it asked for reviews); the reviews sidecars call nothing, so for them the
  // new snapshot is an empty diff, which counts as ACKed at once and measures nothing.
  const holders = before.proxies.filter((p) => p.types.virtualHost.resources > 0).map((p) => p.id);
  assert.deepEqual(holders, before.proxies.filter((p) => p.service === 'client').map((p) => p.id), 'the client holds the reviews virtual host');
  const oldVhds = before.proxies[0].types.virtualHost.sent;
  const t0 = Date.now();
  fs.writeFileSync(path.join(dir, 'reviews.yaml'), vs(50, 50));
  const s = await waitFor('the new virtual host sent to and ACKed by its holder', async () => {
    const cur = await syncz();
    const held = cur.proxies.filter((p) => holders.includes(p.id));
    return held.length === holders.length && held.every((p) => p.types.virtualHost.sent !== oldVhds && p.types.virtualHost.acked === p.types.virtualHost.sent) && cur;
  }, 5_000, procs);
  const elapsed = Date.now() - t0;
  console.log(`# edit → ACK by the holder: ${elapsed} ms`);
  for (const p of s.proxies.filter((x) => holders.includes(x.id))) {
    // A real response went out after the write (an empty diff would leave sentAt where it was).
    assert.ok(Date.parse(p.types.virtualHost.sentAt!) >= t0 - 5, `${p.id}: the edit was pushed, not found empty`);
  }
  assert.ok(elapsed <= 1000, `edit took ${elapsed} ms to be ACKed by the proxy that holds the virtual host`);
  await waitFor('the other proxies synced on the new snapshot', async () => allAcked(await syncz(), 3), 5_000, procs);
  const counts = await load(400);
  assert.ok(counts.v1 > 120 && counts.v2 > 120, `50/50 split after the edit: ${JSON.stringify(counts)}`);
});

test('an invalid edit leaves traffic flowing and the error visible', async () => {
  const routeBefore = (await syncz()).proxies.map((p) => p.types.virtualHost.acked);
  fs.writeFileSync(path.join(dir, 'reviews.yaml'), vs(50, 50).replace('weight: 50', 'weight: fifty'));
  const configz = await waitFor('error visible in /debug/configz', async () => {
    const c = await httpGetJson<{ errors: { file: string; path: string; message: string }[] }>(`http://127.0.0.1:${ports.monitor}/debug/configz`);
    return c.errors.length > 0 && c;
  }, 5_000, procs);
  assert.match(configz.errors[0].file, /reviews\.yaml$/);
  assert.match(configz.errors[0].path, /spec\.http\[1\]\.route\[0\]\.weight/);
  assert.match(cp.output(), /reviews\.yaml.*weight/);
  const counts = await load(400);
  assert.equal((counts.v1 ?? 0) + (counts.v2 ?? 0), 400, `traffic flows: ${JSON.stringify(counts)}`);
  assert.ok(counts.v1 > 120 && counts.v2 > 120, `last good 50/50 config still served: ${JSON.stringify(counts)}`);
  assert.deepEqual((await syncz()).proxies.map((p) => p.types.virtualHost.acked), routeBefore, 'no proxy got new routes');
});

test('killing the control plane leaves traffic flowing; restarting it resynchronises', async () => {
  fs.writeFileSync(path.join(dir, 'reviews.yaml'), vs(100, 0));
  await waitFor('100/0 applied', async () => {
    const c = await load(50);
    return c.v1 === 50;
  }, 5_000, procs);
  await cp.stop();
  procs.splice(procs.indexOf(cp), 1);
  // Only once every sidecar has noticed the control plane is gone does traffic test anything.
  await waitForDisconnected(adminPorts, procs);
  const during = await load(300);
  assert.deepEqual(during, { v1: 300 }, 'proxies keep serving their last good config');
  fs.writeFileSync(path.join(dir, 'reviews.yaml'), vs(0, 100));
  cp = startControlPlane();
  await waitFor('every proxy reconnected and ACKed', async () => allAcked(await syncz(), 3), 20_000, procs);
  await waitFor('edit made while the control plane was down is applied', async () => {
    const c = await load(50);
    return c.v2 === 50;
  }, 10_000, procs);
});
