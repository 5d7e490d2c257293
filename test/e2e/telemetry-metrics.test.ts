// Telemetry metrics overrides end to end through real sidecar processes (test/helpers/metrics-mesh.ts):
// a Telemetry written into the control plane's config directory while traffic runs changes what the
// sidecars expose — a removed label, a label set from a request header, a metric dropped on one
// side, and metrics switched off for a workload (which still tells its peer who it is).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '../helpers/processes.js';
import { callReviews, scrape, startMetricsMesh, type MetricsMesh } from '../helpers/metrics-mesh.js';
import { sumOf, type Sample } from '../helpers/prom-text.js';

let mesh: MetricsMesh;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const call = (headers: Record<string, string> = {}) => callReviews(mesh, agent, headers);
const pp = () => scrape(mesh.telemetry.productpage);
const rv = () => scrape(mesh.telemetry.reviews);
const series = (s: Sample[], name: string) => s.filter((x) => x.name === name);

before(async () => {
  mesh = await startMetricsMesh();
  await waitFor('productpage reaches reviews over mTLS', async () => (await call()).status === 200, 20_000, mesh.procs);
});

after(async () => {
  agent.destroy();
  await mesh?.stop();
});

test('a Telemetry removes a label and sets one from a request header on the server side, and drops a metric there', async () => {
  fs.writeFileSync(
    path.join(mesh.configDir, 'telemetry-reviews.yaml'),
    `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: reviews, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  metrics:
  - overrides:
    - match: { metric: REQUEST_COUNT, mode: SERVER }
      tagOverrides:
        request_protocol: { operation: REMOVE }
        source_version: { value: "request.headers['x-team']" }
    - match: { metric: REQUEST_SIZE, mode: SERVER }
      disabled: true
`,
  );
  const team = { reporter: 'destination', source_version: 'blue', request_protocol: '' };
  await waitFor('the override reaches the reviews sidecar', async () => (await call({ 'x-team': 'blue' })).status === 200 && sumOf(await rv(), 'istio_requests_total', team) > 0, 20_000, mesh.procs);
  const before = await rv();
  const N = 10;
  for (let i = 0; i < N; i++) assert.equal((await call({ 'x-team': 'blue' })).status, 200);
  for (let i = 0; i < N; i++) assert.equal((await call({ 'x-team': 'green' })).status, 200);
  const after = await rv();
  assert.equal(sumOf(after, 'istio_requests_total', team) - sumOf(before, 'istio_requests_total', team), N);
  assert.equal(sumOf(after, 'istio_requests_total', { ...team, source_version: 'green' }) - sumOf(before, 'istio_requests_total', { ...team, source_version: 'green' }), N);
  const destRequests = series(after, 'istio_requests_total').filter((x) => x.labels.reporter === 'destination' && x.labels.source_version !== 'v1');
  assert.ok(destRequests.every((x) => x.labels.request_protocol === ''), 'request_protocol is gone from every overridden series');
  // Request sizes are no longer reported for new outcomes; the other metrics keep Istio's labels.
  const sizeNow = sumOf(after, 'istio_request_bytes_count', { reporter: 'destination' });
  assert.equal(sizeNow, sumOf(before, 'istio_request_bytes_count', { reporter: 'destination' }), 'REQUEST_SIZE dropped on the server side');
  const durations = sumOf(after, 'istio_request_duration_milliseconds_count', { reporter: 'destination', source_version: 'v1', request_protocol: 'http' }) -
    sumOf(before, 'istio_request_duration_milliseconds_count', { reporter: 'destination', source_version: 'v1', request_protocol: 'http' });
  assert.equal(durations, 2 * N, 'REQUEST_DURATION untouched');
  // The client side is untouched: CLIENT mode was not selected.
  const client = await pp();
  assert.ok(sumOf(client, 'istio_requests_total', { reporter: 'source', request_protocol: 'http', source_version: 'v1' }) >= 2 * N);
});

test('metrics off for a workload: its sidecar records nothing new, and its peer still learns who called', async () => {
  fs.writeFileSync(
    path.join(mesh.configDir, 'telemetry-productpage.yaml'),
    `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: productpage-quiet, namespace: default }
spec:
  selector: { matchLabels: { app: productpage } }
  metrics:
  - providers: []
`,
  );
  const total = async () => sumOf(await pp(), 'istio_requests_total', { reporter: 'source' });
  // Converged when a burst of calls no longer moves productpage's counter.
  await waitFor(
    'productpage stops recording',
    async () => {
      const a = await total();
      for (let i = 0; i < 3; i++) await call();
      return (await total()) === a;
    },
    20_000,
    mesh.procs,
  );
  const [pp0, rv0] = [await total(), await rv()];
  const N = 15;
  for (let i = 0; i < N; i++) assert.equal((await call()).status, 200);
  assert.equal(await total(), pp0, 'the source side recorded nothing');
  const from = { reporter: 'destination', source_workload: 'productpage-v1', source_app: 'productpage' };
  const rv1 = await rv();
  assert.equal(sumOf(rv1, 'istio_request_duration_milliseconds_count', from) - sumOf(rv0, 'istio_request_duration_milliseconds_count', from), N, 'reviews still names its caller (peer metadata still exchanged)');
});
