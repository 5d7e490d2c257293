// Istio's published Grafana dashboards (../shared/fixtures/istio/dashboards, five files, 209 panel
// queries) against what Weft exposes after a demo-like run through real processes (HTTP over mTLS, a
// fault-injected 503, TCP, a config file with an error): every metric and label their PromQL names must
// be in the scraped exposition of the sidecars or of the control plane, except
//  - what the platform provides (cAdvisor's container_* from the kubelet: no mesh exports it),
//  - labels Prometheus itself puts on a target's series (TARGET_LABELS, from the scrape config that
//    docs/observability.md gives), and
//  - NOT_EXPORTED: istiod's Go runtime metrics, which a Node control plane has no equivalent of (the
//    list is exact: the test fails if a name on it appears, or if another goes missing).
// test/e2e/prometheus.test.ts runs the same queries against a real Prometheus.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fixturesDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { callReviews, scrape, startMetricsMesh, tcpExchange, writeFaultVirtualService, writeInvalidResource, type MetricsMesh } from '../helpers/metrics-mesh.js';
import { namesAndLabels, parseExposition, type Sample } from '../helpers/prom-text.js';
import { dashboardQueries, promqlNames, unwrapTemplating } from '../helpers/promql-names.js';

const DASHBOARDS = path.join(fixturesDir, 'istio/dashboards');
const FILES = ['istio-mesh-dashboard.gen.json', 'istio-service-dashboard.json', 'istio-workload-dashboard.json', 'pilot-dashboard.gen.json', 'istio-performance-dashboard.json'];

/** Kubernetes' cAdvisor metrics (kubelet): the platform's, not a mesh's. */
const PLATFORM = /^container_/;

/** Legacy names the dashboards query only as the `or` fallback of the current one in the same query
 * (Istio itself stopped exporting them with telemetry v2): accepted when the current name is exposed. */
const LEGACY_FALLBACK: Record<string, string> = { istio_request_duration_seconds_bucket: 'istio_request_duration_milliseconds_bucket' };

/** Labels the scrape configuration attaches to a target's series (docs/observability.md: the
 * control plane's target is labelled app="istiod", pods get namespace and pod), not the exposition's. */
const TARGET_LABELS = new Set(['app', 'pod', 'namespace', 'job', 'instance']);

/** istiod's Go runtime (go_*): Weft's control plane is Node; its runtime metrics are nodejs_* and process_*. */
const NOT_EXPORTED = [
  'go_goroutines',
  'go_memstats_alloc_bytes',
  'go_memstats_alloc_bytes_total',
  'go_memstats_heap_alloc_bytes',
  'go_memstats_heap_inuse_bytes',
  'go_memstats_heap_sys_bytes',
  'go_memstats_mallocs_total',
  'go_memstats_stack_inuse_bytes',
];

let mesh: MetricsMesh;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
let exposed: Map<string, Set<string>>;

before(async () => {
  mesh = await startMetricsMesh();
  await waitFor('productpage reaches reviews', async () => (await callReviews(mesh, agent)).status === 200, 20_000, mesh.procs);
  writeFaultVirtualService(mesh);
  await waitFor('a fault-injected 503', async () => (await callReviews(mesh, agent, { 'x-fault': 'abort' })).status === 503, 15_000, mesh.procs);
  writeInvalidResource(mesh);
  await tcpExchange(mesh.tcpClientPort, 100);
  // TCP connections are reported closed once both sockets closed.
  await waitFor('the TCP connection reported', async () => (await scrape(mesh.telemetry.tcpServer)).some((s) => s.name === 'istio_tcp_connections_closed_total'), 10_000, mesh.procs);
  await waitFor('the invalid file counted', async () => (await scrapeControlPlane()).some((s) => s.name === 'galley_validation_failed'), 10_000, mesh.procs);
  exposed = new Map();
  const expositions = [...(await Promise.all(Object.values(mesh.telemetry).map((port) => scrape(port)))), await scrapeControlPlane()];
  for (const samples of expositions) {
    for (const [name, labels] of namesAndLabels(samples)) {
      const set = exposed.get(name) ?? new Set();
      for (const l of labels) set.add(l);
      exposed.set(name, set);
    }
  }
});

async function scrapeControlPlane(): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${mesh.p.monitor}/metrics`);
  if (!res.ok) throw new Error(`control plane /metrics: HTTP ${res.status}`);
  return parseExposition(await res.text());
}

after(async () => {
  agent.destroy();
  await mesh?.stop();
});

function queries(): { file: string; query: string }[] {
  return FILES.flatMap((file) => {
    const q = dashboardQueries(JSON.parse(fs.readFileSync(path.join(DASHBOARDS, file), 'utf8')));
    return [...q.exprs, ...q.templating.map(unwrapTemplating)].map((query) => ({ file, query }));
  });
}

test('the fixtures hold the 209 panel queries the issue counts (and their templating queries)', () => {
  const exprs = FILES.reduce((n, f) => n + dashboardQueries(JSON.parse(fs.readFileSync(path.join(DASHBOARDS, f), 'utf8'))).exprs.length, 0);
  assert.equal(exprs, 209);
});

test("every metric and label of Istio's dashboards is in the sidecars' or the control plane's exposition, but istiod's Go runtime", () => {
  const problems: string[] = [];
  const missing = new Set<string>();
  for (const { file, query } of queries()) {
    const names = promqlNames(query);
    const present = [...names.metrics].filter((m) => exposed.has(m));
    for (const m of names.metrics) {
      if (!exposed.has(m)) {
        const current = LEGACY_FALLBACK[m];
        if (current && names.metrics.has(current) && exposed.has(current)) continue;
        if (!PLATFORM.test(m)) missing.add(m);
        continue;
      }
      for (const l of names.selectorLabels.get(m) ?? []) if (!exposed.get(m)!.has(l) && !TARGET_LABELS.has(l)) problems.push(`${file}: label ${l} of ${m} is not exposed (${query})`);
    }
    // by (…) labels: on at least one of the query's exposed metrics.
    if (present.length) {
      for (const l of names.groupingLabels) if (!TARGET_LABELS.has(l) && !present.some((m) => exposed.get(m)!.has(l))) problems.push(`${file}: grouping label ${l} is on none of ${present.join(', ')} (${query})`);
    }
  }
  assert.deepEqual(problems, []);
  const proxyLike = [...missing].filter((m) => /^(istio_|envoy_)/.test(m));
  assert.deepEqual(proxyLike, [], 'proxy metrics the dashboards need and the sidecars do not expose');
  assert.deepEqual([...missing].sort(), NOT_EXPORTED, 'missing: exactly the Go runtime names');
});
