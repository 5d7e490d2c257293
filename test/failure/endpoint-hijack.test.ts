// Issue 8 item 4 through real `weft` processes: a second `weft proxy` started with a live proxy's node
// id (read from /debug/syncz) and its own app behind it. It used to get 100 % of that proxy's traffic,
// and keep it after it left; now its stream is refused and every request still reaches the victim.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePorts, httpGetJson, spawnWeft, stopAll, waitFor, type Proc } from '../helpers/processes.js';

interface Syncz { proxies: { id: string; service: string; address: string; types: Record<string, { sent: string | null; acked: string | null }> }[] }

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-hijack-'));
const procs: Proc[] = [];
const apps: http.Server[] = [];
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
let ports: number[];
let monitor = 0;
let clientOutbound = 0;

function startApp(who: string): Promise<number> {
  const s = http.createServer((_req, res) => res.end(who));
  apps.push(s);
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as { port: number }).port)));
}

const sidecar = (name: string, args: string[], [outbound, inbound, admin]: number[]) =>
  spawnWeft(name, ['proxy', '--xds-address', `127.0.0.1:${ports[0]}`, '--service-port', '9080', '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin), ...args]);

function ask(): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: clientOutbound, path: '/', agent, headers: { host: 'reviews:9080' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? body : `status ${res.statusCode}`));
    });
    req.on('error', (e) => resolve(`error ${e.message}`));
    req.end();
  });
}

async function tally(n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const who = await ask();
    counts[who] = (counts[who] ?? 0) + 1;
  }
  return counts;
}

const syncz = () => httpGetJson<Syncz>(`http://127.0.0.1:${monitor}/debug/syncz`);

before(async () => {
  ports = await freePorts(12);
  monitor = ports[1];
  clientOutbound = ports[2];
  procs.push(spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${ports[0]}`, '--monitor-address', `127.0.0.1:${monitor}`, '--debounce-ms', '20', '--endpoint-grace-ms', '200']));
  await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, procs);
  procs.push(sidecar('victim', ['--service', 'reviews', '--app-port', String(await startApp('victim'))], ports.slice(3, 6)));
  procs.push(sidecar('client', ['--service', 'client', '--app-port', String(ports[11])], [clientOutbound, ports[6], ports[7]]));
  await waitFor('victim answers', async () => (await ask()) === 'victim', 20_000, procs);
});

after(async () => {
  agent.destroy();
  await stopAll(procs);
  await Promise.all(apps.map((a) => new Promise((r) => a.close(r))));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a proxy reusing a live node id gets none of its traffic', async () => {
  const victimId = (await syncz()).proxies.find((p) => p.service === 'reviews')!.id;
  const attacker = sidecar('attacker', ['--id', victimId, '--service', 'reviews', '--app-port', String(await startApp('attacker'))], ports.slice(8, 11));
  procs.push(attacker);
  // The attacker's proxy is up (its admin answers) and has had its chance to register.
  await waitFor('attacker started', async () => (await fetch(`http://127.0.0.1:${ports[10]}/stats`)).ok, 10_000, procs);
  await new Promise((r) => setTimeout(r, 1000));
  const during = await tally(200);
  await attacker.stop();
  await new Promise((r) => setTimeout(r, 500)); // past the 200 ms endpoint grace
  const afterwards = await tally(100);
  console.log(`# hijack through real sidecars: while the attacker runs ${JSON.stringify(during)}; after it left ${JSON.stringify(afterwards)}`);
  assert.deepEqual(during, { victim: 200 });
  assert.deepEqual(afterwards, { victim: 100 });
  assert.match(attacker.output(), /ALREADY_EXISTS.*already connected.*WEFT_E_NODE_DUPLICATE/);
});
