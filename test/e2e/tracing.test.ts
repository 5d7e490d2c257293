// Distributed tracing end to end, all real processes on loopback: a `weft control-plane` whose mesh
// config names an OpenTelemetry provider (OTLP/HTTP to a receiver in this test), four sidecars
// (client, productpage, reviews, ratings) and the demo's own apps, which forward trace headers as
// bookinfo's do. A call client → productpage → reviews → ratings must arrive as one trace whose
// spans chain hop by hop; B3-only and W3C-only callers are continued; a Telemetry at 0 % still
// traces what arrives sampled; 100 % and 0 % are counted exactly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeApps, startApp, type AppSpec } from '../../src/demo/apps.js';
import { freePorts, spawnWeft, stopAll, waitFor, type Proc } from '../helpers/processes.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';

const SERVER = 2;
const CLIENT = 3;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-tracing-'));
const procs: Proc[] = [];
const apps: http.Server[] = [];
const agent = new http.Agent({ keepAlive: true });
let receiver: OtlpReceiver;
let clientOutbound = 0;
let monitor = 0;
const admins: number[] = [];

const CHAIN: AppSpec[] = [
  { service: 'productpage', version: 'v1', calls: ['reviews'] },
  { service: 'reviews', version: 'v2', calls: ['ratings'] },
  { service: 'ratings', version: 'v1', calls: [] },
];
/** Spans of one three-hop call: the client's outbound one, then a server and a client span per app hop, ratings' server span last. */
const SPANS_PER_CALL = 6;

function call(headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: clientOutbound, path: '/productpage', agent, headers: { host: 'productpage:9080', ...headers }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const byTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);

async function traceOf(traceId: string, n = SPANS_PER_CALL): Promise<ReceivedSpan[]> {
  return waitFor(`${n} spans of trace ${traceId}`, async () => byTrace(traceId).length >= n && byTrace(traceId), 15_000, procs);
}

/** The spans of one trace in call order: each one's parent is the one before. */
function chain(spans: ReceivedSpan[]): ReceivedSpan[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const roots = spans.filter((s) => !ids.has(s.parentSpanId));
  assert.equal(roots.length, 1, `one span without a parent in the trace: ${JSON.stringify(spans.map((s) => [s.name, s.spanId, s.parentSpanId]))}`);
  const out = [roots[0]];
  for (;;) {
    const next = spans.filter((s) => s.parentSpanId === out[out.length - 1].spanId);
    if (next.length === 0) break;
    assert.equal(next.length, 1, 'each span has one child in a chain');
    out.push(next[0]);
  }
  assert.equal(out.length, spans.length, 'every span is on the chain');
  return out;
}

const telemetry = (sampling: number) => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing:
  - randomSamplingPercentage: ${sampling}
    customTags:
      team: { literal: { value: bookinfo } }
      user: { header: { name: end-user, defaultValue: anonymous } }
`;

/** Every HCM `tracing` field in a proxy's /config_dump. */
function tracingFields(o: unknown, out: Array<{ random_sampling?: { value?: number } }> = []): Array<{ random_sampling?: { value?: number } }> {
  if (Array.isArray(o)) for (const v of o) tracingFields(v, out);
  else if (o && typeof o === 'object') {
    const rec = o as Record<string, unknown>;
    if (rec.tracing && typeof rec.tracing === 'object') out.push(rec.tracing as { random_sampling?: { value?: number } });
    else for (const v of Object.values(rec)) tracingFields(v, out);
  }
  return out;
}

/** Waits until every sidecar runs HCM tracing configs at this random_sampling. */
async function sidecarsAt(sampling: number): Promise<void> {
  await waitFor(`every sidecar at random_sampling ${sampling}`, async () => {
    for (const admin of admins) {
      const fields = tracingFields(await (await fetch(`http://127.0.0.1:${admin}/config_dump`)).json());
      if (fields.length === 0 || fields.some((t) => (t.random_sampling?.value ?? 0) !== sampling)) return false;
    }
    return true;
  }, 20_000, procs);
}

