// `weft describe` and `weft analyze --control-plane` against a real control plane and real sidecars on
// loopback: bookinfo's reviews v1/v2/v3 and a productpage client. describe's answer for
// `--header end-user=jason` (rule 0, subset v2, the v2 sidecar's endpoint) is checked against where a
// real request with that header lands.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { ServiceDescription } from '../../src/controlplane/describe/describe-service.js';
import { fixturesDir } from '../helpers/paths.js';
import { freePorts, httpGetJson, spawnWeft, stopTestbed, waitFor, weftBin, type Proc } from '../helpers/processes.js';

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-describe-e2e-'));
const procs: Proc[] = [];
const apps: http.Server[] = [];
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
let monitor = 0;
let clientOutbound = 0;
/** reviews version → its sidecar's inbound port (the endpoint other sidecars send to). */
const inbound: Record<string, number> = {};

async function weft(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [weftBin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    if (typeof err.code !== 'number') throw e;
    return { code: err.code, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

function startApp(version: string): Promise<number> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'x-app-version': version });
    res.end(version);
  });
  apps.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function callReviews(headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: clientOutbound, path: '/reviews/0', agent, headers: { host: 'reviews:9080', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(`${res.statusCode} ${String(res.headers['x-app-version'] ?? '')}`));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  const ports = await freePorts(15);
  const [xds, mon, out] = ports;
  monitor = mon;
  clientOutbound = out;
  for (const f of ['destination-rule-all.yaml', 'virtual-service-reviews-jason-v2-v3.yaml']) fs.copyFileSync(path.join(fixturesDir, 'istio/bookinfo/networking', f), path.join(dir, f));
  procs.push(spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${xds}`, '--monitor-address', `127.0.0.1:${monitor}`, '--debounce-ms', '50']));
  await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, procs);
  const sidecar = (service: string, version: string, appPort: number, [outbound, inb, admin]: number[]) =>
    spawnWeft(`proxy ${service} ${version}`, [
      'proxy', '--xds-address', `127.0.0.1:${xds}`, '--service', service, '--labels', `version=${version}`, '--app-port', String(appPort),
      '--service-port', '9080', '--outbound-port', String(outbound), '--inbound-port', String(inb), '--admin-port', String(admin),
    ]);
  let next = 3;
  for (const v of ['v1', 'v2', 'v3']) {
    const three = ports.slice(next, (next += 3));
    inbound[v] = three[1];
    procs.push(sidecar('reviews', v, await startApp(v), three));
  }
  // productpage has no app listening: only its outbound side is used.
  procs.push(sidecar('productpage', 'v1', ports[next], [clientOutbound, ports[next + 1], ports[next + 2]]));
  await waitFor('jason reaches reviews v2 through the sidecars', async () => (await callReviews({ 'end-user': 'jason' })) === '200 v2', 20_000, procs);
});

after(() => stopTestbed({ agent, procs, apps, dir }));

test('describe service reviews --header end-user=jason picks rule 0 → v2, where the real request lands', async () => {
  const m = `127.0.0.1:${monitor}`;
  const r = await weft('describe', 'service', 'reviews', '--monitor-address', m, '--from', 'productpage-v1', '--path', '/reviews/0', '--header', 'end-user=jason');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}matched: VirtualService default\/reviews http\[0\]\.match\[0\]$/m);
  assert.match(r.stdout, new RegExp(`^  → outbound\\|9080\\|v2\\|reviews\\.default\\.svc\\.cluster\\.local 100%: 127\\.0\\.0\\.1:${inbound.v2}$`, 'm'));
  assert.equal(await callReviews({ 'end-user': 'jason' }), '200 v2');

  const other = JSON.parse((await weft('describe', 'service', 'reviews.default', '--monitor-address', m, '--from', 'productpage-v1', '--header', 'end-user=mallory', '-o', 'json')).stdout) as ServiceDescription;
  assert.deepEqual([other.route?.rule, other.route?.destinations.map((d) => d.endpoints)], [1, [[`127.0.0.1:${inbound.v3}`]]]);
  assert.equal(await callReviews({ 'end-user': 'mallory' }), '200 v3');
  assert.deepEqual(other.versions.map((v) => v.version), ['v1', 'v2', 'v3']);
  assert.ok(other.endpoints.every((e) => e.health === 'registered'));
});

test('describe workload: the registered proxy, its subset, the rules it uses', async () => {
  const r = await weft('describe', 'workload', 'reviews-v2', '--monitor-address', `127.0.0.1:${monitor}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}subsets: default\/reviews\/v2$/m);
  const bad = await fetch(`http://127.0.0.1:${monitor}/debug/describe`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /give service=NAME\[\.NS\] or workload=PROXY/);
  const unknown = await weft('describe', 'workload', 'nosuch', '--monitor-address', `127.0.0.1:${monitor}`);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no connected proxy nosuch/);
});

test('/debug/configz lists analyze warnings checked against the live registry; analyze --control-plane uses it too', async () => {
  const configz = await httpGetJson<{ warnings: Array<{ code: string; resource: string; path: string }> }>(`http://127.0.0.1:${monitor}/debug/configz`);
  const codes = configz.warnings.map((w) => `${w.code} ${w.resource} ${w.path}`);
  assert.ok(codes.includes('WEFT_E_DR_HOST_UNKNOWN DestinationRule default/ratings spec.host'), codes.join('\n'));
  assert.ok(!codes.some((c) => c.includes('DestinationRule default/reviews')), 'all reviews subsets have workloads');
  const typo = path.join(os.tmpdir(), `weft-describe-e2e-typo-${process.pid}.yaml`);
  fs.writeFileSync(typo, 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: typo }\nspec:\n  hosts: [reviews]\n  http:\n  - route: [{ destination: { host: reveiws } }]\n');
  try {
    const offline = await weft('analyze', typo);
    assert.equal(offline.code, 0, 'offline, a cluster name may be in a registry the files cannot show');
    const online = await weft('analyze', '--control-plane', `127.0.0.1:${monitor}`, typo);
    assert.equal(online.code, 1, online.stdout);
    assert.match(online.stdout, /^error: .*VirtualService default\/typo: spec\.http\[0\]\.route\[0\]\.destination\.host: referenced host not found: "reveiws".*\[WEFT_E_HOST_NOT_FOUND; IST0101 ReferencedResourceNotFound\]$/m);
  } finally {
    fs.rmSync(typo, { force: true });
  }
});
