// Istio's standard metrics end to end through real sidecar processes (test/helpers/metrics-mesh.ts):
// for bounded runs, istio_requests_total equals the requests sent on both reporters with the right
// workloads, versions, principals and codes (exact deltas of the scraped counters); a fault-injected
// 503 carries response_flags="FI"; TCP byte counters equal the bytes sent each way; the peer header
// never reaches an app; the endpoint speaks Prometheus text and OpenMetrics.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { PEER_HEADER } from '../../src/api/peer-metadata.js';
import { waitFor } from '../helpers/processes.js';
import { callReviews, scrape, startMetricsMesh, tcpExchange, TCP_RESPONSE_BYTES, writeFaultVirtualService, type MetricsMesh } from '../helpers/metrics-mesh.js';
import { sumOf, type Sample } from '../helpers/prom-text.js';

let mesh: MetricsMesh;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

const call = (headers: Record<string, string> = {}) => callReviews(mesh, agent, headers);

const SPIFFE = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;
const requests = (s: Sample[], labels: Record<string, string>) => sumOf(s, 'istio_requests_total', labels);
const pp = () => scrape(mesh.telemetry.productpage);
const rv = () => scrape(mesh.telemetry.reviews);

before(async () => {
  mesh = await startMetricsMesh();
  await waitFor('productpage reaches reviews over mTLS', async () => (await call()).status === 200, 20_000, mesh.procs);
});

after(async () => {
  agent.destroy();
  await mesh?.stop();
});

test('N requests: istio_requests_total grows by exactly N on both reporters, with both workloads, versions and principals', async () => {
  const source = { reporter: 'source', source_workload: 'productpage-v1', source_app: 'productpage', source_version: 'v1', destination_workload: 'reviews-v2', destination_app: 'reviews', destination_version: 'v2', response_code: '200' };
  const destination = { ...source, reporter: 'destination' };
  const [pp0, rv0] = [await pp(), await rv()];
  const N = 25;
  for (let i = 0; i < N; i++) assert.equal((await call()).status, 200);
  const [pp1, rv1] = [await pp(), await rv()];
  assert.equal(requests(pp1, source) - requests(pp0, source), N, 'source reporter (productpage sidecar)');
  assert.equal(requests(rv1, destination) - requests(rv0, destination), N, 'destination reporter (reviews sidecar)');
  // Nothing else was counted: every request landed in exactly these series.
  assert.equal(requests(pp1, {}) - requests(pp0, {}), N);
  assert.equal(requests(rv1, {}) - requests(rv0, {}), N);

  const full = {
    source_workload_namespace: 'default', destination_workload_namespace: 'default', source_cluster: 'Kubernetes', destination_cluster: 'Kubernetes',
    destination_service: 'reviews.default.svc.cluster.local', destination_service_name: 'reviews', destination_service_namespace: 'default',
    request_protocol: 'http', response_flags: '-', grpc_response_status: '', source_principal: SPIFFE('productpage'), destination_principal: SPIFFE('reviews'),
  };
  assert.equal(requests(pp1, { ...source, ...full, connection_security_policy: 'unknown' }) - requests(pp0, { ...source, ...full, connection_security_policy: 'unknown' }), N, 'source labels');
  assert.equal(requests(rv1, { ...destination, ...full, connection_security_policy: 'mutual_tls' }) - requests(rv0, { ...destination, ...full, connection_security_policy: 'mutual_tls' }), N, 'destination labels: mTLS');
  // One duration observation and one size observation per request.
  assert.equal(sumOf(pp1, 'istio_request_duration_milliseconds_count', source) - sumOf(pp0, 'istio_request_duration_milliseconds_count', source), N);
  assert.equal(sumOf(rv1, 'istio_response_bytes_count', destination) - sumOf(rv0, 'istio_response_bytes_count', destination), N);
  assert.equal(sumOf(rv1, 'istio_response_bytes_sum', destination) - sumOf(rv0, 'istio_response_bytes_sum', destination), N * 'reviews v2 says hi'.length);
});

test('the peer header is taken off before either app sees it', async () => {
  const reply = await call({ [PEER_HEADER]: 'w=spoofed;n=evil' });
  assert.equal(reply.status, 200);
  assert.equal(reply.headers[PEER_HEADER], undefined, 'the client app gets no peer header');
  assert.ok(mesh.appHeaders.length > 0);
  for (const h of mesh.appHeaders) assert.equal(h[PEER_HEADER], undefined, 'the server app gets no peer header');
  // The sidecar replaced the app's value with its own: the spoofed workload appears nowhere.
  assert.equal(requests(await rv(), { source_workload: 'spoofed' }), 0);
});

