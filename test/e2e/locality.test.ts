// End to end with real processes: a control plane and four `weft proxy` sidecars that register their
// locality (--locality, sent as the xDS node's locality). The client sits in r1/z1/s1; reviews runs
// in r1/z1, r1/z2 and r2/z1. Asserts where requests land: `distribute` weights, consistent hashing,
// then failover when the client's zone loses its only instance.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePorts, httpGetJson, spawnWeft, stopTestbed, waitFor, type Proc } from '../helpers/processes.js';

interface Syncz { proxies: { id: string; types: Record<string, { sent: string | null; acked: string | null }> }[] }

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-locality-'));
const procs: Proc[] = [];
const apps: http.Server[] = [];
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let ports: Record<string, number>;
const sidecars = new Map<string, Proc>();

const rule = (loadBalancer: string, extra = '') => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: ${loadBalancer}
${extra}`;
const DISTRIBUTE = rule("{ localityLbSetting: { distribute: [{ from: 'r1/z1/*', to: { 'r1/z1/*': 80, 'r1/z2/*': 20 } }] } }");
const HASHED = rule('{ consistentHash: { httpHeaderName: x-user } }');
const FAILOVER = rule('{ simple: ROUND_ROBIN }', '    outlierDetection: { consecutive5xxErrors: 5 }\n');

function startApp(zone: string): Promise<number> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'x-zone': zone, 'content-length': 0 });
    res.end();
  });
  apps.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function get(headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: ports.clientOutbound, path: '/', agent, headers: { host: 'reviews:9080', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? String(res.headers['x-zone']) : `status ${res.statusCode}`));
    });
    req.on('error', reject);
    req.end();
  });
}

async function load(n: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const z = await get(headers(i));
        counts[z] = (counts[z] ?? 0) + 1;
      }
    }),
  );
  return counts;
}

const syncz = () => httpGetJson<Syncz>(`http://127.0.0.1:${ports.monitor}/debug/syncz`);
// Delta ADS (the default): the client's virtual hosts, with their hash_policy, arrive over VHDS.
const allAcked = (s: Syncz, n: number) =>
  s.proxies.length === n && s.proxies.every((p) => ['cluster', 'endpoint', 'listener', 'route', 'virtualHost'].every((t) => p.types[t]?.sent && p.types[t].sent === p.types[t].acked));

before(async () => {
  const [xds, monitor, clientOutbound, ...rest] = await freePorts(15);
  ports = { xds, monitor, clientOutbound };
  fs.writeFileSync(path.join(dir, 'reviews.yaml'), DISTRIBUTE);
  procs.push(
    spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${xds}`, '--monitor-address', `127.0.0.1:${monitor}`, '--debounce-ms', '50', '--endpoint-grace-ms', '200']),
  );
  await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, procs);
  const sidecar = (service: string, locality: string, appPort: number, [outbound, inbound, admin]: number[]) => {
    const p = spawnWeft(`proxy ${service} ${locality}`, [
      'proxy', '--xds-address', `127.0.0.1:${xds}`, '--service', service, '--app-port', String(appPort), '--service-port', '9080',
      '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin), '--locality', locality,
    ]);
    procs.push(p);
    sidecars.set(`${service} ${locality}`, p);
  };
  const zones = ['r1/z1/s1', 'r1/z2/s1', 'r2/z1/s1'];
  for (const [i, zone] of zones.entries()) sidecar('reviews', zone, await startApp(zone), rest.slice(i * 3, i * 3 + 3));
  sidecar('client', 'r1/z1/s1', rest[11], [clientOutbound, rest[9], rest[10]]);
  await waitFor('every proxy ACKed', async () => allAcked(await syncz(), 4), 20_000, procs);
  await waitFor('both weighted zones answer', async () => {
    const c = await load(40);
    return (c['r1/z1/s1'] ?? 0) > 0 && (c['r1/z2/s1'] ?? 0) > 0;
  }, 10_000, procs);
});

after(() => stopTestbed({ agent, procs, apps, dir }));

test('distribute: 80/20 between the client zone and its neighbour within ±3 points over 2,000 requests; r2 gets none', async () => {
  const c = await load(2000);
  console.log(`# distribute 80/20: ${JSON.stringify(c)}`);
  assert.equal(c['r2/z1/s1'], undefined);
  assert.ok(Math.abs((c['r1/z1/s1'] ?? 0) / 20 - 80) <= 3 && Math.abs((c['r1/z2/s1'] ?? 0) / 20 - 20) <= 3, JSON.stringify(c));
});

test('consistent hash by header (route hash_policy over VHDS): one user, one instance; many users, several', async () => {
  fs.writeFileSync(path.join(dir, 'reviews.yaml'), HASHED);
  // Until the new route arrives, alice is spread; once it has, she sticks.
  await waitFor('alice pinned', async () => Object.keys(await load(60, () => ({ 'x-user': 'alice' }))).length === 1, 10_000, procs);
  const alice = await load(1000, () => ({ 'x-user': 'alice' }));
  assert.equal(Object.keys(alice).length, 1, JSON.stringify(alice));
  const many = await load(300, (i) => ({ 'x-user': `user-${i % 30}` }));
  console.log(`# 30 users over 3 zones: ${JSON.stringify(many)}`);
  assert.ok(Object.keys(many).length >= 2, JSON.stringify(many));
});

test('failover: the client zone first; when its instance goes away, the next zone; then the next region', async () => {
  fs.writeFileSync(path.join(dir, 'reviews.yaml'), FAILOVER);
  await waitFor('all traffic in the client zone', async () => JSON.stringify(await load(50)) === '{"r1/z1/s1":50}', 10_000, procs);
  assert.deepEqual(await load(300), { 'r1/z1/s1': 300 });
  await sidecars.get('reviews r1/z1/s1')!.stop();
  await waitFor('traffic moved to r1/z2', async () => JSON.stringify(await load(50)) === '{"r1/z2/s1":50}', 10_000, procs);
  assert.deepEqual(await load(300), { 'r1/z2/s1': 300 });
  await sidecars.get('reviews r1/z2/s1')!.stop();
  await waitFor('traffic moved to r2', async () => JSON.stringify(await load(50)) === '{"r2/z1/s1":50}', 10_000, procs);
});
