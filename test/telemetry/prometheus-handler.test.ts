// /stats/prometheus on a real telemetry server: the proxy's text, an app's metrics merged after it
// (Istio's prometheus.io merge), the app's failure counted without losing the proxy's metrics,
// handlers tried in turn, other paths and methods refused.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { prometheusHandler } from '../../src/proxy/telemetry/prometheus-handler.js';
import { TelemetryServer } from '../../src/proxy/telemetry/telemetry-server.js';
import { parseExposition, sumOf } from '../helpers/prom-text.js';

let app: http.Server;
let appPort = 0;
let appStatus = 200;
const servers: TelemetryServer[] = [];

before(async () => {
  app = http.createServer((req, res) => {
    if (req.url !== '/app/metrics') return res.writeHead(404).end();
    res.writeHead(appStatus, { 'content-type': 'text/plain' }).end('# TYPE app_orders_total counter\napp_orders_total 7');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as { port: number }).port;
});

after(async () => {
  for (const s of servers) await s.close();
  app.close();
});

async function serve(withApp: boolean): Promise<number> {
  const s = new TelemetryServer();
  // A sibling handler (as probe forwarding would be) mounted first: it declines what is not its own.
  s.mount((req, res) => (req.url === '/app-health/x/livez' ? (res.end('ok'), true) : false));
  s.mount(prometheusHandler({ render: (out) => out.push('# TYPE weft_test_total counter\nweft_test_total 1\n'), ...(withApp ? { appMetrics: { port: appPort, path: '/app/metrics' } } : {}) }));
  await s.listen('127.0.0.1', 0);
  servers.push(s);
  return s.port;
}

test("the app's metrics are appended after the proxy's; a failed app scrape is counted and the proxy's still served", async () => {
  const port = await serve(true);
  const url = `http://127.0.0.1:${port}/stats/prometheus`;
  // OpenMetrics is not offered when merging: the app's text is 0.0.4.
  const res = await fetch(url, { headers: { accept: 'application/openmetrics-text' } });
  assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  const s = parseExposition(await res.text());
  assert.equal(sumOf(s, 'weft_test_total', {}), 1);
  assert.equal(sumOf(s, 'app_orders_total', {}), 7);
  assert.equal(sumOf(s, 'weft_agent_scrape_failures_total', {}), 0);
  appStatus = 500;
  const failed = parseExposition(await (await fetch(url)).text());
  appStatus = 200;
  assert.equal(sumOf(failed, 'weft_test_total', {}), 1);
  assert.equal(failed.some((x) => x.name === 'app_orders_total'), false);
  assert.equal(sumOf(failed, 'weft_agent_scrape_failures_total', {}), 1);
});

test('handlers are tried in turn; unknown paths are 404 and writes 405', async () => {
  const port = await serve(false);
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/app-health/x/livez`)).text(), 'ok');
  assert.equal((await fetch(`http://127.0.0.1:${port}/quitquitquit`, { method: 'POST' })).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${port}/stats/prometheus`, { method: 'POST' })).status, 405);
  const om = await fetch(`http://127.0.0.1:${port}/stats/prometheus`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.match(om.headers.get('content-type') ?? '', /^application\/openmetrics-text/);
  assert.ok((await om.text()).endsWith('# EOF\n'));
});
