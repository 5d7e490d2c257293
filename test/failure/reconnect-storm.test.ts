// Issue 8 item 5, the reconnect storm: a few hundred sidecar xDS clients (the proxy's own Delta ADS
// client and its reconnecting stream, with a handler that takes every response) against a real
// `weft control-plane` process that is SIGKILLed and restarted. Every client must be back and synced
// after the restart's grace period, with its reconnects spread by the jittered backoff, not in step.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DeltaAdsClient } from '../../src/proxy/xds/delta-client.js';
import { buildNode } from '../../src/proxy/xds/node.js';
import { freePorts, httpGetJson, spawnWeft, waitFor, type Proc } from '../helpers/processes.js';

interface Syncz { warming?: boolean; proxies: { id: string; connectedAt: string; types: Record<string, { sent: string | null; acked: string | null }> }[] }

const PROXIES = 300;
const GRACE_MS = 3000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-storm-'));
let cp: Proc;
let xds = 0;
let monitor = 0;
const clients: DeltaAdsClient[] = [];

function startControlPlane(): Proc {
  return spawnWeft('control-plane', [
    'control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${xds}`, '--monitor-address', `127.0.0.1:${monitor}`,
    '--debounce-ms', '50', '--startup-grace-ms', String(GRACE_MS),
  ]);
}

const syncz = () => httpGetJson<Syncz>(`http://127.0.0.1:${monitor}/debug/syncz`);
const synced = (s: Syncz) =>
  s.proxies.filter((p) => ['cluster', 'listener'].every((t) => p.types[t]?.sent && p.types[t].sent === p.types[t].acked)).length;

before(async () => {
  [xds, monitor] = await freePorts(2);
  cp = startControlPlane();
  await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, [cp]);
  for (let i = 0; i < PROXIES; i++) {
    const address = `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
    const node = buildNode({
      id: `sidecar~${address}~storm-${i}.default~default.svc.cluster.local`,
      service: `svc-${i % 30}`, namespace: 'default', labels: { version: 'v1' }, serviceAccount: 'default', address,
      appPort: 8080, servicePort: 9080, outboundPort: 15001, inboundPort: 15006, protocol: 'HTTP',
    });
    const c = new DeltaAdsClient({ address: `127.0.0.1:${xds}`, node, handler: async () => ({ ok: true }) });
    clients.push(c);
    c.start();
  }
  await waitFor(`${PROXIES} clients synced`, async () => synced(await syncz()) === PROXIES, 60_000, [cp]);
});

after(async () => {
  for (const c of clients) c.close();
  await cp.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test(`${PROXIES} proxies reconnect after a control-plane SIGKILL and restart, spread out, and all sync`, async () => {
  const streamsBefore = clients.reduce((n, c) => n + c.counters.streams, 0);
  cp.child.kill('SIGKILL');
  await new Promise((r) => cp.child.once('exit', r));
  await new Promise((r) => setTimeout(r, 1000)); // down for a moment: every client's stream fails and backs off
  cp = startControlPlane();
  await waitFor('control plane ready again', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, [cp]);
  const upAt = Date.now();
  const s = await waitFor(`${PROXIES} clients synced after the restart`, async () => {
    const cur = await syncz();
    return !cur.warming && synced(cur) === PROXIES && cur;
  }, 60_000, [cp]);
  const syncedAfterMs = Date.now() - upAt;

  const connected = s.proxies.map((p) => Date.parse(p.connectedAt)).sort((a, b) => a - b);
  const spreadMs = connected[connected.length - 1] - connected[0];
  // The busiest quarter second: how many streams arrived together (all 300 at once would be lockstep).
  let peak = 0;
  for (let i = 0, j = 0; j < connected.length; j++) {
    while (connected[j] - connected[i] > 250) i++;
    peak = Math.max(peak, j - i + 1);
  }
  const attempts = clients.reduce((n, c) => n + c.counters.streams, 0) - streamsBefore;
  console.log(
    `# reconnect storm: ${PROXIES} proxies, ${attempts} stream attempts (${(attempts / PROXIES).toFixed(1)} each), reconnects spread over ${spreadMs} ms (at most ${peak} in any 250 ms), all synced ${syncedAfterMs} ms after /ready (grace ${GRACE_MS} ms)`,
  );
  assert.equal(cp.child.exitCode, null, 'the control plane did not collapse');
  assert.equal(s.proxies.length, PROXIES);
  assert.ok(clients.every((c) => c.connected), 'every client is connected');
  // Bounded retrying: exponential backoff, not a hot loop against a control plane that is down.
  assert.ok(attempts < PROXIES * 15, `${attempts} attempts`);
});
