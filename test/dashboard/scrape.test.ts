// The dashboard's embedded metrics against real sidecars (test/helpers/metrics-mesh.ts): the scrape
// loop reads their /stats/prometheus and the window's edge counts equal the requests sent, on the
// reporter Kiali would use; a fault-injected 503 shows as FI on the edge; a dead target is reported,
// not fatal. Then the control plane's own dashboard API: proxies report their telemetry port, the
// registry shows it, and the graph carries the edge. Last, the same numbers from a real Prometheus
// (Debian's package) scraping the same sidecars, through the same dashboard routes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { terminate } from '../../src/demo/terminate.js';
import { dashboardRoutes } from '../../src/controlplane/dashboard/routes.js';
import { deriveEdges, type EdgeStats } from '../../src/controlplane/observe/edges.js';
import { PrometheusSource } from '../../src/controlplane/observe/prometheus-source.js';
import { ProxyScraper } from '../../src/controlplane/observe/scraper.js';
import { freePorts, waitFor } from '../helpers/processes.js';
import { callReviews, startMetricsMesh, writeFaultVirtualService, type MetricsMesh } from '../helpers/metrics-mesh.js';

let mesh: MetricsMesh;
let deadPort: number;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const REVIEWS = 'reviews.default.svc.cluster.local';

before(async () => {
  mesh = await startMetricsMesh();
  [deadPort] = await freePorts(1);
  await waitFor('productpage reaches reviews over mTLS', async () => (await callReviews(mesh, agent)).status === 200, 20_000, mesh.procs);
});

after(async () => {
  agent.destroy();
  await mesh?.stop();
});

test('scraping real sidecars: the edge counts equal the requests sent; FI flags from the source; a dead target is reported', async () => {
  const scraper = new ProxyScraper({
    intervalMs: 60_000, // rounds are driven by the test
    targets: () => [
      { id: 'productpage', address: '127.0.0.1', port: mesh.telemetry.productpage },
      { id: 'reviews', address: '127.0.0.1', port: mesh.telemetry.reviews },
      { id: 'gone', address: '127.0.0.1', port: deadPort },
    ],
  });
  try {
    await scraper.scrapeOnce();
    const N = 20;
    for (let i = 0; i < N; i++) assert.equal((await callReviews(mesh, agent)).status, 200);
    await scraper.scrapeOnce();
    let rates = await scraper.read(300);
    let edges = deriveEdges(rates);
    const ok = edges.find((e) => e.source.workload === 'productpage-v1' && e.destination.service === REVIEWS && e.destination.version === 'v2');
    assert.ok(ok, JSON.stringify(edges));
    assert.equal(ok.reporter, 'destination', "reviews' sidecar reported the edge");
    assert.equal(Math.round(ok.requests), N);
    assert.equal(ok.successRate, 1);
    assert.ok(ok.rps > 0);
    assert.ok(ok.p50 !== null && ok.p95 !== null && ok.p99 !== null && ok.p50 <= ok.p95 && ok.p95 <= ok.p99, JSON.stringify(ok));
    assert.deepEqual(ok.flags, {});
    assert.deepEqual(Object.keys(ok.codes), ['200']);
    assert.equal(scraper.status().reviews.ok, true);
    assert.equal(scraper.status().gone.ok, false);
    assert.ok(rates.errors.some((e) => e.startsWith('scrape gone:')), rates.errors.join('\n'));

    writeFaultVirtualService(mesh);
    await waitFor('the fault reaches productpage', async () => (await callReviews(mesh, agent, { 'x-fault': 'abort' })).flags === 'FI', 10_000, mesh.procs);
    await scraper.scrapeOnce();
    const fiCount = async () => deriveEdges(await scraper.read(300)).reduce((n, e) => n + (e.flags.FI ?? 0), 0);
    const fiBefore = await fiCount();
    const M = 12;
    for (let i = 0; i < M; i++) assert.equal((await callReviews(mesh, agent, { 'x-fault': 'abort' })).status, 503);
    await scraper.scrapeOnce();
    edges = deriveEdges(await scraper.read(300));
    const fi = edges.filter((e) => e.flags.FI);
    assert.equal(fi.length, 1, JSON.stringify(edges));
    assert.equal(fi[0].source.workload, 'productpage-v1');
    assert.equal(fi[0].destination.service, REVIEWS);
    assert.equal(fi[0].reporter, 'source', 'the destination never saw these requests');
    assert.ok(fi[0].successRate !== null && fi[0].successRate < 1);
    assert.equal(Math.round((await fiCount()) - fiBefore), M, 'exactly the M fault-injected requests were added');
  } finally {
    scraper.close();
  }
});

