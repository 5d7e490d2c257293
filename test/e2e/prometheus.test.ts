// A real Prometheus (Debian's 2.42) with the scrape configuration of docs/observability.md scrapes a
// demo-like mesh of real sidecars and the control plane: productpage sends a known 80/20 split to
// reviews v1/v2 through a VirtualService (plus a few fault-injected 503s, TCP through a tcp_proxy pair
// and one invalid config file), and
//  - PromQL `sum by (destination_version) (rate(istio_requests_total[30s]))` gives that split within a
//    few percent, and the exact split the sidecars counted closer still;
//  - every query of Istio's five dashboards (panels and templating) runs without error with its
//    template variables bound to this mesh's values, and every one returns data except those listed
//    in EXPECTED_EMPTY, each with its reason (the list is exact: the test fails if it is stale).
// Without the binary the test is skipped, unless CI=true, where a missing prometheus fails the run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { callReviews, scrape, startMetricsMesh, tcpExchange, writeFaultVirtualService, writeInvalidResource, type MetricsMesh } from '../helpers/metrics-mesh.js';
import { fixturesDir } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { sumOf } from '../helpers/prom-text.js';
import { checkDocConfig, PROMETHEUS_BIN, startPrometheus, targets, type Prometheus } from '../helpers/prometheus.js';
import { dashboardQueries, unwrapTemplating } from '../helpers/promql-names.js';

const available = fs.existsSync(PROMETHEUS_BIN);
if (!available && process.env.CI === 'true') throw new Error(`CI=true and ${PROMETHEUS_BIN} is missing (apt-get install prometheus)`);
const skip = available ? false : `${PROMETHEUS_BIN} not installed`;

const SPLIT = { v1: 80, v2: 20 };
/** Requests of the split: enough that a random 80/20 choice lands within ±4 points (±4 SD at 1,500). */
const REQUESTS = 1500;
const FAULTS = 10;
const TCP_CONNECTIONS = 5;
const DASHBOARDS = path.join(fixturesDir, 'istio/dashboards');
const FILES = ['istio-mesh-dashboard.gen.json', 'istio-service-dashboard.json', 'istio-workload-dashboard.json', 'pilot-dashboard.gen.json', 'istio-performance-dashboard.json'];

/** Grafana's variables bound to this mesh. A dashboard is looked at as a user would: the service
 * dashboard for the HTTP service and for the TCP one, the workload dashboard for each workload, each
 * from both reporters (its `qrep` choice); a query "returns data" when it does under one of its
 * dashboard's bindings. "All" is `.*` (only ever used with =~). $__rate_interval covers the run. */
const ALL = '.*';
const COMMON = { __rate_interval: '1m', __interval: '15s', srcwl: ALL, srcns: ALL, dstwl: ALL, dstns: ALL, dstcluster: ALL, srccluster: ALL, dstsvc: ALL };
const bothReporters = (vars: Record<string, string>[]) => vars.flatMap((v) => ['destination', 'source'].map((qrep) => ({ ...COMMON, qrep, ...v })));
const BINDINGS: Record<string, Record<string, string>[]> = {
  'istio-service-dashboard.json': bothReporters([{ service: 'reviews.default.svc.cluster.local' }, { service: 'tcp-echo.default.svc.cluster.local' }]),
  'istio-workload-dashboard.json': bothReporters(['reviews-v1', 'reviews-v2', 'productpage-v1', 'tcp-echo-v1', 'tcp-client-v1'].map((workload) => ({ namespace: 'default', workload }))),
};

/** The label selectors of a query, `{…}` each. */
const selectors = (q: string): string[] => q.match(/\{[^}]*\}/g) ?? [];
const selectorWith = (...parts: string[]) => (q: string) => selectors(q).some((sel) => parts.every((p) => sel.includes(p)));

/** Why a query returns nothing here. Every empty query must match one rule, and every rule must match
 * some empty query (the list is exact). */
const EXPECTED_EMPTY: { test: (q: string) => boolean; why: string }[] = [
  { test: (q) => /container_(cpu|memory|fs)_/.test(q), why: "cAdvisor's (the kubelet's): no mesh exports them, and there is no kubelet here" },
  { test: (q) => /go_(goroutines|memstats_)/.test(q), why: "istiod's Go runtime; Weft's control plane is Node (its nodejs_* and process_* are there)" },
  { test: (q) => q.includes('istio-ingressgateway'), why: 'no ingress gateway: Weft has sidecars only' },
  { test: selectorWith('reporter="source"', 'connection_security_policy="mutual_tls"'), why: 'the source reporter says connection_security_policy="unknown", as Istio\'s does (only the server knows)' },
  {
    test: (q) => (q.match(/istio_tcp_\w+\{[^}]*\}/g) ?? []).some((sel) => sel.includes('reporter="destination"') && sel.includes('connection_security_policy!="mutual_tls"')),
    why: "plaintext TCP as the server saw it: the TCP pair's server accepts mTLS only",
  },
];

