// WebSocket (HTTP/1.1 Upgrade) through two sidecars with the `ws` client and server: allowed by
// the HCM's upgrade_configs or per route, refused with 403 otherwise; messages both ways and a
// clean close; the tunnel outlives the route timeout.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import type { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startSotwProxy } from './helpers/proxy-under-test.js';
import { hcmListener, routerFilter, staticCluster } from './helpers/resources.js';

const listener = (name: string, cluster: string, hcm: object, routes: object[]) =>
  hcmListener(name, 0, {
    route_config: { name, virtual_hosts: [{ name: 'all', domains: ['*'], routes: routes.length ? routes : [{ match: { prefix: '/' }, route: { cluster } }] }] },
    http_filters: [routerFilter],
    ...hcm,
  });


function open(url: string, got: string[] = []): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    // The greeting may arrive with the 101: listen before 'open'.
    ws.on('message', (m) => got.push(m.toString()));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

describe('WebSocket through two sidecars', () => {
  const adsA = new TestAdsServer();
  const adsB = new TestAdsServer();
  let wss: WebSocketServer;
  let a: Proxy;
  let b: Proxy;

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.url}`);
      ws.on('message', (m) => ws.send(`echo:${m.toString()}`));
    });
    const port = (wss.address() as net.AddressInfo).port;
    await adsB.start();
    adsB.set('cluster', 'c1', [staticCluster('ws', [port])]);
    adsB.set('listener', 'l1', [listener('in', 'ws', { upgrade_configs: [{ upgrade_type: 'websocket' }] }, [])]);
    b = await startSotwProxy(adsB);
    await adsA.start();
    adsA.set('cluster', 'c1', [staticCluster('b', [b.listenerPort('in')!])]);
    adsA.set('listener', 'l1', [
      // No HCM-wide upgrades here: one route enables WebSocket, with a short route timeout the tunnel must outlive.
      listener('out', 'b', {}, [
        { match: { prefix: '/chat' }, route: { cluster: 'b', timeout: { nanos: 200_000_000 }, upgrade_configs: [{ upgrade_type: 'websocket' }] } },
        { match: { prefix: '/' }, route: { cluster: 'b' } },
      ]),
    ]);
    a = await startSotwProxy(adsA);
  });

  after(async () => {
    a?.destroy();
    b?.destroy();
    await adsA.stop();
    await adsB.stop();
    for (const c of wss?.clients ?? []) c.terminate();
    wss?.close();
  });

  it('carries messages both ways and closes cleanly; the tunnel outlives the route timeout', async () => {
    const got: string[] = [];
    const ws = await open(`ws://127.0.0.1:${a.listenerPort('out')}/chat`, got);
    await new Promise((r) => setTimeout(r, 400)); // past the 200 ms route timeout
    for (let i = 0; i < 100; i++) ws.send(`m${i}`);
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => got.length >= 101 && (clearInterval(t), resolve()), 10);
      setTimeout(() => (clearInterval(t), reject(new Error(`got ${got.length}: ${JSON.stringify(got.slice(0, 3))}`))), 5000);
    });
    assert.equal(got[0], 'hello /chat');
    assert.deepEqual(got.slice(1), Array.from({ length: 100 }, (_, i) => `echo:m${i}`));
    const code = await new Promise<number>((resolve) => {
      ws.once('close', (c) => resolve(c));
      ws.close(1000, 'bye');
    });
    assert.equal(code, 1000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.stats()['http.out.downstream_rq_active'], 0);
  });

  it('an upgrade that neither the route nor the HCM enables gets 403', async () => {
    await assert.rejects(open(`ws://127.0.0.1:${a.listenerPort('out')}/other`), /HTTP 403/);
  });
});
