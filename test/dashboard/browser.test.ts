// The dashboard in a real headless browser (Debian's chromium driven by playwright-core) against
// `weft demo`: a real control plane, six sidecars and live traffic. The page loads, the graph shows
// the demo's services and edges, the numbers change between two reads, the proxies, a service and
// the config views render, and a screenshot is saved as docs/dashboard.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { repoRoot, spawnWeft, waitFor } from '../helpers/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SERVICES = ['details', 'loadgen', 'productpage', 'ratings', 'reviews'];

interface GraphJson {
  graph: { services: Array<{ name: string }>; edges: Array<{ from: string; to: string; rps: number }> };
}

const skip = !fs.existsSync(CHROMIUM) && !process.env.CI ? `no ${CHROMIUM} (Debian's chromium package); CI would fail here` : false;
if (skip) console.log(`# skipping the dashboard browser test: ${skip}`);

test('the dashboard in headless chromium: graph of the demo, live numbers, proxies, a service, config; screenshot', { skip, timeout: 150_000 }, async () => {
  // Below both the kernel's ephemeral range and freePorts' range (see helpers/processes.ts), as the demo test does.
  const base = 10_000 + 100 * Math.floor(Math.random() * 95);
  const demo = spawnWeft('demo', ['demo', '--base-port', String(base), '--duration', '110', '--rps', '30', '--no-auto-split']);
  const url = `http://127.0.0.1:${base + 1}/dashboard`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-chromium-'));
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    assert.match(await waitFor('the demo prints the dashboard URL', async () => demo.output().includes(url) && demo.output(), 30_000, [demo]), new RegExp(url.replace(/\./g, '\\.')));
    // Every bookinfo edge has traffic in the control plane's own scrapes before the browser looks.
    await waitFor(
      'every demo edge in the graph',
      async () => {
        const g = (await (await fetch(`http://127.0.0.1:${base + 1}/api/dashboard/graph`)).json()) as GraphJson;
        const has = (from: string, to: string) => g.graph.edges.some((e) => e.from.startsWith(`default/${from}`) && e.to.startsWith(`default/${to}`) && e.rps > 0);
        return has('loadgen', 'productpage') && has('productpage', 'details') && has('productpage', 'reviews') && has('reviews', 'ratings');
      },
      60_000,
      [demo],
    );
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, viewport: { width: 1560, height: 760 } });
    const page = context.pages()[0] ?? (await context.newPage());
    const failures: string[] = [];
    page.on('pageerror', (err) => failures.push(err.message));
    await page.goto(url);
    await page.waitForSelector('svg#graph-svg g.svc[data-service="ratings"]');
    const services = await page.$$eval('svg#graph-svg g.svc', (gs) => gs.map((g) => g.getAttribute('data-service')));
    assert.deepEqual([...services].sort(), SERVICES);
    const workloads = await page.$$eval('svg#graph-svg g.wl', (gs) => gs.map((g) => g.getAttribute('data-workload')));
    for (const w of ['productpage-v1', 'details-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'ratings-v1', 'loadgen-v1']) assert.ok(workloads.includes(w), `${w} in ${workloads}`);
    const edgePaths = await page.$$eval('svg#graph-svg path.edge', (ps) => ps.length);
    assert.ok(edgePaths >= 6, `edges drawn: ${edgePaths}`);
    // The table under the graph: each edge's numbers; read twice, a scrape (5 s) apart.
    const readTable = () => page.$$eval('main table tbody tr[data-edge]', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '').join(' | ')).sort().join('\n'));
    const first = await readTable();
    assert.match(first, /productpage-v1 \| reviews \| v\d/);
    assert.match(first, /reviews-v[23] \| ratings \| v1/);
    const second = await waitFor('the numbers to change', async () => {
      const t = await readTable();
      return t !== first && t;
    }, 20_000, [demo]);
    assert.notEqual(second, first);
    const updated = await page.getAttribute('main', 'data-updated');
    assert.ok(Number(updated) > 0);
    fs.mkdirSync(path.join(repoRoot, 'docs'), { recursive: true });
    await page.screenshot({ path: path.join(repoRoot, 'docs/dashboard.png'), fullPage: true });

    await page.click('nav a[href="#proxies"]');
    await page.waitForSelector('main tr[data-proxy]');
    const proxyRows = await page.$$eval('main tr[data-proxy]', (rows) => rows.map((r) => r.textContent ?? ''));
    assert.equal(proxyRows.length, 7, proxyRows.join('\n'));
    for (const r of proxyRows) assert.match(r, /SYNCED/);

    await page.goto(`${url}#service/default/reviews`);
    await page.waitForSelector('main h2:has-text("Service reviews")');
    const serviceText = (await page.textContent('main')) ?? '';
    for (const v of ['v1', 'v2', 'v3']) assert.match(serviceText, new RegExp(`\\b${v}\\b`));
    assert.match(serviceText, /connected/);
    assert.match(serviceText, /DestinationRule|default\/reviews/);

    await page.click('nav a[href="#config"]');
    await page.waitForSelector('main h2:has-text("Active config")');
    assert.match((await page.textContent('main')) ?? '', /destination-rules\.yaml/);
    assert.deepEqual(failures, [], 'no script errors on the page');
  } finally {
    await context?.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
    await demo.stop();
  }
});