let mesh: MetricsMesh;
let prom: Prometheus;
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
/** The split as productpage's sidecar counted it (source reporter), exact. */
const counted = { v1: 0, v2: 0 };

/** Sends `n` requests through productpage's sidecar, `concurrency` at a time, bounded by `deadline`. */
async function sendSplit(n: number, concurrency: number, deadline: number): Promise<number> {
  let sent = 0;
  const worker = async () => {
    while (sent < n && Date.now() < deadline) {
      sent++;
      const r = await callReviews(mesh, agent);
      assert.equal(r.status, 200);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return sent;
}

async function sourceCounts(): Promise<{ v1: number; v2: number }> {
  const s = await scrape(mesh.telemetry.productpage);
  const c = (v: string) => sumOf(s, 'istio_requests_total', { reporter: 'source', destination_version: v, response_code: '200' });
  return { v1: c('v1'), v2: c('v2') };
}

before(async () => {
  if (skip) return;
  mesh = await startMetricsMesh({ reviewsV1: true });
  try {
    await waitFor('productpage reaches reviews', async () => (await callReviews(mesh, agent)).status === 200, 20_000, mesh.procs);
    writeFaultVirtualService(mesh, SPLIT);
    writeInvalidResource(mesh);
    await waitFor('the fault route in place', async () => (await callReviews(mesh, agent, { 'x-fault': 'abort' })).status === 503, 15_000, mesh.procs);
    const tel = mesh.telemetry;
    prom = await startPrometheus({
      controlPlanePort: mesh.p.monitor,
      sidecars: [
        { port: tel.productpage, namespace: 'default', pod: 'productpage-v1-0' },
        { port: tel.reviews, namespace: 'default', pod: 'reviews-v2-0' },
        { port: tel.reviewsV1!, namespace: 'default', pod: 'reviews-v1-0' },
        { port: tel.tcpClient, namespace: 'default', pod: 'tcp-client-v1-0' },
        { port: tel.tcpServer, namespace: 'default', pod: 'tcp-echo-v1-0' },
      ],
    });
    await waitFor('every target scraped and up', async () => {
      const t = await targets(prom);
      return t.length === 6 && t.every((x) => x.health === 'up');
    }, 20_000);
    const before = await sourceCounts();
    // Spread over several scrapes: 1,500 requests at a bounded pace (~250 rps), at most 30 s.
    const deadline = Date.now() + 30_000;
    let sent = 0;
    while (sent < REQUESTS && Date.now() < deadline) {
      const t0 = Date.now();
      sent += await sendSplit(Math.min(250, REQUESTS - sent), 8, deadline);
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - t0))));
    }
    assert.equal(sent, REQUESTS, 'every request of the split sent within the time bound');
    for (let i = 0; i < FAULTS; i++) assert.equal((await callReviews(mesh, agent, { 'x-fault': 'abort' })).status, 503);
    for (let i = 0; i < TCP_CONNECTIONS; i++) await tcpExchange(mesh.tcpClientPort, 100);
    const afterCounts = await sourceCounts();
    counted.v1 = afterCounts.v1 - before.v1;
    counted.v2 = afterCounts.v2 - before.v2;
    // Two more scrapes, so Prometheus holds the final counts.
    await new Promise((r) => setTimeout(r, 2500));
  } catch (err) {
    await prom?.stop();
    await mesh.stop();
    throw err;
  }
});

after(async () => {
  agent.destroy();
  await prom?.stop();
  await mesh?.stop();
});

