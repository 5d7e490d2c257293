// Istio's published Grafana dashboards (../shared/fixtures/istio/dashboards, five files, 209 panel
// queries) against what Weft's sidecars expose after a demo-like run through real processes (HTTP
// over mTLS, a fault-injected 503, TCP): every metric and label their PromQL names must be in the
// scraped exposition, except
//  - what the platform provides (cAdvisor's container_* from the kubelet: no mesh exports it), and
//  - what the control plane is to export (Istio's pilot_*, galley_*, sidecar_injection_*, and istiod's
//    Go runtime and process metrics): CONTROL_PLANE_TODO lists exactly those still missing, so this
//    test fails when a proxy metric goes missing, and tells the control-plane work what remains.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fixturesDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { callReviews, scrape, startMetricsMesh, tcpExchange, writeFaultVirtualService, type MetricsMesh } from '../helpers/metrics-mesh.js';
import { namesAndLabels } from '../helpers/prom-text.js';
import { dashboardQueries, promqlNames, unwrapTemplating } from '../helpers/promql-names.js';

const DASHBOARDS = path.join(fixturesDir, 'istio/dashboards');
const FILES = ['istio-mesh-dashboard.gen.json', 'istio-service-dashboard.json', 'istio-workload-dashboard.json', 'pilot-dashboard.gen.json', 'istio-performance-dashboard.json'];

/** Kubernetes' cAdvisor metrics (kubelet): the platform's, not a mesh's. */
const PLATFORM = /^container_/;

/** Legacy names the dashboards query only as the `or` fallback of the current one in the same query
 * (Istio itself stopped exporting them with telemetry v2): accepted when the current name is exposed. */
const LEGACY_FALLBACK: Record<string, string> = { istio_request_duration_seconds_bucket: 'istio_request_duration_milliseconds_bucket' };

/** TODO(control-plane metrics, issue 11 item 2): the names the dashboards query that the control plane
 * must export; exactly the ones still missing (the test fails if this list is stale either way). */
const CONTROL_PLANE_TODO = [
  'galley_validation_failed',
  'galley_validation_passed',
  'go_goroutines',
  'go_memstats_alloc_bytes',
  'go_memstats_alloc_bytes_total',
  'go_memstats_heap_alloc_bytes',
  'go_memstats_heap_inuse_bytes',
  'go_memstats_heap_sys_bytes',
  'go_memstats_mallocs_total',
  'go_memstats_stack_inuse_bytes',
  'pilot_k8s_cfg_events',
  'pilot_k8s_reg_events',
  'pilot_push_triggers',
  'pilot_total_xds_internal_errors',
  'pilot_total_xds_rejects',
  'pilot_xds',
  'pilot_xds_config_size_bytes_bucket',
  'pilot_xds_push_time_bucket',
  'pilot_xds_pushes',
  'process_cpu_seconds_total',
  'process_open_fds',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'sidecar_injection_failure_total',
  'sidecar_injection_success_total',
];

let mesh: MetricsMesh;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
let exposed: Map<string, Set<string>>;

before(async () => {
  mesh = await startMetricsMesh();
  await waitFor('productpage reaches reviews', async () => (await callReviews(mesh, agent)).status === 200, 20_000, mesh.procs);
  writeFaultVirtualService(mesh);
  await waitFor('a fault-injected 503', async () => (await callReviews(mesh, agent, { 'x-fault': 'abort' })).status === 503, 15_000, mesh.procs);
  await tcpExchange(mesh.tcpClientPort, 100);
  // TCP connections are reported closed once both sockets closed.
  await waitFor('the TCP connection reported', async () => (await scrape(mesh.telemetry.tcpServer)).some((s) => s.name === 'istio_tcp_connections_closed_total'), 10_000, mesh.procs);
  exposed = new Map();
  for (const port of Object.values(mesh.telemetry)) {
    for (const [name, labels] of namesAndLabels(await scrape(port))) {
      const set = exposed.get(name) ?? new Set();
      for (const l of labels) set.add(l);
      exposed.set(name, set);
    }
  }
});

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

test("every metric and label of Istio's dashboards is in the sidecars' exposition, or on the control-plane TODO list", () => {
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
      for (const l of names.selectorLabels.get(m) ?? []) if (!exposed.get(m)!.has(l)) problems.push(`${file}: label ${l} of ${m} is not exposed (${query})`);
    }
    // by (…) labels: on at least one of the query's exposed metrics (a query of control-plane
    // metrics only is the control plane's to satisfy).
    if (present.length) {
      for (const l of names.groupingLabels) if (!present.some((m) => exposed.get(m)!.has(l))) problems.push(`${file}: grouping label ${l} is on none of ${present.join(', ')} (${query})`);
    }
  }
  assert.deepEqual(problems, []);
  const proxyLike = [...missing].filter((m) => /^(istio_|envoy_)/.test(m));
  assert.deepEqual(proxyLike, [], 'proxy metrics the dashboards need and the sidecars do not expose');
  assert.deepEqual([...missing].sort(), CONTROL_PLANE_TODO, 'the control-plane TODO list is exactly what is missing');
});
