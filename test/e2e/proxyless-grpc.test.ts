// A real @grpc/grpc-js-xds client with an Istio-style bootstrap (no Weft metadata) routed by the
// control plane alone, no sidecar on the gRPC path, to two versions of a plain gRPC service; and the
// same config served at once to a `weft proxy`, which must route alike.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { ECHO_METHOD } from '../helpers/grpc-echo.js';
import { freePorts, weftBin } from '../helpers/processes.js';
import { ECHO_HOST, ECHO_PORT, startProxylessMesh, type ProxylessMesh } from '../helpers/proxyless-mesh.js';

const TARGET = `xds:///${ECHO_HOST}:${ECHO_PORT}`;
const SUBSETS = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: ${ECHO_HOST}
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;
const virtualService = (http: string, destinationRule = SUBSETS) => `${destinationRule}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: default }
spec:
  hosts: [${ECHO_HOST}]
  http:
${http}`;
const dest = (subset: string, weight?: number) => `{ destination: { host: ${ECHO_HOST}, subset: ${subset} }${weight === undefined ? '' : `, weight: ${weight}`} }`;
const split = (w1: number, w2: number) => virtualService(`  - route: [${dest('v1', w1)}, ${dest('v2', w2)}]\n`);
const headerMatch = virtualService(`  - match: [{ headers: { x-version: { exact: v2 } } }]
    route: [${dest('v2')}]
  - route: [${dest('v1')}]
`);
const faultAbort = virtualService(`  - fault: { abort: { grpcStatus: UNAVAILABLE, percentage: { value: 50 } } }
    route: [${dest('v1')}]
`);
const retries = (attempts: number) => virtualService(`  - retries: { attempts: ${attempts}${attempts ? ', retryOn: unavailable' : ''} }
    route: [${dest('v1')}]
`);
// Subsets stay: grpc-js-xds 1.14 keeps a cluster it was told does not exist as "does not exist"
// when it comes back unchanged (docs/proxyless.md, "Known client limits").
const consistentHash = virtualService(`  - route: [{ destination: { host: ${ECHO_HOST} } }]\n`, SUBSETS.replace('  subsets:', '  trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }\n  subsets:'));

let mesh: ProxylessMesh;
before(async () => {
  mesh = await startProxylessMesh(split(80, 20), { weftProxy: true });
});
after(async () => mesh?.stop());

const share = (counts: Record<string, number>, key: string, total: number) => ((counts[key] ?? 0) * 100) / total;

test('an 80/20 VirtualService split lands within ±4 points over 1,000 calls', async () => {
  const r = await mesh.call(TARGET, 1000);
  assert.equal(r.lastError, '', `calls failed: ${JSON.stringify(r.counts)}`);
  const v1 = share(r.counts, 'v1', 1000);
  assert.ok(Math.abs(v1 - 80) <= 4, `v1 got ${v1}% (${JSON.stringify(r.counts)})`);
});

test('every Istio host form of the target reaches the service', async () => {
  for (const host of ['echo', 'echo.default', 'echo.default.svc', ECHO_HOST]) {
    const r = await mesh.call(`xds:///${host}:${ECHO_PORT}`, 20);
    assert.equal((r.counts.v1 ?? 0) + (r.counts.v2 ?? 0), 20, `${host}: ${JSON.stringify(r.counts)}`);
  }
});

test('a header match sends 100% to v2, the rest stays on v1', async () => {
  await mesh.applyRouting(headerMatch);
  const matched = await mesh.call(TARGET, 200, { 'x-version': 'v2' });
  assert.deepEqual(matched.counts, { v2: 200 });
  const other = await mesh.call(TARGET, 200, { 'x-version': 'v1' });
  assert.deepEqual(other.counts, { v1: 200 });
});

test('fault abort with grpc UNAVAILABLE on 50% fails about half the calls with UNAVAILABLE', async () => {
  await mesh.applyRouting(faultAbort);
  const r = await mesh.call(TARGET, 1000);
  const failed = share(r.counts, 'error:UNAVAILABLE', 1000);
  assert.ok(Math.abs(failed - 50) <= 6, `UNAVAILABLE on ${failed}% (${JSON.stringify(r.counts)})`);
  assert.equal((r.counts.v1 ?? 0) + (r.counts['error:UNAVAILABLE'] ?? 0), 1000, JSON.stringify(r.counts));
});

test('retries on unavailable turn a 30%-failing instance into ≥ 99% success; attempts 0 retries nothing', async () => {
  mesh.v1.failEvery = { fail: 3, of: 10 };
  try {
    await mesh.applyRouting(retries(0));
    const without = await mesh.call(TARGET, 500);
    assert.ok(Math.abs(share(without.counts, 'error:UNAVAILABLE', 500) - 30) <= 2, `without retries: ${JSON.stringify(without.counts)}`);
    await mesh.applyRouting(retries(3));
    const withRetries = await mesh.call(TARGET, 500);
    assert.ok(share(withRetries.counts, 'v1', 500) >= 99, `with retries: ${JSON.stringify(withRetries.counts)}`);
  } finally {
    mesh.v1.failEvery = undefined;
  }
});