before(async () => {
  const [xds, mon, collector, ...rest] = await freePorts(3 + 4 * 4);
  monitor = mon;
  receiver = await startOtlpReceiver(collector);
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config', 'telemetry.yaml'), telemetry(100));
  fs.writeFileSync(
    path.join(dir, 'mesh.yaml'),
    ['extensionProviders:', '- name: otel', `  opentelemetry: { service: 127.0.0.1, port: ${collector}, http: { path: /v1/traces } }`, 'defaultProviders: { tracing: [otel] }', ''].join('\n'),
  );
  procs.push(
    spawnWeft('control-plane', [
      'control-plane', '--insecure-registration', '--config-dir', path.join(dir, 'config'), '--mesh-config', path.join(dir, 'mesh.yaml'),
      '--xds-address', `127.0.0.1:${xds}`, '--monitor-address', `127.0.0.1:${monitor}`, '--debounce-ms', '50',
    ]),
  );
  // Spans leave each sidecar 100 ms after they end (the SDK's OTEL_BSP_SCHEDULE_DELAY; 5 s by default).
  const env = { OTEL_BSP_SCHEDULE_DELAY: '100' };
  const sidecar = (service: string, version: string, [outbound, inbound, admin, app]: number[]) => {
    admins.push(admin);
    procs.push(
      spawnWeft(`${service}-sidecar`, [
        'proxy', '--xds-address', `127.0.0.1:${xds}`, '--service', service, '--labels', `app=${service},version=${version}`, '--app-port', String(app),
        '--service-port', '9080', '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin),
      ], env),
    );
  };
  CHAIN.forEach((spec, i) => sidecar(spec.service, spec.version, rest.slice(4 * i, 4 * i + 4)));
  const clientPorts = rest.slice(12, 16);
  clientOutbound = clientPorts[0];
  sidecar('client', 'v1', clientPorts);
  const noStats = { record() {} };
  for (const [i, spec] of CHAIN.entries()) apps.push(await startApp(spec, rest[4 * i + 3], { mode: 'explicit', outboundPort: rest[4 * i] }, noStats));
  await waitFor('a routed three-hop call', async () => (await call()).status === 200, 30_000, procs);
  await sidecarsAt(100);
});

