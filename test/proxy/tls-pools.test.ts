// The HTTP/1.1 and HTTP/2 upstream pools over the TLS connector, against real Node TLS servers with
// an openssl-made SPIFFE certificate: each pool offers its codec's ALPN (http/1.1, h2), requests go
// through, and the exchange reports the server's identity and TLS version before its response
// (what StreamInfo records). A server offering only the other protocol fails the handshake typed.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http1Pool } from '../../src/proxy/http1/client.js';
import { Http2Pool } from '../../src/proxy/http2/client.js';
import { SecretStore } from '../../src/proxy/tls/secret-store.js';
import { createConnector, UPSTREAM_TLS_ERROR, type Connector, type UpstreamTlsInfo } from '../../src/proxy/upstream/connector.js';
import type { UpstreamPool } from '../../src/proxy/upstream/pool.js';
import { createTestCa, type Leaf, type TestCa } from '../helpers/certs.js';

interface Outcome {
  status?: number;
  body: string;
  tls?: UpstreamTlsInfo;
  error?: NodeJS.ErrnoException;
}

function get(pool: UpstreamPool, path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: '' };
    pool.request(
      { method: 'GET', path, headers: { host: 'reviews' }, body: undefined },
      {
        onUpstreamTls: (t) => (out.tls = t),
        onResponse: (status) => (out.status = status),
        onData: (c) => (out.body += c.toString()),
        onEnd: () => resolve(out),
        onError: (error) => resolve({ ...out, error }),
      },
    );
  });
}

describe('upstream pools over TLS', () => {
  let ca: TestCa;
  let server: Leaf;
  let client: Leaf;
  let h1: https.Server;
  let h2: http2.Http2SecureServer;
  let connector: Connector;

  before(async () => {
    ca = createTestCa();
    server = ca.leaf('reviews');
    client = ca.leaf('productpage');
    const opts = { cert: server.chain, key: server.key, ca: ca.root, requestCert: true, rejectUnauthorized: true };
    h1 = https.createServer({ ...opts, ALPNProtocols: ['http/1.1'] }, (req, res) => res.end(`h1 ${req.httpVersion} ${req.url}`));
    h2 = http2.createSecureServer(opts, (req, res) => res.end(`h2 ${req.httpVersion} ${req.url}`));
    await Promise.all([new Promise<void>((r) => h1.listen(0, '127.0.0.1', r)), new Promise<void>((r) => h2.listen(0, '127.0.0.1', r))]);
    connector = createConnector(
      {
        kind: 'tls',
        sni: '',
        context: {
          certificate: { kind: 'inline_certificate', certificateChain: client.chain, privateKey: client.key },
          validation: { trustedCa: { kind: 'inline_validation', trustedCa: ca.root }, subjectAltNames: [{ type: 'URI', matcher: { kind: 'exact', value: server.spiffeId, ignoreCase: false } }] },
          alpnProtocols: [],
          minVersion: undefined,
          maxVersion: undefined,
          ciphers: '',
          ecdhCurves: '',
        },
      },
      new SecretStore(),
    );
  });

  after(() => {
    connector.close();
    h1.close();
    h2.close();
    ca.dispose();
  });

  const port = (s: { address(): unknown }) => (s.address() as net.AddressInfo).port;

  it('HTTP/1.1 pool: ALPN http/1.1, the server identity reported before the response', async () => {
    const pool = new Http1Pool({ ip: '127.0.0.1', port: port(h1), authority: 'reviews', maxConnections: 2, connectTimeoutMs: 2000, idleTimeoutMs: 10_000, connector });
    try {
      const a = await get(pool, '/one');
      assert.equal(a.error, undefined, a.error?.message);
      assert.equal(a.body, 'h1 1.1 /one');
      assert.deepEqual(a.tls, { peerUriSans: [server.spiffeId], version: 'TLSv1.3', alpn: 'http/1.1' });
      // Kept alive: the second request rides the same TLS connection.
      assert.equal((await get(pool, '/two')).body, 'h1 1.1 /two');
      assert.equal(pool.connected, 1);
    } finally {
      pool.destroy();
    }
  });

  it('HTTP/2 pool: ALPN h2, streams multiplexed on one TLS session', async () => {
    const pool = new Http2Pool({ ip: '127.0.0.1', port: port(h2), authority: 'reviews', maxConnections: 1, connectTimeoutMs: 2000, idleTimeoutMs: 10_000, connector });
    try {
      const all = await Promise.all([get(pool, '/a'), get(pool, '/b'), get(pool, '/c')]);
      assert.deepEqual(all.map((o) => o.body), ['h2 2.0 /a', 'h2 2.0 /b', 'h2 2.0 /c']);
      for (const o of all) assert.deepEqual(o.tls, { peerUriSans: [server.spiffeId], version: 'TLSv1.3', alpn: 'h2' });
      assert.equal(pool.connected, 1);
    } finally {
      pool.destroy();
    }
  });

  it('a server that speaks only the other protocol fails the handshake, typed as a TLS failure', async () => {
    const pool = new Http2Pool({ ip: '127.0.0.1', port: port(h1), authority: 'reviews', maxConnections: 1, connectTimeoutMs: 2000, idleTimeoutMs: 10_000, connector });
    try {
      const o = await get(pool, '/');
      assert.equal(o.error?.code, UPSTREAM_TLS_ERROR, o.error?.message);
      assert.match(o.error!.message, /TLS handshake: .*(alpn|ALPN|no application protocol)/i);
    } finally {
      pool.destroy();
    }
  });
});
