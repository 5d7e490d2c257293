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
/** A body much larger than what the kernel buffers on two loopback connections (autotuned: 1–21 MiB
 * in all, measured here under load), so that only backpressure keeps the proxy from reading it all
 * ahead of a slow reader; without backpressure nearly the whole body is in flight. */
const FIREHOSE_BYTES = 128 * MiB;
const FIREHOSE_BLOCK = Buffer.alloc(256 * 1024, 'f');
const IN_FLIGHT_BOUND = 48 * MiB;

/** Pause for a timer tick every other chunk: a reader far slower than loopback. */
function readSlowly(stream: NodeJS.ReadableStream, onChunk: (c: Buffer) => void): void {
  let n = 0;
  stream.on('data', (c: Buffer) => {
    onChunk(c);
    if (++n % 2) return;
    stream.pause();
    setTimeout(() => stream.resume(), 1);
  });
}

/** Write `bytes` (a multiple of the block) as fast as the socket takes them (waiting only for its own drain), then end. */
function writeFast(out: NodeJS.WritableStream, bytes: number, block = FIREHOSE_BLOCK): void {
  let left = bytes / block.length;
  const pump = () => {
    while (left > 0) {
      left--;
      if (!out.write(block)) return void out.once('drain', pump);
    }
    out.end();
  };
  pump();
}

describe('streaming through the proxy', () => {
  const ads = new TestAdsServer();
  let proxy: Proxy;
  let port: number;
  let upstreamClosedEarly = 0;
  let firehose: net.Socket | undefined;
  let onSlowUpload: ((upstreamSide: net.Socket) => void) | undefined;
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
      writeFast(res, 8 * MiB, Buffer.alloc(MiB, 'd'));
      return;
    }
    if (req.url === '/firehose') {
      // As fast as the proxy takes it: a writer that waits only for its own socket's drain.
      firehose = res.socket!;
      res.writeHead(200, { 'content-length': FIREHOSE_BYTES });
      writeFast(res, FIREHOSE_BYTES);
      return;
    }
    if (req.url === '/slow-upload') {
      let n = 0;
      readSlowly(req, (c) => {
        n += c.length;
        onSlowUpload?.(req.socket);
      });
      req.on('end', () => res.end(`got ${n}`));
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
      const pump = () => writeFast(req, chunks * MiB, Buffer.alloc(MiB, 'u'));
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

  it('backpressure: a slow reader holds a fast upstream back (bytes in flight stay bounded)', async () => {
    firehose = undefined;
    let maxInFlight = 0;
    const total = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/firehose', headers: { host: 'app' }, agent: false }, (res) => {
          const client = res.socket;
          let n = 0;
          readSlowly(res, (c) => {
            n += c.length;
            // Socket-level counters on both ends: what the upstream handed to its kernel and what
            // the client took from its own. The difference is what the proxy (and the kernel) hold.
            maxInFlight = Math.max(maxInFlight, firehose!.bytesWritten - client.bytesRead);
          });
          res.on('end', () => resolve(n));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    assert.equal(total, FIREHOSE_BYTES);
    console.log(`# backpressure: at most ${(maxInFlight / MiB).toFixed(1)} MiB between upstream and client`);
    assert.ok(maxInFlight < IN_FLIGHT_BOUND, `the proxy read ${(maxInFlight / MiB).toFixed(1)} MiB ahead of its client`);
  });

  it('backpressure: a slow upstream reader holds a fast uploader back (bytes in flight stay bounded)', async () => {
    let maxInFlight = 0;
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: '/slow-upload', method: 'POST', headers: { host: 'app', 'content-length': String(FIREHOSE_BYTES) }, agent: false },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.on('socket', (client) => {
        onSlowUpload = (upstreamSide) => (maxInFlight = Math.max(maxInFlight, client.bytesWritten - upstreamSide.bytesRead));
      });
      writeFast(req, FIREHOSE_BYTES);
    });
    onSlowUpload = undefined;
    assert.equal(body, `got ${FIREHOSE_BYTES}`);
    console.log(`# upload backpressure: at most ${(maxInFlight / MiB).toFixed(1)} MiB between client and upstream`);
    assert.ok(maxInFlight < IN_FLIGHT_BOUND, `the proxy read ${(maxInFlight / MiB).toFixed(1)} MiB of the upload ahead of its upstream`);
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