test("the control plane's dashboard: proxies report their telemetry port, and the graph shows the edge", async () => {
  const base = `http://127.0.0.1:${mesh.p.monitor}`;
  const registry = (await (await fetch(`${base}/debug/registryz`)).json()) as { proxies: Array<{ workload: string; telemetryPort: number | null }> };
  const port = (w: string) => registry.proxies.find((p) => p.workload === w)?.telemetryPort;
  assert.equal(port('productpage-v1'), mesh.telemetry.productpage);
  assert.equal(port('reviews-v2'), mesh.telemetry.reviews);
  const proxies = (await (await fetch(`${base}/api/dashboard/proxies`)).json()) as Array<{ service: string; synced: boolean; telemetryPort: number; types: Array<{ type: string; state: string }> }>;
  assert.deepEqual(proxies.map((p) => p.service).sort(), ['productpage', 'reviews']);
  for (const p of proxies) assert.ok(p.types.some((t) => t.type === 'CDS' && t.state === 'SYNCED'), JSON.stringify(p));
  // The control plane scrapes every 5 s: keep traffic going until its graph has two scrapes of it.
  const graph = await waitFor(
    'the edge in the control plane graph',
    async () => {
      for (let i = 0; i < 5; i++) await callReviews(mesh, agent);
      const g = (await (await fetch(`${base}/api/dashboard/graph?range=60`)).json()) as { source: string; graph: { services: Array<{ name: string }>; edges: Array<{ from: string; to: string; rps: number }> } };
      return g.graph.edges.some((e) => e.from === 'default/productpage-v1' && e.to === 'default/reviews-v2' && e.rps > 0) && g;
    },
    30_000,
    mesh.procs,
  );
  assert.equal(graph.source, 'embedded');
  assert.deepEqual(graph.graph.services.map((s) => s.name).sort(), ['productpage', 'reviews']);
  const html = await fetch(`${base}/dashboard`);
  assert.equal(html.status, 200);
  assert.match(await html.text(), /<title>Weft dashboard<\/title>/);
  const svc = (await (await fetch(`${base}/api/dashboard/service?name=reviews&namespace=default`)).json()) as {
    hostname: string;
    endpoints: Array<{ version: string; registration: string }>;
    routes: Array<{ name: string }>;
    clusters: Array<{ cluster: string; callers: number; total: number; minHealthy: number; ejectionsActive: number }>;
  };
  // Both sidecars (each has every service's clusters) hold one healthy reviews host, none ejected:
  // their Envoy-style gauges, as the control plane scraped them.
  assert.deepEqual(
    svc.clusters.find((c) => c.cluster === `outbound|9080||${REVIEWS}`),
    { cluster: `outbound|9080||${REVIEWS}`, subset: '', callers: 2, total: 1, minHealthy: 1, ejectionsActive: 0, ejectedBy: [] },
    JSON.stringify(svc.clusters),
  );
  assert.equal(svc.hostname, REVIEWS);
  assert.deepEqual(svc.endpoints.map((e) => [e.version, e.registration]), [['v2', 'connected']]);
  assert.ok(svc.routes.some((r) => r.name === 'default/reviews-fault'), 'the fault VirtualService written by the first test');
  assert.equal((await fetch(`${base}/api/dashboard/service?name=nope`)).status, 404);
  assert.equal((await fetch(`${base}/dashboard`, { method: 'POST' })).status, 405);
});

const PROMETHEUS = '/usr/bin/prometheus';
const noPrometheus = !fs.existsSync(PROMETHEUS) && !process.env.CI ? `no ${PROMETHEUS} (Debian's prometheus package)` : false;