test('a fault-injected 503 is counted on the source with response_flags="FI"; the destination never sees it', async () => {
  writeFaultVirtualService(mesh);
  const fi = { reporter: 'source', response_code: '503', response_flags: 'FI', source_workload: 'productpage-v1', destination_service: 'reviews.default.svc.cluster.local' };
  const [pp0, rv0] = [await pp(), await rv()];
  let faults = 0;
  let ok = 0;
  await waitFor('the fault reaches productpage', async () => {
    const r = await call({ 'x-fault': 'abort' });
    if (r.status === 503 && r.flags === 'FI') faults++;
    else if (r.status === 200) ok++;
    else throw new Error(`unexpected ${r.status} ${r.flags}`);
    return r.status === 503;
  }, 15_000, mesh.procs);
  for (let i = 0; i < 9; i++) assert.equal((await call({ 'x-fault': 'abort' })).status, 503);
  faults += 9;
  const [pp1, rv1] = [await pp(), await rv()];
  assert.equal(requests(pp1, fi) - requests(pp0, fi), faults, 'every 503 with FI');
  assert.equal(requests(pp1, { reporter: 'source', response_code: '200' }) - requests(pp0, { reporter: 'source', response_code: '200' }), ok);
  assert.equal(requests(rv1, {}) - requests(rv0, {}), ok, 'the server sidecar saw only the requests that were not aborted');
  // No upstream answered: the source knows no destination workload.
  assert.ok(requests(pp1, { ...fi, destination_workload: 'unknown' }) >= faults);
});

test('TCP over mTLS: connections opened and closed, and the bytes each way, equal what was sent on both reporters, each knowing the other workload', async () => {
  const K = 4;
  const SENT = 1000;
  const tcp = { destination_workload: 'tcp-echo-v1', destination_version: 'v1', request_protocol: 'tcp' };
  const principals = { source_principal: SPIFFE('tcp-client'), destination_principal: SPIFFE('tcp-echo') };
  const source = { ...tcp, ...principals, reporter: 'source', source_workload: 'tcp-client-v1', destination_service: 'tcp-echo.default.svc.cluster.local', response_flags: '-', connection_security_policy: 'unknown' };
  // The TCP peer exchange told the server who the client is (and the preambles are not counted as bytes).
  const destination = { ...tcp, ...principals, reporter: 'destination', source_workload: 'tcp-client-v1', source_app: 'tcp-client', source_version: 'v1', connection_security_policy: 'mutual_tls' };
  const [c0, s0] = [await scrape(mesh.telemetry.tcpClient), await scrape(mesh.telemetry.tcpServer)];
  for (let i = 0; i < K; i++) assert.equal(await tcpExchange(mesh.tcpClientPort, SENT), TCP_RESPONSE_BYTES);
  const delta = (a: Sample[], b: Sample[], name: string, labels: Record<string, string>) => sumOf(b, name, labels) - sumOf(a, name, labels);
  // A connection is reported closed once both sockets closed: wait for the last one.
  const [c1, s1] = await waitFor('every connection reported closed', async () => {
    const pair = [await scrape(mesh.telemetry.tcpClient), await scrape(mesh.telemetry.tcpServer)];
    return delta(c0, pair[0], 'istio_tcp_connections_closed_total', source) === K && delta(s0, pair[1], 'istio_tcp_connections_closed_total', destination) === K ? pair : undefined;
  }, 10_000, mesh.procs);
  for (const [a, b, labels, who] of [[c0, c1, source, 'source'], [s0, s1, destination, 'destination']] as const) {
    assert.equal(delta(a, b, 'istio_tcp_connections_opened_total', labels), K, `${who}: opened`);
    assert.equal(delta(a, b, 'istio_tcp_received_bytes_total', labels), K * SENT, `${who}: received (request direction)`);
    assert.equal(delta(a, b, 'istio_tcp_sent_bytes_total', labels), K * TCP_RESPONSE_BYTES, `${who}: sent (response direction)`);
  }
});

test('/stats/prometheus: text 0.0.4 by default, OpenMetrics on Accept; Envoy-style proxy stats beside the Istio metrics', async () => {
  const url = `http://127.0.0.1:${mesh.telemetry.productpage}/stats/prometheus`;
  const text = await fetch(url);
  assert.equal(text.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const body = await text.text();
  assert.match(body, /^# TYPE istio_requests_total counter$/m);
  assert.match(body, /^envoy_cluster_upstream_rq_total\{cluster_name="outbound\|9080\|\|reviews\.default\.svc\.cluster\.local"\} [1-9]\d*$/m);
  assert.match(body, /^envoy_cluster_upstream_cx_active\{cluster_name="xds-grpc"\} 1$/m);
  assert.match(body, /^envoy_server_live 1$/m);
  assert.match(body, /^envoy_listener_downstream_cx_total\{listener_address="127\.0\.0\.1_\d+"\} \d+$/m);
  const om = await fetch(url, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.equal(om.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  const omBody = await om.text();
  assert.match(omBody, /^# TYPE istio_requests counter$/m);
  assert.ok(omBody.endsWith('# EOF\n'));
  assert.equal((await fetch(`http://127.0.0.1:${mesh.telemetry.productpage}/config_dump`)).status, 404, 'nothing but telemetry on this port');
});
