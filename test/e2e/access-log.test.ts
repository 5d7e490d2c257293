// Access logs end to end through real processes (test/helpers/metrics-mesh.ts: a secure control plane,
// productpage → reviews over mTLS): the mesh config names two file providers — JSON lines on each
// sidecar's stdout, and a failures file — and a Telemetry in the root namespace turns both on, the
// second with the filter `response.code >= 400`. For a bounded run, exact line counts on each side;
// a fault-injected 503 carries FI; a CP-driven TCP sidecar logs a connection's bytes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { callReviews, startMetricsMesh, writeFaultVirtualService, type MetricsMesh } from '../helpers/metrics-mesh.js';
import { freePorts, waitFor, type Proc } from '../helpers/processes.js';
import { startOtlpLogsReceiver, type OtlpLogsReceiver } from '../helpers/otlp-logs-receiver.js';
import { spawnPairSidecar } from '../helpers/secure-pair.js';

type Line = Record<string, string | number | null>;

const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-access-log-'));
const failuresFile = path.join(logDir, 'failures.log');
const FIELDS = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  route_name: '%ROUTE_NAME%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  user_agent: '%REQ(USER-AGENT)%',
  downstream_peer: '%DOWNSTREAM_PEER_URI_SAN%',
  upstream_peer: '%UPSTREAM_PEER_URI_SAN%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  marker: 'weft-access-log',
};
const labels = (o: Record<string, string>) => `{ ${Object.entries(o).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')} }`;
const meshConfig = (otlpPort: number) => `extensionProviders:
- name: json-stdout
  envoyFileAccessLog: { path: /dev/stdout, logFormat: { labels: ${labels(FIELDS)} } }
- name: failures
  envoyFileAccessLog: { path: ${failuresFile}, logFormat: { labels: ${labels({ code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%', cluster: '%UPSTREAM_CLUSTER%' })} } }
- name: otel-logs
  envoyOtelAls: { service: 127.0.0.1, port: ${otlpPort}, logName: weft-e2e, logFormat: { labels: ${labels({ code: '%RESPONSE_CODE%', request_id: '%REQ(X-REQUEST-ID)%' })} } }
`;

let mesh: MetricsMesh;
let otlp: OtlpLogsReceiver;
let tcpProc: Proc;
let tcpInbound = 0;
let tcpApp: net.Server;
const TCP_ANSWER = 3000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const call = (headers: Record<string, string> = {}) => callReviews(mesh, agent, headers);

/** The JSON access-log lines a sidecar wrote on its stdout (its other output is on stderr, in the same buffer). */
function stdoutLines(name: string): Line[] {
  const proc = mesh.procs.find((p) => p.name === name) ?? (name === tcpProc?.name ? tcpProc : undefined);
  assert.ok(proc, `no process ${name}`);
  return proc.output().split('\n').filter((l) => l.includes('"marker":"weft-access-log"')).map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Line);
}

const failures = (): Line[] => (fs.existsSync(failuresFile) ? fs.readFileSync(failuresFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line) : []);

/** Wait until fn() has reached `want` lines, then a little more, and return it: the count must be exact. */
async function settle<T>(what: string, fn: () => T[], want: number): Promise<T[]> {
  await waitFor(what, async () => fn().length >= want, 10_000, mesh.procs);
  await new Promise((r) => setTimeout(r, 300));
  return fn();
}

before(async () => {
  otlp = await startOtlpLogsReceiver();
  mesh = await startMetricsMesh({ meshConfig: meshConfig(otlp.port) });
  // A TCP workload with its own sidecar from the same control plane (its inbound port is a tcp_proxy chain).
  const [appPort, out, inbound, admin] = await freePorts(4);
  tcpInbound = inbound;
  tcpApp = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', () => {});
    s.on('end', () => s.end(Buffer.alloc(TCP_ANSWER, 0x61)));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => tcpApp.listen(appPort, '127.0.0.1', r));
  tcpProc = spawnPairSidecar(mesh.p, mesh.dir, mesh.caDir, 'tcp-echo', out, inbound, admin, { port: appPort, servicePort: 9000, protocol: 'TCP' }, ['--labels', 'app=tcp-echo,version=v1']);
  mesh.procs.push(tcpProc);
  writeFaultVirtualService(mesh);
  fs.writeFileSync(
    path.join(mesh.configDir, 'telemetry-mesh.yaml'),
    `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  accessLogging:
  - providers: [{ name: json-stdout }]
  - providers: [{ name: failures }]
    filter: { expression: "response.code >= 400" }
  - providers: [{ name: otel-logs }]
    match: { mode: SERVER }
`,
  );
  await waitFor('tcp-echo sidecar ready', async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).ok, 30_000, mesh.procs);
  // Converged once the fault and the access logs are in place: a faulted call is logged as a failure.
  await waitFor('fault and access logs applied', async () => (await call({ 'x-fault': 'abort' })).status === 503 && failures().length > 0, 20_000, mesh.procs);
  await waitFor('both sidecars log', async () => (await call()).status === 200 && stdoutLines('reviews').length > 0, 20_000, mesh.procs);
  // Lines of the convergence calls still being written land before the tests count.
  await new Promise((r) => setTimeout(r, 500));
});

after(async () => {
  agent.destroy();
  tcpApp?.close();
  await mesh?.stop();
  otlp?.close();
  fs.rmSync(logDir, { recursive: true, force: true });
});