test('a real Prometheus as the source: the same edges, rates and flags through the same routes', { skip: noPrometheus, timeout: 90_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-prom-'));
  const [promPort, routesPort] = await freePorts(2);
  const targets = [mesh.telemetry.productpage, mesh.telemetry.reviews].map((p) => `'127.0.0.1:${p}'`).join(', ');
  fs.writeFileSync(
    path.join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: weft-sidecars\n    metrics_path: /stats/prometheus\n    static_configs: [{ targets: [${targets}] }]\n`,
  );
  const prom = spawn(PROMETHEUS, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let promLog = '';
  prom.stderr!.on('data', (b: Buffer) => (promLog = (promLog + b.toString()).slice(-4000)));
  const server = http.createServer();
  try {
    const url = `http://127.0.0.1:${promPort}`;
    await waitFor('Prometheus scraping both sidecars', async () => {
      const r = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent('sum(up{job="weft-sidecars"})')}`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
      return r.data.result[0]?.value[1] === '2';
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${promLog}`);
    });
    // Bounded traffic: 40 good requests and 10 fault-injected ones, spread over a few scrapes.
    for (let i = 0; i < 40; i++) {
      assert.equal((await callReviews(mesh, agent)).status, 200);
      if (i % 4 === 0) assert.equal((await callReviews(mesh, agent, { 'x-fault': 'abort' })).status, 503);
      await new Promise((r) => setTimeout(r, 100));
    }
    const source = new PrometheusSource(url);
    const edges = await waitFor('Prometheus has the edges', async () => {
      const r = await source.read(30);
      assert.deepEqual(r.errors, []);
      const es = deriveEdges(r);
      const ok = es.find((e) => e.source.workload === 'productpage-v1' && e.destination.version === 'v2' && e.reporter === 'destination');
      const fi = es.find((e) => e.flags.FI);
      // Until Prometheus has scraped the last of them.
      return ok && fi && ok.p99 !== null && ok.requests >= 39.5 && fi.flags.FI >= 9.5 && ([ok, fi] as const);
    }, 20_000);
    const [ok, fi]: readonly [EdgeStats, EdgeStats] = edges;
    assert.equal(ok.successRate, 1);
    assert.ok(ok.rps > 0 && ok.p50 !== null && ok.p50 <= ok.p99!, JSON.stringify(ok));
    assert.equal(fi.reporter, 'source');
    assert.equal(fi.source.workload, 'productpage-v1');
    assert.equal(fi.successRate, 0, 'every request on the FI edge was a 503');
    t.diagnostic(`Prometheus over 30 s: ${ok.requests.toFixed(1)} good requests (40 sent), ${fi.flags.FI.toFixed(1)} FI (10 sent); p50/p99 ${ok.p50}/${ok.p99} ms`);
    // rate() extrapolates towards the range's edges, so its counts run above what was sent (13 % and
    // 18 % here on one run), never by half.
    assert.ok(ok.requests <= 40 * 1.5, `good requests ≈ 40: ${ok.requests}`);
    assert.ok(fi.flags.FI <= 10 * 1.5, `FI requests ≈ 10: ${fi.flags.FI}`);

    // The same routes the control plane serves, with Prometheus behind them.
    const handler = dashboardRoutes({ metrics: source, snapshot: () => undefined, proxies: () => [], registered: () => [], configz: () => ({}) });
    server.on('request', (req, res) => {
      const [p, q = ''] = (req.url ?? '/').split('?');
      if (!handler(req, res, p, q)) res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(routesPort, '127.0.0.1', r));
    const g = (await (await fetch(`http://127.0.0.1:${routesPort}/api/dashboard/graph?range=30`)).json()) as { source: string; graph: { edges: Array<{ from: string; to: string }> } };
    assert.equal(g.source, 'prometheus');
    assert.ok(g.graph.edges.some((e) => e.from === 'default/productpage-v1' && e.to === 'default/reviews-v2'), JSON.stringify(g.graph.edges));
  } finally {
    server.close();
    await terminate(prom, 3000);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
