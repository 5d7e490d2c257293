// Probe rewriting end to end, minus the kubelet: a pod is injected, its proxy's ISTIO_KUBE_APP_PROBERS
// drives the proxy's status server, and the rewritten probe paths answer for real apps on loopback
// (HTTP with its own status code, TCP, gRPC health through @grpc/grpc-js).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { injectPod } from '../../src/inject/mutate.js';
import { defaultInjectOptions } from '../../src/inject/options.js';
import type { Container, PodTemplate } from '../../src/inject/types.js';
import { parseAppProbers } from '../../src/proxy/health/app-prober.js';
import { isLoopbackPeer, StatusServer } from '../../src/proxy/health/status-server.js';
import { weftBin } from '../helpers/processes.js';

let httpApp: http.Server;
let tcpApp: net.Server;
let grpcApp: grpc.Server;
let ports: { http: number; tcp: number; grpc: number };
let serving = true;

const listen = (s: http.Server | net.Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));

before(async () => {
  httpApp = http.createServer((req, res) => {
    res.writeHead(req.url === '/healthz' && req.headers['x-probe'] === 'yes' ? 200 : 503);
    res.end();
  });
  tcpApp = net.createServer((s) => s.destroy());
  grpcApp = new grpc.Server();
  // grpc.health.v1.Health/Check; HealthCheckResponse{status: SERVING (1) | NOT_SERVING (2)} encoded by hand.
  grpcApp.addService(
    {
      Check: {
        path: '/grpc.health.v1.Health/Check',
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    { Check: (_call: unknown, cb: (e: null, r: Buffer) => void) => cb(null, Buffer.from([0x08, serving ? 1 : 2])) },
  );
  const grpcPort = await new Promise<number>((resolve, reject) => grpcApp.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  ports = { http: await listen(httpApp), tcp: await listen(tcpApp), grpc: grpcPort };
});
after(() => {
  httpApp?.close();
  tcpApp?.close();
  grpcApp?.forceShutdown();
});

function injectedProbers(): { pod: PodTemplate; probers: string } {
  const pod: PodTemplate = {
    metadata: { name: 'p', labels: { app: 'p' } },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'web',
          ports: [{ name: 'http', containerPort: ports.http }],
          livenessProbe: { httpGet: { port: 'http', path: '/healthz', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] }, periodSeconds: 7 },
          readinessProbe: { httpGet: { port: ports.http, path: '/ready' } },
          startupProbe: { tcpSocket: { port: ports.tcp } },
        },
        { name: 'rpc', image: 'rpc', readinessProbe: { grpc: { port: ports.grpc } }, livenessProbe: { exec: { command: ['true'] } } },
      ],
    },
  };
  const r = injectPod(pod, defaultInjectOptions);
  assert.ok(r.injected);
  const proxy = r.pod.spec.initContainers!.find((c: Container) => c.name === 'weft-proxy')!;
  return { pod: r.pod, probers: proxy.env!.find((e) => e.name === 'ISTIO_KUBE_APP_PROBERS')!.value! };
}

test('the rewritten probes, served by the proxy status port, reach the apps as the originals would', async () => {
  const { pod, probers } = injectedProbers();
  const [web, rpc] = pod.spec.containers;
  assert.deepEqual(web.livenessProbe, { httpGet: { path: '/app-health/web/livez', port: 15020, scheme: 'HTTP' }, periodSeconds: 7 }, 'timing kept');
  assert.deepEqual(rpc.livenessProbe, { exec: { command: ['true'] } });
  const parsed = parseAppProbers(probers);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  let ready = false;
  const server = new StatusServer({ ready: () => ready, probers: parsed.probers, shutdown: () => assert.fail('no shutdown') });
  await server.listen('127.0.0.1', 0);
  const get = async (path: string) => (await fetch(`http://127.0.0.1:${server.port}${path}`)).status;
  try {
    assert.equal(await get('/app-health/web/livez'), 200, 'httpGet on a named port, with its header');
    assert.equal(await get('/app-health/web/readyz'), 503, "the app's own status code comes back");
    assert.equal(await get('/app-health/web/startupz'), 200, 'tcpSocket');
    assert.equal(await get('/app-health/rpc/readyz'), 200, 'gRPC health SERVING');
    serving = false;
    assert.equal(await get('/app-health/rpc/readyz'), 500, 'gRPC health NOT_SERVING');
    await new Promise<void>((r) => tcpApp.close(() => r()));
    assert.equal(await get('/app-health/web/startupz'), 500, 'tcpSocket to a closed port');
    assert.equal(await get('/app-health/rpc/livez'), 404, 'an exec probe has no path');
    assert.equal(await get('/healthz/ready'), 503);
    ready = true;
    assert.equal(await get('/healthz/ready'), 200);
  } finally {
    await server.close();
  }
});

test('ISTIO_KUBE_APP_PROBERS is checked: a bad value names the path and the field', () => {
  const cases: [string, RegExp][] = [
    ['{', /is not JSON/],
    ['{"/app-health/a/livez":{"httpGet":{"port":0}}}', /\/app-health\/a\/livez: httpGet\.port must be a port number/],
    ['{"/other":{"tcpSocket":{"port":80}}}', /\/other: must be \/app-health\/<container>\/livez\|readyz\|startupz/],
    ['{"/app-health/a/livez":{"tcpSocket":{"port":80},"httpGet":{"port":80}}}', /exactly one of httpGet, tcpSocket, grpc/],
  ];
  for (const [json, error] of cases) {
    const r = parseAppProbers(json);
    assert.ok(!r.ok);
    assert.match(r.errors.join('\n'), error);
  }
});

test('weft proxy refuses probes without a status port, and a bad --status-port', () => {
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [weftBin, 'proxy', '--xds-address', '127.0.0.1:1', '--service', 's', '--app-port', '1', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  const noPort = run([], { ISTIO_KUBE_APP_PROBERS: '{"/app-health/a/livez":{"tcpSocket":{"port":80}}}' });
  assert.equal(noPort.status, 2);
  assert.match(noPort.stderr, /ISTIO_KUBE_APP_PROBERS is set but --status-port is 0/);
  const badPort = run(['--status-port', 'x'], {});
  assert.equal(badPort.status, 2);
  assert.match(badPort.stderr, /--status-port: must be a port number/);
});

test('POST /quitquitquit on the status port: from loopback with no browser marks, it shuts down; otherwise refused', async () => {
  let quits = 0;
  const server = new StatusServer({ ready: () => true, probers: new Map(), shutdown: () => quits++ });
  await server.listen('127.0.0.1', 0);
  const url = `http://127.0.0.1:${server.port}/quitquitquit`;
  try {
    assert.equal((await fetch(url, { method: 'GET' })).status, 405, 'GET is refused');
    assert.equal((await fetch(url, { method: 'POST', headers: { origin: 'http://evil.example' } })).status, 403, 'a web page is refused');
    assert.equal((await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' } })).status, 403, 'a simple cross-origin request is refused');
    await new Promise((r) => setImmediate(r));
    assert.equal(quits, 0);
    assert.equal((await fetch(url, { method: 'POST' })).status, 200);
    await waitUntil(() => quits === 1);
  } finally {
    await server.close();
  }
});

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond());
}

test('/quitquitquit takes loopback peers only (the status port listens on the pod IP too)', () => {
  for (const a of ['127.0.0.1', '127.0.0.6', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackPeer(a), true, a);
  for (const a of ['10.0.0.7', '::ffff:10.0.0.7', 'fe80::1', '', undefined]) assert.equal(isLoopbackPeer(a), false, String(a));
});