test('a bounded run: one JSON line per request on each side, with the fields; a fault-injected 503 carries FI; the filter logs only failures', async () => {
  const [pp0, rv0, f0] = [stdoutLines('productpage').length, stdoutLines('reviews').length, failures().length];
  const OK = 12;
  const FAULTED = 5;
  for (let i = 0; i < OK; i++) assert.equal((await call({ 'x-request-id': `ok-${i}`, 'user-agent': 'weft-e2e' })).status, 200);
  for (let i = 0; i < FAULTED; i++) assert.equal((await call({ 'x-fault': 'abort', 'x-request-id': `fault-${i}` })).status, 503);

  const client = (await settle('productpage lines', () => stdoutLines('productpage'), pp0 + OK + FAULTED)).slice(pp0);
  const server = (await settle('reviews lines', () => stdoutLines('reviews'), rv0 + OK)).slice(rv0);
  const failed = (await settle('failure lines', failures, f0 + FAULTED)).slice(f0);
  assert.equal(client.length, OK + FAULTED, 'the client sidecar logs every request once');
  assert.equal(server.length, OK, 'faulted calls never reach the server sidecar');
  assert.equal(failed.length, FAULTED, 'response.code >= 400 logs exactly the failures');

  const ok = client.filter((l) => String(l.request_id).startsWith('ok-'));
  assert.equal(ok.length, OK);
  for (const l of ok) {
    assert.equal(l.method, 'GET');
    assert.equal(l.path, '/reviews/1');
    assert.equal(l.protocol, 'HTTP/1.1');
    assert.equal(l.response_code, 200);
    assert.equal(l.response_flags, '-');
    assert.equal(l.authority, 'reviews:9080');
    assert.equal(l.user_agent, 'weft-e2e');
    assert.equal(l.upstream_cluster, 'outbound|9080||reviews.default.svc.cluster.local');
    assert.match(String(l.upstream_host), /^127\.0\.0\.1:\d+$/);
    assert.equal(l.upstream_peer, 'spiffe://cluster.local/ns/default/sa/reviews');
    assert.equal(l.bytes_sent, 'reviews v2 says hi'.length);
    assert.equal(typeof l.duration, 'number');
    assert.ok(!Number.isNaN(Date.parse(String(l.start_time))));
    assert.equal(l.upstream_transport_failure_reason, null);
  }
  const faulted = client.filter((l) => String(l.request_id).startsWith('fault-'));
  assert.equal(faulted.length, FAULTED);
  for (const l of faulted) {
    assert.equal(l.response_code, 503);
    assert.equal(l.response_flags, 'FI');
    assert.equal(l.upstream_host, null, 'a fault answered before any upstream');
  }
  for (const l of failed) assert.deepEqual(l, { code: 503, flags: 'FI', cluster: 'outbound|9080||reviews.default.svc.cluster.local' });
  // The server side sees the caller's certificate and the same request ids.
  assert.deepEqual(server.map((l) => l.request_id).sort(), ok.map((l) => l.request_id).sort());
  for (const l of server) {
    assert.equal(l.downstream_peer, 'spiffe://cluster.local/ns/default/sa/productpage');
    assert.equal(l.response_code, 200);
    assert.match(String(l.upstream_cluster), /^inbound\|9080\|\|/);
  }
});

test('a TCP connection through a tcp_proxy chain logs its bytes', async () => {
  const before = stdoutLines('tcp-echo').length;
  const SENT = 1234;
  const got = await new Promise<number>((resolve, reject) => {
    const s = net.connect({ port: tcpInbound, host: '127.0.0.1', allowHalfOpen: true });
    let n = 0;
    s.on('connect', () => s.end(Buffer.alloc(SENT, 0x62)));
    s.on('data', (d: Buffer) => (n += d.length));
    s.on('end', () => {
      s.destroy();
      resolve(n);
    });
    s.on('error', reject);
  });
  assert.equal(got, TCP_ANSWER);
  const [line] = (await settle('tcp-echo line', () => stdoutLines('tcp-echo'), before + 1)).slice(before);
  assert.equal(line.bytes_received, SENT);
  assert.equal(line.bytes_sent, TCP_ANSWER);
  assert.equal(line.protocol, null, 'no HTTP protocol on a TCP connection');
  assert.equal(line.method, null);
  assert.equal(line.response_code, 0);
  assert.match(String(line.upstream_cluster), /^inbound\|9000\|\|/);
});

test('an envoyOtelAls provider for the SERVER side: the server sidecars export OTLP log records through the collector cluster', async () => {
  const N = 4;
  for (let i = 0; i < N; i++) assert.equal((await call({ 'x-request-id': `otel-${i}` })).status, 200);
  await waitFor('OTLP records', async () => otlp.records.filter((r) => r.attributes.request_id?.startsWith('otel-')).length >= N, 10_000, mesh.procs);
  const mine = otlp.records.filter((r) => r.attributes.request_id?.startsWith('otel-'));
  assert.equal(mine.length, N, 'one record per request: only the server side (mode SERVER) exports');
  for (const r of mine) {
    assert.equal(r.attributes.code, '200');
    assert.equal(r.resource.log_name, 'weft-e2e');
    assert.match(r.body, /^\[[^\]]+\] "GET \/reviews\/1 HTTP\/1\.1" 200 - via_upstream /, "Istio's text format as the body");
  }
});
