// Issue 8 item 5: the control plane SIGKILLed and restarted under steady load, through real `weft`
// processes on loopback: 0 failed requests. The outage of the issue came from order: a client sidecar
// that reconnected before the sidecar of the service it calls got a world without that service (404,
// 503). Here the order is forced — the upstream sidecar is paused (SIGSTOP) until the client is back
// on the new control plane — so the bad order happens on every run, not by chance.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { XdsProtocol } from '../../src/api/envoy.js';
import { freePorts, httpGetJson, spawnWeft, stopAll, waitFor, type Proc } from '../helpers/processes.js';

interface Syncz { warming?: boolean; proxies: { id: string; service: string; types: Record<string, { sent: string | null; acked: string | null }> }[] }

for (const protocol of ['delta', 'sotw'] as const)
  describe(`${protocol} sidecars`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cp-restart-'));
    const procs: Proc[] = [];
    let app: http.Server;
    let cp: Proc;
    let reviews: Proc;
    let ports: { xds: number; monitor: number; clientOutbound: number };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    // Above the proxies' 5 s reconnect backoff ceiling (as the CLI default of 8 s is): a paused sidecar resumed
    // 1.5 s after the client reconnects may wait one full backoff step before it is back.
    const GRACE_MS = 7000;

    function startControlPlane(): Proc {
      const p = spawnWeft('control-plane', [
        'control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${ports.xds}`, '--monitor-address', `127.0.0.1:${ports.monitor}`,
        '--debounce-ms', '20', '--startup-grace-ms', String(GRACE_MS),
      ]);
      procs.push(p);
      return p;
    }

    const syncz = () => httpGetJson<Syncz>(`http://127.0.0.1:${ports.monitor}/debug/syncz`);
    // Delta sidecars get their routes' virtual hosts over VHDS; SotW ones the whole route table.
    const syncTypes = (protocol: XdsProtocol) => ['cluster', 'endpoint', 'listener', protocol === 'delta' ? 'virtualHost' : 'route'];
    const allSynced = (s: Syncz, n: number) =>
      !s.warming && s.proxies.length === n && s.proxies.every((p) => syncTypes(protocol).every((t) => p.types[t]?.sent && p.types[t].sent === p.types[t].acked));

    function request(): Promise<number> {
      return new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port: ports.clientOutbound, path: '/', agent, headers: { host: 'reviews:9080' }, timeout: 15_000 }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => resolve(0));
        req.end();
      });
    }

    before(async () => {
      const [xds, monitor, clientOutbound, ...rest] = await freePorts(9);
      ports = { xds, monitor, clientOutbound };
      app = http.createServer((_req, res) => res.end('ok'));
      const appPort = await new Promise<number>((r) => app.listen(0, '127.0.0.1', () => r((app.address() as { port: number }).port)));
      cp = startControlPlane();
      await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, procs);
      const sidecar = (service: string, appP: number, [outbound, inbound, admin]: number[]) =>
        spawnWeft(`proxy ${service}`, [
          'proxy', '--xds-address', `127.0.0.1:${xds}`, '--service', service, '--app-port', String(appP), '--service-port', '9080',
          '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin), '--xds-protocol', protocol,
        ]);
      reviews = sidecar('reviews', appPort, rest.slice(0, 3));
      procs.push(reviews);
      procs.push(sidecar('client', rest[5], [clientOutbound, rest[3], rest[4]]));
      await waitFor('both proxies synced', async () => allSynced(await syncz(), 2), 20_000, procs);
      await waitFor('reviews answers', async () => (await request()) === 200, 10_000, procs);
  });

  after(async () => {
    agent.destroy();
    if (reviews?.child.exitCode === null) reviews.child.kill('SIGCONT');
    await stopAll(procs);
    await new Promise((r) => app?.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`SIGKILL and restart of the control plane under load: 0 failed requests (${protocol} sidecars)`, async () => {
    const statuses = new Map<number, number>();
    let running = true;
    let sent = 0;
    const deadline = Date.now() + 60_000;
    const loop = async () => {
      while (running && Date.now() < deadline && sent < 100_000) {
        sent++;
        const s = await request();
        statuses.set(s, (statuses.get(s) ?? 0) + 1);
      }
    };
    const workers = Array.from({ length: 4 }, loop);
    await new Promise((r) => setTimeout(r, 500));

    cp.child.kill('SIGKILL');
    await new Promise((r) => cp.child.once('exit', r));
    // The upstream sidecar comes back last: paused until the client is on the new control plane.
    reviews.child.kill('SIGSTOP');
    cp = startControlPlane();
    await waitFor('the client back on the new control plane', async () => (await syncz()).proxies.some((p) => p.service === 'client'), 20_000, procs);
    await new Promise((r) => setTimeout(r, 1500)); // time enough for a push without reviews to land
    reviews.child.kill('SIGCONT');
    await waitFor('both proxies synced after the restart', async () => allSynced(await syncz(), 2), 30_000, procs);
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await Promise.all(workers);

    const failed = [...statuses].filter(([s]) => s !== 200).reduce((n, [, c]) => n + c, 0);
    console.log(`# control-plane restart under load (${protocol}): ${sent} requests, ${failed} failed ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok(sent > 100, `load ran (${sent} requests)`);
    assert.equal(failed, 0, `statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  });
  });