after(async () => {
  agent.destroy();
  closeApps(apps);
  await stopAll(procs);
  await receiver?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('tracing through four sidecars', () => {
  it('a three-hop call with no trace headers is one trace: client span of each hop is the parent of the next server span, with Envoy/Istio attributes', async () => {
    const r = await call({ 'end-user': 'jason', 'user-agent': 'tracing-test/1' });
    assert.equal(r.status, 200, r.body);
    // The client sidecar started the trace: its span is the one root. Find it by its user agent.
    const root = await waitFor('the client sidecar span', async () => receiver.spans.find((s) => s.attributes.user_agent === 'tracing-test/1' && s.parentSpanId === ''), 15_000, procs);
    const spans = chain(await traceOf(root.traceId));
    assert.deepEqual(spans.map((s) => s.kind), [CLIENT, SERVER, CLIENT, SERVER, CLIENT, SERVER]);
    assert.deepEqual(
      spans.map((s) => [s.attributes['istio.canonical_service'], s.serviceName]),
      [['client', 'client.default'], ['productpage', 'productpage.default'], ['productpage', 'productpage.default'], ['reviews', 'reviews.default'], ['reviews', 'reviews.default'], ['ratings', 'ratings.default']],
    );
    assert.deepEqual(
      spans.map((s) => s.name),
      ['productpage:9080/*', 'productpage:9080/*', 'reviews:9080/*', 'reviews:9080/*', 'ratings:9080/*', 'ratings:9080/*'],
    );
    const requestIds = new Set(spans.map((s) => s.attributes['guid:x-request-id']));
    assert.equal(requestIds.size, 1, 'the apps forward x-request-id: one id across the trace');
    assert.match(String([...requestIds][0]), /^[0-9a-f-]{36}$/);
    for (const s of spans) {
      assert.equal(s.attributes['http.method'], 'GET');
      assert.equal(s.attributes['http.status_code'], '200');
      assert.equal(s.attributes['http.protocol'], 'HTTP/1.1');
      assert.equal(s.attributes.response_flags, '-');
      assert.equal(s.attributes.team, 'bookinfo', 'literal custom tag');
      assert.equal(s.attributes.user, 'jason', 'request_header custom tag');
      assert.equal(s.attributes['istio.namespace'], 'default');
      assert.equal(typeof s.attributes.node_id, 'string');
      assert.ok(String(s.attributes.node_id).length > 0);
      assert.equal(s.statusCode, 0, 'UNSET status for a 200');
      assert.ok(s.endNs >= s.startNs);
    }
    // Outbound spans name the service cluster they went to and the workload that answered.
    assert.deepEqual(
      spans.filter((s) => s.kind === CLIENT).map((s) => [s.attributes.upstream_cluster, s.attributes['peer.workload']]),
      [
        ['outbound|9080||productpage.default.svc.cluster.local', 'productpage-v1'],
        ['outbound|9080||reviews.default.svc.cluster.local', 'reviews-v2'],
        ['outbound|9080||ratings.default.svc.cluster.local', 'ratings-v1'],
      ],
    );
    // Inbound spans name the workload that called.
    assert.deepEqual(spans.filter((s) => s.kind === SERVER).map((s) => s.attributes['peer.workload']), ['client-v1', 'productpage-v1', 'reviews-v2']);
    assert.match(String(spans[0].attributes['http.url']), /^http:\/\/productpage:9080\/productpage$/);
    // The server span of a hop starts after the client span that caused it and ends before it.
    for (let i = 0; i + 1 < spans.length; i++) assert.ok(spans[i + 1].startNs >= spans[i].startNs - 2_000_000n, `span ${i + 1} starts within its parent`);
  });

  it('a W3C-only caller is continued: same trace id, its span the parent, tracestate kept', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await call({ traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: 'vendor=1' });
    assert.equal(r.status, 200);
    const spans = chain(await traceOf(traceId));
    assert.equal(spans[0].parentSpanId, '00f067aa0ba902b7');
    assert.equal(spans.length, SPANS_PER_CALL);
    assert.deepEqual(spans.map((s) => s.traceState), Array(SPANS_PER_CALL).fill('vendor=1'), 'tracestate travels with the context');
  });

  it('a B3-multi caller and a B3-single caller are continued (64-bit ids padded to 128)', async () => {
    const multi = await call({ 'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7', 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-sampled': '1' });
    assert.equal(multi.status, 200);
    const m = chain(await traceOf('80f198ee56343ba864fe8b2a57d3eff7'));
    assert.equal(m[0].parentSpanId, 'e457b5a2e4d86bd1');
    const single = await call({ b3: 'a3ce929d0e0e4736-05e3ac9a4f6e3b90-1' });
    assert.equal(single.status, 200);
    const s = chain(await traceOf('0000000000000000a3ce929d0e0e4736'));
    assert.equal(s[0].parentSpanId, '05e3ac9a4f6e3b90');
    assert.equal(s.length, SPANS_PER_CALL);
  });

  it('100 % sampling traces every call, exactly; a caller\'s B3 "not sampled" is honoured', async () => {
    const before = receiver.spans.length;
    const N = 20;
    for (let i = 0; i < N; i++) assert.equal((await call()).status, 200);
    // Neither of these may add a span.
    assert.equal((await call({ b3: '0' })).status, 200);
    assert.equal((await call({ 'x-b3-traceid': 'e'.repeat(32), 'x-b3-spanid': 'f'.repeat(16), 'x-b3-sampled': '0' })).status, 200);
    await waitFor(`${N * SPANS_PER_CALL} new spans`, async () => receiver.spans.length - before >= N * SPANS_PER_CALL, 15_000, procs);
    // A marker sent last: once its spans are in, nothing earlier is still queued in any sidecar.
    const marker = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
    await call({ traceparent: `00-${marker}-1111111111111111-01` });
    await traceOf(marker);
    const fresh = receiver.spans.slice(before).filter((s) => s.traceId !== marker);
    assert.equal(fresh.length, N * SPANS_PER_CALL);
    assert.equal(new Set(fresh.map((s) => s.traceId)).size, N, 'one trace per call');
  });

  it('0 % sampling traces nothing it decides, and still traces what arrives sampled; an unsampled flag is honoured', async () => {
    fs.writeFileSync(path.join(dir, 'config', 'telemetry.yaml'), telemetry(0));
    await sidecarsAt(0);
    const before = receiver.spans.length;
    const N = 20;
    for (let i = 0; i < N; i++) assert.equal((await call()).status, 200);
    assert.equal((await call({ traceparent: '00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-2222222222222222-00' })).status, 200);
    const sampledUpstream = 'cccccccccccccccccccccccccccccccc';
    assert.equal((await call({ traceparent: `00-${sampledUpstream}-3333333333333333-01` })).status, 200);
    const spans = chain(await traceOf(sampledUpstream));
    assert.equal(spans.length, SPANS_PER_CALL, 'the upstream decision wins over 0 %');
    const marker = 'dddddddddddddddddddddddddddddddd';
    await call({ traceparent: `00-${marker}-4444444444444444-01` });
    await traceOf(marker);
    const others = receiver.spans.slice(before).filter((s) => s.traceId !== sampledUpstream && s.traceId !== marker);
    assert.deepEqual(others.map((s) => s.traceId), [], 'no span for an unsampled call');
    // The sidecars count what they exported.
    const stats = await (await fetch(`http://127.0.0.1:${admins[0]}/stats`)).text();
    assert.match(stats, /^tracing\.opentelemetry\.spans_sent: [1-9]\d*$/m);
    assert.match(stats, /^tracing\.opentelemetry\.spans_dropped: 0$/m);
  });
});