test("promtool accepts the docs' configuration (but for the Kubernetes job: Debian's build has no Kubernetes discovery)", { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-promtool-'));
  try {
    assert.match(checkDocConfig(dir), /SUCCESS/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('sum by (destination_version) (rate(istio_requests_total[30s])) matches the 80/20 split sent', { skip }, async () => {
  assert.equal(counted.v1 + counted.v2, REQUESTS, "the sidecar counted every request of the split");
  const rows = await prom.query('sum by (destination_version) (rate(istio_requests_total[30s]))');
  const rate = Object.fromEntries(rows.map((r) => [r.metric.destination_version, Number(r.value[1])]));
  assert.ok(rate.v1 > 0 && rate.v2 > 0, JSON.stringify(rate));
  const share = rate.v1 / (rate.v1 + rate.v2);
  const exact = counted.v1 / REQUESTS;
  assert.ok(Math.abs(share - SPLIT.v1 / 100) < 0.04, `Prometheus: v1 share ${share.toFixed(3)} vs 0.80 sent`);
  assert.ok(Math.abs(share - exact) < 0.02, `Prometheus: v1 share ${share.toFixed(3)} vs ${exact.toFixed(3)} the sidecar counted`);
  // Both reporters count each request once: the same totals from the client's and the servers' side.
  const by = await prom.query('sum by (reporter) (istio_requests_total{destination_version=~"v1|v2", response_code="200"})');
  const total = Object.fromEntries(by.map((r) => [r.metric.reporter, Number(r.value[1])]));
  assert.ok(total.source >= REQUESTS, JSON.stringify(total));
  assert.equal(total.source, total.destination, JSON.stringify(total));
  // The fault-injected 503s carry FI; the control plane is scraped under its job.
  const fi = await prom.query('sum(istio_requests_total{reporter="source",response_code="503",response_flags="FI"})');
  assert.ok(Number(fi[0]?.value[1]) >= FAULTS, JSON.stringify(fi));
  const cp = await prom.query('sum(pilot_xds{job="weft-control-plane"})');
  assert.equal(Number(cp[0]?.value[1]), 3, 'productpage and both reviews connected (the TCP pair has its own ADS server)');
});

/** Live traffic while the dashboards are read, as a user looks at them: through the mesh, plaintext
 * straight to reviews' inbound port (a caller outside the mesh: PERMISSIVE accepts it), and TCP.
 * Bounded by `stop` and by a minute. */
function backgroundTraffic(): { stop(): Promise<void> } {
  let stopped = false;
  const until = Date.now() + 60_000;
  const loop = async (every: number, fn: () => Promise<unknown>) => {
    while (!stopped && Date.now() < until) {
      await fn().catch(() => undefined);
      await new Promise((r) => setTimeout(r, every));
    }
  };
  const plaintext = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: mesh.p.rvIn, path: '/reviews/1', agent: false, headers: { host: 'reviews:9080' }, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
  const loops = [loop(20, () => callReviews(mesh, agent)), loop(200, plaintext), loop(300, () => tcpExchange(mesh.tcpClientPort, 100))];
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

function queries(): { file: string; query: string }[] {
  return FILES.flatMap((file) => {
    const q = dashboardQueries(JSON.parse(fs.readFileSync(path.join(DASHBOARDS, file), 'utf8')));
    return [...new Set([...q.exprs, ...q.templating.map(unwrapTemplating)])].map((query) => ({ file, query }));
  });
}

const bind = (q: string, vars: Record<string, string>): string =>
  q.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a, b, c) => vars[a ?? b ?? c] ?? whole);

test("every query of Istio's dashboards runs against Prometheus, and all but the listed ones return data", { skip }, async () => {
  const errors: string[] = [];
  const empty: string[] = [];
  const traffic = backgroundTraffic();
  // irate() needs two scrapes that saw the live traffic.
  await new Promise((r) => setTimeout(r, 3000));
  try {
    await readDashboards(errors, empty);
  } finally {
    await traffic.stop();
  }
  assert.deepEqual(errors, []);
  const unexplained = empty.filter((q) => !EXPECTED_EMPTY.some((r) => r.test(q)));
  assert.deepEqual(unexplained, [], 'queries without data and without a reason');
  const stale = EXPECTED_EMPTY.filter((r) => !empty.some((q) => r.test(q))).map((r) => r.why);
  assert.deepEqual(stale, [], 'reasons no empty query needs any more');
  console.log(`${empty.length} of ${queries().length} dashboard queries without data, all explained`);
});

async function readDashboards(errors: string[], empty: string[]): Promise<void> {
  for (const { file, query } of queries()) {
    let data = false;
    for (const vars of BINDINGS[file] ?? [{ ...COMMON, qrep: 'destination' }]) {
      const expr = bind(query, vars);
      if (/\$\w/.test(expr)) errors.push(`${file}: unbound variable in ${expr}`);
      try {
        if ((await prom.query(expr)).length) data = true;
      } catch (err) {
        errors.push(`${file}: ${(err as Error).message}`);
      }
    }
    if (!data) empty.push(`${file}: ${query.replace(/\s+/g, ' ')}`);
  }
}
