// HTTP/2 (h2c) and HTTP/1.1 on either side of one sidecar: the codec is chosen per connection on
// the first bytes (HCM codec_type AUTO) and per cluster upstream (HttpProtocolOptions), bodies and
// headers cross in both directions, and a cluster can follow the downstream's protocol.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../src/api/envoy.js';
import type { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startProxyUnderTest } from './helpers/proxy-under-test.js';
import { request, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';

const protocolOptions = (config: object) => ({ [HTTP_PROTOCOL_OPTIONS_KEY]: { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL, ...config } });
const vhost = (name: string, cluster: string) => ({ name, domains: [name], routes: [{ match: { prefix: '/' }, route: { cluster } }] });

function h2Request(port: number, o: { authority: string; path?: string; method?: string; body?: string }): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const c = http2.connect(`http://127.0.0.1:${port}`);
    c.on('error', reject);
    const r = c.request({ ':path': o.path ?? '/', ':method': o.method ?? 'GET', ':authority': o.authority }, { endStream: o.body === undefined });
    let headers: http2.IncomingHttpHeaders = {};
    let body = '';
    r.on('response', (h) => (headers = h));
    r.on('data', (d: Buffer) => (body += d.toString()));
    r.on('end', () => {
      c.close();
      resolve({ status: Number(headers[':status']), headers, body });
    });
    r.on('error', reject);
    if (o.body !== undefined) r.end(o.body);
  });
}

describe('HTTP/2 and HTTP/1.1 through one sidecar', () => {
  const ads = new TestAdsServer();
  let h1: Upstream;
  let h2server: http2.Http2Server;
  let h2port = 0;
  let proxy: Proxy;
  let port = 0;

  before(async () => {
    h1 = await startUpstream('h1');
    h2server = http2.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'h2' });
        res.end(JSON.stringify({ upstream: 'h2', version: req.httpVersion, method: req.method, path: req.url, body, authority: req.headers[':authority'] }));
      });
    });
    await new Promise<void>((r) => h2server.listen(0, '127.0.0.1', r));
    h2port = (h2server.address() as net.AddressInfo).port;
    ({ proxy, port } = await startProxyUnderTest(ads, {
      clusters: [
        staticCluster('h1', [h1.port]),
        staticCluster('h2', [h2port], { typed_extension_protocol_options: protocolOptions({ explicit_http_config: { http2_protocol_options: {} } }) }),
        staticCluster('same', [h2port], { typed_extension_protocol_options: protocolOptions({ use_downstream_protocol_config: {} }) }),
      ],
      routes: { name: 'out', virtual_hosts: [vhost('h1', 'h1'), vhost('h2', 'h2'), vhost('same', 'same')] },
      readyHost: 'h1',
    }));
  });

  after(async () => {
    proxy?.destroy();
    await ads.stop();
    await h1?.close();
    h2server?.close();
  });

  it('HTTP/2 client → HTTP/1.1 upstream, with a request body', async () => {
    const r = await h2Request(port, { authority: 'h1', path: '/up?q=1', method: 'POST', body: 'from h2' });
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body);
    assert.equal(echo.upstream, 'h1');
    assert.equal(echo.url, '/up?q=1');
    assert.equal(echo.body, 'from h2');
    assert.equal(echo.headers.host, 'h1');
    assert.equal(r.headers['x-weft-upstream-cluster'], 'h1');
  });

  it('HTTP/1.1 client → HTTP/2 upstream, with a request body', async () => {
    const r = await request(port, { host: 'h2', path: '/x', method: 'PUT', body: 'from h1' });
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body);
    assert.deepEqual([echo.upstream, echo.version, echo.method, echo.path, echo.body, echo.authority], ['h2', '2.0', 'PUT', '/x', 'from h1', 'h2']);
  });

  it('HTTP/2 on both sides, and a cluster that follows the downstream protocol', async () => {
    const both = JSON.parse((await h2Request(port, { authority: 'h2', path: '/both' })).body);
    assert.equal(both.version, '2.0');
    const followH2 = JSON.parse((await h2Request(port, { authority: 'same', path: '/f' })).body);
    assert.equal(followH2.version, '2.0');
    // An HTTP/1.1 caller of `same` speaks HTTP/1.1 upstream: the h2c-only server refuses it (502/503).
    const followH1 = await request(port, { host: 'same', path: '/f' });
    assert.ok(followH1.status === 503 || followH1.status === 502, `status ${followH1.status}`);
  });

  it('local replies over HTTP/2 (no route)', async () => {
    const r = await h2Request(port, { authority: 'nowhere' });
    assert.equal(r.status, 404);
    assert.equal(r.headers['x-weft-reason'], 'NR no_route');
  });
});

describe('HTTP/2 pool limits', () => {
  it('max_concurrent_streams caps the streams this side opens on a session; the rest wait their turn', async () => {
    let active = 0;
    let peak = 0;
    const sessions = new Set<unknown>();
    const server = http2.createServer((req, res) => {
      sessions.add(req.stream.session);
      active++;
      peak = Math.max(peak, active);
      setTimeout(() => {
        active--;
        res.end('ok');
      }, 50);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { Http2Pool } = await import('../../src/proxy/http2/client.js');
    const pool = new Http2Pool({ ip: '127.0.0.1', port: (server.address() as net.AddressInfo).port, authority: 'x', maxConnections: 1, connectTimeoutMs: 1000, idleTimeoutMs: 10_000, maxConcurrentStreams: 2 });
    try {
      const one = () =>
        new Promise<number>((resolve, reject) => {
          let status = 0;
          pool.request({ method: 'GET', path: '/', headers: { host: 'x' }, body: undefined }, {
            onResponse: (s) => (status = s),
            onData: () => {},
            onEnd: () => resolve(status),
            onError: reject,
          });
        });
      const statuses = await Promise.all(Array.from({ length: 6 }, one));
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
      assert.equal(peak, 2);
      assert.equal(sessions.size, 1);
    } finally {
      pool.destroy();
      server.close();
    }
  });
});
