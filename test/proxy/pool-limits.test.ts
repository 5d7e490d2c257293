// The HTTP/1.1 pools under a cluster's circuit-breaker resources, against real sockets: the
// cluster-wide connection limit, pending-request overflow, a pool without connections always
// opening one (as Envoy does), and every counter back at zero once the exchanges end.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http1Pool, PENDING_OVERFLOW } from '../../src/proxy/http1/client.js';
import { Http2Pool } from '../../src/proxy/http2/client.js';
import type { ExchangeHandler, UpstreamPool } from '../../src/proxy/upstream/pool.js';
import { ClusterResources, type OverflowStats } from '../../src/proxy/upstream/circuit-breaker.js';
import { defaultCircuitBreakers } from '../../src/proxy/xds/validate-resilience.js';

type Result = { status: number } | { error: string };

function send(pool: UpstreamPool): Promise<Result> {
  return new Promise((resolve) => {
    const handler: ExchangeHandler = {
      onResponse: (status) => resolve({ status }),
      onData: () => {},
      onEnd: () => {},
      onError: (err) => resolve({ error: err.code ?? err.message }),
    };
    pool.request({ method: 'GET', path: '/', headers: {}, body: undefined }, handler);
  });
}

describe('pools under circuit-breaker resources', () => {
  let server: http.Server;
  let port: number;
  const sockets = new Set<number>();

  before(async () => {
    server = http.createServer((req, res) => {
      sockets.add(req.socket.remotePort!);
      res.writeHead(200, { 'content-length': 0 });
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const stats = (): OverflowStats => ({ upstream_cx_overflow: 0, upstream_rq_pending_overflow: 0, upstream_rq_retry_overflow: 0 });
  const pool = (resources: ClusterResources, extra: { maxRequestsPerConnection?: number } = {}) =>
    new Http1Pool({ ip: '127.0.0.1', port, authority: `127.0.0.1:${port}`, maxConnections: Infinity, connectTimeoutMs: 1000, idleTimeoutMs: 30_000, resources, ...extra });

  it('max_connections 1, max_pending_requests 1: a request waits for the busy connection, the next overflows', async () => {
    const s = stats();
    const res = new ClusterResources({ ...defaultCircuitBreakers, maxConnections: 1, maxPendingRequests: 1 }, s);
    const p = pool(res);
    assert.deepEqual(await send(p), { status: 200 }, 'the connection is up and idle');
    const results = await Promise.all([send(p), send(p), send(p)]);
    assert.deepEqual(results, [{ status: 200 }, { status: 200 }, { error: PENDING_OVERFLOW }]);
    assert.equal(s.upstream_rq_pending_overflow, 1);
    assert.equal(s.upstream_cx_overflow, 1, 'the waiting request wanted a second connection');
    assert.equal(res.connections, 1, 'one connection, reused');
    assert.equal(res.pending.count, 0, 'no pending slot leaked');
    p.destroy();
    assert.equal(res.connections, 0, 'closing the pool gives the connection back');
  });

  it('a request is pending while its connection is being set up', async () => {
    const res = new ClusterResources({ ...defaultCircuitBreakers, maxPendingRequests: 1 }, stats());
    const p = pool(res);
    const results = await Promise.all([send(p), send(p)]);
    assert.deepEqual(results, [{ status: 200 }, { error: PENDING_OVERFLOW }]);
    p.destroy();
  });

  it('a pool without connections opens one even when other pools hold the cluster limit', async () => {
    const s = stats();
    const res = new ClusterResources({ ...defaultCircuitBreakers, maxConnections: 1 }, s);
    const [a, b] = [pool(res), pool(res)];
    assert.deepEqual(await send(a), { status: 200 });
    assert.deepEqual(await send(b), { status: 200 }, 'not stuck behind the connection pool a holds');
    assert.equal(res.connections, 2);
    a.destroy();
    b.destroy();
    assert.equal(res.connections, 0);
  });

  it('max_requests_per_connection closes a connection after that many requests', async () => {
    sockets.clear();
    const res = new ClusterResources(defaultCircuitBreakers, stats());
    const p = pool(res, { maxRequestsPerConnection: 3 });
    for (let i = 0; i < 6; i++) assert.deepEqual(await send(p), { status: 200 });
    assert.equal(sockets.size, 2);
    p.destroy();
  });

  it('HTTP/2: a request waiting for stream room holds a pending slot; one with room does not', async () => {
    const h2 = http2.createServer((_req, res) => {
      res.writeHead(200);
      res.end();
    });
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    const h2port = (h2.address() as AddressInfo).port;
    const s = stats();
    const res = new ClusterResources({ ...defaultCircuitBreakers, maxPendingRequests: 1 }, s);
    const p = new Http2Pool({ ip: '127.0.0.1', port: h2port, authority: `127.0.0.1:${h2port}`, maxConnections: 1, connectTimeoutMs: 1000, idleTimeoutMs: 30_000, resources: res });
    try {
      assert.deepEqual(await Promise.all([send(p), send(p)]), [{ status: 200 }, { error: PENDING_OVERFLOW }], 'the second waits behind the connecting session: overflow');
      const many = await Promise.all(Array.from({ length: 5 }, () => send(p)));
      assert.deepEqual(many, Array(5).fill({ status: 200 }), 'with a session up, streams do not wait');
      assert.equal(s.upstream_rq_pending_overflow, 1);
      assert.equal(res.pending.count, 0);
    } finally {
      p.destroy();
      await new Promise<void>((r) => h2.close(() => r()));
    }
  });
});
