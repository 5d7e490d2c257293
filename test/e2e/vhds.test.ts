// On-demand VHDS end to end, with real processes on Delta ADS (the default): a control plane, a
// `ratings` workload and a client workload, each with its own `weft proxy`. The client's route table
// starts with no virtual hosts; a request for a host is held while the proxy asks for it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePorts, httpGetJson, spawnWeft, stopAll, waitFor, waitForDisconnected, type Proc } from '../helpers/processes.js';

interface TypeStatus { sent: string | null; acked: string | null; resources: number }
interface Syncz { proxies: { id: string; service: string; protocol: string; types: Record<string, TypeStatus> }[] }

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-vhds-'));
const procs: Proc[] = [];
let app: http.Server;
let cp: Proc;
let ports: Record<string, number>;

const vs = (tag: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - headers:
      response:
        set: { x-edit: "${tag}" }
    route:
    - destination: { host: ratings }
`;

function request(host: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: ports.clientOutbound, path: '/ratings/1', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const syncz = () => httpGetJson<Syncz>(`http://127.0.0.1:${ports.monitor}/debug/syncz`);
const allSynced = (s: Syncz) =>
  s.proxies.length === 2 && s.proxies.every((p) => ['cluster', 'endpoint', 'listener', 'route', 'virtualHost'].every((t) => p.types[t]?.sent && p.types[t].sent === p.types[t].acked));
const clientStatus = async () => (await syncz()).proxies.find((p) => p.service === 'client')!;
const routeDump = async () => {
  const dump = await httpGetJson<{ configs: { dynamic_route_configs?: { route_config: { name: string; virtual_hosts?: { name: string }[] } }[] }[] }>(`http://127.0.0.1:${ports.clientAdmin}/config_dump`);
  return dump.configs[2].dynamic_route_configs!.find((r) => r.route_config.name === 'virtualOutbound')!.route_config;
};

function startControlPlane(): Proc {
  const p = spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${ports.xds}`, '--monitor-address', `127.0.0.1:${ports.monitor}`, '--debounce-ms', '50']);
  procs.push(p);
  return p;
}

before(async () => {
  const [xds, monitor, clientOutbound, clientAdmin, ...rest] = await freePorts(10);
  ports = { xds, monitor, clientOutbound, clientAdmin, ratingsAdmin: rest[2] };
  fs.writeFileSync(path.join(dir, 'ratings.yaml'), vs('one'));
  cp = startControlPlane();
  await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, procs);
  app = http.createServer((req, res) => res.end(JSON.stringify({ service: 'ratings', path: req.url })));
  const appPort = await new Promise<number>((resolve) => app.listen(0, '127.0.0.1', () => resolve((app.address() as { port: number }).port)));
  const sidecar = (service: string, appP: number, [outbound, inbound, admin]: number[]) =>
    spawnWeft(`proxy ${service}`, [
      'proxy', '--xds-address', `127.0.0.1:${xds}`, '--service', service, '--app-port', String(appP), '--service-port', '9080',
      '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin),
    ]);
  procs.push(sidecar('ratings', appPort, rest.slice(0, 3)));
  procs.push(sidecar('client', rest[5], [clientOutbound, rest[3], clientAdmin]));
  await waitFor('both proxies synced', async () => allSynced(await syncz()), 20_000, procs);
});

after(async () => {
  await stopAll(procs);
  await new Promise((r) => app.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a host the proxy does not know yet is routed after asking the control plane for it', async () => {
  assert.equal((await clientStatus()).protocol, 'delta');
  assert.deepEqual((await routeDump()).virtual_hosts ?? [], [], 'the route table starts with no virtual hosts');
  const r = await request('ratings:9080');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['x-edit'], 'one');
  // /config_dump shows the merged virtual host, and only that one.
  assert.deepEqual((await routeDump()).virtual_hosts!.map((v) => v.name), ['virtualOutbound/ratings.default.svc.cluster.local:9080']);
  // Another spelling of the same host resolves to the same virtual host without another one.
  assert.equal((await request('ratings.default.svc.cluster.local:9080')).status, 200);
  assert.equal((await routeDump()).virtual_hosts!.length, 1);
});

test('a VirtualService edit reaches the virtual host the proxy holds', async () => {
  fs.writeFileSync(path.join(dir, 'ratings.yaml'), vs('two'));
  await waitFor('edit applied', async () => (await request('ratings:9080')).headers['x-edit'] === 'two', 5_000, procs);
  await waitFor('every proxy synced on the new snapshot', async () => allSynced(await syncz()), 5_000, procs);
});

test('a host that does not exist gets the normal 404 from the answer, not the timeout', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await request('nosuch.example');
    assert.equal(r.status, 404, r.body);
    assert.equal(r.headers['x-weft-reason'], 'NR no_route');
    assert.match(r.body, /nosuch\.example/);
  }
});

test('with the control plane gone, known hosts keep working; on restart the proxy resubscribes', async () => {
  await cp.stop();
  procs.splice(procs.indexOf(cp), 1);
  await waitForDisconnected([ports.clientAdmin, ports.ratingsAdmin], procs);
  const during = await request('ratings:9080');
  assert.equal(during.status, 200);
  fs.writeFileSync(path.join(dir, 'ratings.yaml'), vs('three'));
  cp = startControlPlane();
  await waitFor('every proxy reconnected and synced', async () => allSynced(await syncz()), 20_000, procs);
  // The new control plane learned the proxy's VHDS subscription from the reconnect, so the edit made
  // while it was down reaches the virtual host without any new miss.
  await waitFor('edit made while the control plane was down is applied', async () => (await request('ratings:9080')).headers['x-edit'] === 'three', 10_000, procs);
  assert.equal((await clientStatus()).types.virtualHost.resources, 1);
});