test('a route timeout reaches gRPC as max_stream_duration: a delayed call ends DEADLINE_EXCEEDED', async () => {
  await mesh.applyRouting(virtualService(`  - match: [{ headers: { x-slow: { exact: "1" } } }]
    timeout: 0.3s
    fault: { delay: { fixedDelay: 2s, percentage: { value: 100 } } }
    route: [${dest('v1')}]
  - route: [${dest('v1')}]
`));
  const slow = await mesh.call(TARGET, 3, { 'x-slow': '1' });
  assert.deepEqual(slow.counts, { 'error:DEADLINE_EXCEEDED': 3 }, slow.lastError);
  assert.deepEqual((await mesh.call(TARGET, 3)).counts, { v1: 3 });
});

test('a consistentHash header pins each key to one instance', async () => {
  await mesh.applyRouting(consistentHash);
  const seen = new Set<string>();
  for (let k = 0; k < 16; k++) {
    const r = await mesh.call(TARGET, 20, { 'x-user': `user-${k}` });
    const hosts = Object.keys(r.counts);
    assert.equal(hosts.length, 1, `user-${k} reached ${JSON.stringify(r.counts)}`);
    assert.ok(!hosts[0].startsWith('error:'), hosts[0]);
    seen.add(hosts[0]);
  }
  assert.equal(seen.size, 2, 'different keys spread over both instances');
});

test('a config edit reaches the proxyless client quickly', async () => {
  await mesh.applyRouting(split(100, 0));
  const first = await mesh.call(TARGET, 5);
  assert.deepEqual(first.counts, { v1: 5 }, first.lastError);
  const start = performance.now();
  mesh.applyRouting(split(0, 100)).catch(() => {});
  let ms = Infinity;
  // One call at a time until v2 answers: bounded in count (and each call in time).
  for (let i = 0; i < 2000 && ms === Infinity; i++) {
    const r = await mesh.call(TARGET, 1);
    if (r.counts.v2) ms = performance.now() - start;
  }
  console.log(`config edit → proxyless client routing: ${ms.toFixed(0)} ms`);
  // Generous: the file watch, the debounce and one push; the figure is what the test reports.
  assert.ok(ms < 5000, `took ${ms} ms`);
});

/** A plain gRPC client calling through the weft proxy's outbound listener, authority = the target. */
function proxyCalls(port: number, calls: number, metadata: Record<string, string> = {}): Promise<Record<string, number>> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': `${ECHO_HOST}:${ECHO_PORT}` });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const one = () =>
    new Promise<string>((resolve) =>
      client.makeUnaryRequest(ECHO_METHOD, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), md, { deadline: Date.now() + 5000 }, (err, res) =>
        resolve(err ? `error:${grpc.status[err.code ?? grpc.status.UNKNOWN]}` : res!.toString()),
      ),
    );
  return (async () => {
    const counts: Record<string, number> = {};
    try {
      for (let i = 0; i < calls; i++) {
        const r = await one();
        counts[r] = (counts[r] ?? 0) + 1;
      }
    } finally {
      client.close();
    }
    return counts;
  })();
}

test('the same config served at once to a weft proxy and the proxyless client: both route alike', async () => {
  await mesh.applyRouting(headerMatch);
  const port = mesh.proxyOutbound!;
  assert.deepEqual(await proxyCalls(port, 100, { 'x-version': 'v2' }), { v2: 100 });
  assert.deepEqual((await mesh.call(TARGET, 100, { 'x-version': 'v2' })).counts, { v2: 100 });
  assert.deepEqual(await proxyCalls(port, 100), { v1: 100 });
  assert.deepEqual((await mesh.call(TARGET, 100)).counts, { v1: 100 });
  await mesh.applyRouting(split(80, 20));
  const viaProxy = await proxyCalls(port, 1000);
  const proxyless = (await mesh.call(TARGET, 1000)).counts;
  for (const [who, counts] of [['weft proxy', viaProxy], ['proxyless', proxyless]] as const)
    assert.ok(Math.abs(share(counts, 'v1', 1000) - 80) <= 4, `${who}: ${JSON.stringify(counts)}`);
});

test('an xDS-enabled gRPC server (A36) gets its inbound listener, registers, and proxyless clients reach it', async () => {
  const [port] = await freePorts(1);
  const boot = execFileSync(process.execPath, [weftBin, 'bootstrap', '--proxyless', '--service', 'echo-xds', '--namespace', 'default', '--xds-address', `127.0.0.1:${mesh.xds}`, '--serve-port', String(port)], { encoding: 'utf8' });
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/xds-echo-server.js');
  const child = spawn(process.execPath, [script, `127.0.0.1:${port}`, 'xds-server'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: boot } });
  try {
    const lines = readline.createInterface({ input: child.stdout! });
    const first = await Promise.race([
      new Promise<string>((resolve) => lines.once('line', resolve)),
      new Promise<string>((resolve) => setTimeout(() => resolve('no serving state within 15 s'), 15_000).unref()),
    ]);
    assert.equal(first, 'serving', 'the server took its listener');
    const target = `xds:///echo-xds.default.svc.cluster.local:${port}`;
    const r = await mesh.call(target, 10);
    assert.deepEqual(r.counts, { 'xds-server': 10 }, r.lastError);
  } finally {
    child.kill('SIGKILL');
  }
});
