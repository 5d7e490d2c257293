// The dashboard's routes on their own (table data in, JSON out): a NACKed proxy shows its state and
// message, several pages polling share one metrics read per range and second, ranges are limited to
// the ones offered, and the views are read-only.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { dashboardRoutes } from '../../src/controlplane/dashboard/routes.js';
import type { MeshRates, MetricsSource } from '../../src/controlplane/observe/edges.js';
import type { ProxyStatus } from '../../src/controlplane/xds/server.js';

const t = (sent: string, acked: string, nack?: string) => ({ sent, acked, nack: nack ? { version: nack, message: 'cluster outbound|9080||reviews: lb_policy: MAGLEV is not supported', at: 'now' } : null, sentAt: null, ackedAt: null, resources: 1 });
const proxy: ProxyStatus = {
  id: 'sidecar~127.0.0.1~reviews-1.default~default.svc.cluster.local', service: 'reviews', namespace: 'default', address: '127.0.0.1', labels: { version: 'v2' }, protocol: 'sotw', connectedAt: 'now',
  types: { cluster: t('c2', 'c1', 'c2'), listener: t('l', 'l'), endpoint: t('e', 'e'), route: t('r', 'r') },
};

const reads: number[] = [];
const metrics: MetricsSource = {
  kind: 'embedded',
  read: async (rangeSeconds: number): Promise<MeshRates> => {
    reads.push(rangeSeconds);
    return { source: 'embedded', rangeSeconds, requests: [], latency: [], clusters: [], errors: [] };
  },
  close: () => {},
};

let server: http.Server;
let base: string;
before(async () => {
  const handler = dashboardRoutes({ metrics, snapshot: () => undefined, proxies: () => [proxy], registered: () => [], configz: () => ({ version: 3, files: {}, errors: [], skipped: [] }) });
  server = http.createServer((req, res) => {
    const [p, q = ''] = (req.url ?? '/').split('?');
    if (!handler(req, res, p, q)) res.writeHead(418).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => server.close());

test('a NACKed proxy: its state per type and the NACK message', async () => {
  const [p] = (await (await fetch(`${base}/api/dashboard/proxies`)).json()) as Array<{ synced: boolean; version: string; types: Array<{ type: string; state: string; nack: { message: string } | null }> }>;
  assert.equal(p.synced, false);
  assert.equal(p.version, 'v2');
  assert.deepEqual(p.types.map((x) => [x.type, x.state]), [['CDS', 'NACKED'], ['LDS', 'SYNCED'], ['EDS', 'SYNCED'], ['RDS', 'SYNCED'], ['VHDS', 'N/A']]);
  assert.match(p.types[0].nack!.message, /MAGLEV is not supported/);
});

test('one metrics read per range and second, however many pages poll; unknown ranges fall back to 60 s', async () => {
  reads.length = 0;
  await Promise.all([1, 2, 3].map(() => fetch(`${base}/api/dashboard/graph?range=30`).then((r) => r.json())));
  await fetch(`${base}/api/dashboard/graph?range=99999`).then((r) => r.json());
  assert.deepEqual(reads, [30, 60]);
});

test('pages and script are served; the rest is read-only and named', async () => {
  const page = await fetch(`${base}/dashboard`);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /src="\/dashboard\/app\.js"/);
  assert.match(await (await fetch(`${base}/dashboard/app.js`)).text(), /textContent/);
  assert.equal((await fetch(`${base}/api/dashboard/graph`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${base}/api/dashboard/nope`)).status, 404);
  assert.equal((await fetch(`${base}/api/dashboard/service?name=reviews`)).status, 404, 'no snapshot yet: no service');
  assert.equal((await fetch(`${base}/other`)).status, 418, 'paths outside the dashboard are left to the monitor');
  assert.deepEqual(await (await fetch(`${base}/api/dashboard/config`)).json(), { version: 3, files: {}, errors: [], skipped: [] });
});
