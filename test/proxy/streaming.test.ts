// Bodies through the proxy's own HTTP/1.1 server and client, over real sockets: large uploads
// and downloads stream both ways with backpressure, 100-continue, HEAD, chunked in and out,
// pipelining, and a client that leaves mid-response abandons the upstream request.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startProxyUnderTest } from './helpers/proxy-under-test.js';
import { eventually, request, staticCluster } from './helpers/resources.js';

const MiB = 1024 * 1024;

describe('streaming through the proxy', () => {
  const ads = new TestAdsServer();
  let proxy: Proxy;
  let port: number;
  let upstreamClosedEarly = 0;
  const upstream = http.createServer((req, res) => {
    if (req.url === '/upload') {
      // Read slowly-ish: count the bytes, answer with the total.
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`got ${n} te=${req.headers['transfer-encoding'] ?? ''} cl=${req.headers['content-length'] ?? ''}`));
      return;
    }
    if (req.url === '/download') {
      // 8 MiB without a length: chunked from upstream, written with backpressure.
      let left = 8;
      const block = Buffer.alloc(MiB, 'd');
      const pump = () => {
        while (left > 0) {
          left--;
          if (!res.write(block)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    if (req.url === '/endless') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('tick\n'), 5);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosedEarly++;
      });
      return;
    }
    res.writeHead(200, { 'content-length': 2, 'x-path': req.url ?? '' });
    res.end('ok');
  });

  before(async () => {
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upPort = (upstream.address() as AddressInfo).port;
    ({ proxy, port } = await startProxyUnderTest(ads, {
      clusters: [staticCluster('app', [upPort])],
      routes: { name: 'out', virtual_hosts: [{ name: 'app', domains: ['app'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] },
      readyHost: 'app',
    }));
  });

  after(async () => {
    proxy?.destroy();
    await ads.stop();
    upstream.closeAllConnections();
    upstream.close();
  });

  function upload(headers: Record<string, string>, chunks: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', headers: { host: 'app', ...headers } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      const block = Buffer.alloc(MiB, 'u');
      let left = chunks;
      const pump = () => {
        while (left > 0) {
          left--;
          if (!req.write(block)) return void req.once('drain', pump);
        }
        req.end();
      };
      if (headers.expect) req.on('continue', pump);
      else pump();
    });
  }

  it('streams a large chunked upload to the upstream as chunked', async () => {
    assert.equal(await upload({}, 8), `got ${8 * MiB} te=chunked cl=`);
  });

  it('streams a large upload with content-length, after 100-continue', async () => {
    assert.equal(await upload({ 'content-length': String(4 * MiB), expect: '100-continue' }, 4), `got ${4 * MiB} te= cl=${4 * MiB}`);
  });

  it('streams a large download to a slow reader', async () => {
    const total = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/download', headers: { host: 'app' } }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => {
            n += c.length;
            // Pause now and then so the proxy has to hold the upstream back.
            res.pause();
            setImmediate(() => res.resume());
          });
          res.on('end', () => resolve(n));
        })
        .on('error', reject);
    });
    assert.equal(total, 8 * MiB);
  });

  it('answers HEAD without a body and keeps the connection usable', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const head = await request(port, { host: 'app', method: 'HEAD', path: '/h', agent });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const next = await request(port, { host: 'app', path: '/after', agent });
    assert.equal(next.headers['x-path'], '/after');
    agent.destroy();
  });

  it('serves pipelined requests in order', async () => {
    const socket = net.connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.end(['/p1', '/p2', '/p3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: app\r\n\r\n`).join(''));
    await closed;
    assert.deepEqual(
      [...raw.matchAll(/x-path: (\S+)/g)].map((m) => m[1]),
      ['/p1', '/p2', '/p3'],
    );
  });

  it('a client that leaves mid-response abandons the upstream request', async () => {
    const before = upstreamClosedEarly;
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/endless', headers: { host: 'app' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.on('timeout', reject);
    });
    await eventually(() => upstreamClosedEarly > before, 5000, 'the upstream request to be closed');
  });
});
