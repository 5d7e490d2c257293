// The upstream HTTP/1.1 client (Http1Pool + ResponseParser) against real sockets on 127.0.0.1:
// scripted raw responses, each sent whole and byte by byte, plus pooling, queueing, bodies,
// backpressure and failure cases. No timing thresholds: every wait is for an event.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Http1Pool, type UpstreamRequest } from '../../src/proxy/http1/client.js';
import type { MessageHeaders } from '../../src/proxy/http1/parser.js';

interface Outcome {
  status?: number;
  statusMessage?: string;
  headers?: MessageHeaders;
  body: string;
  error?: NodeJS.ErrnoException;
  ended: boolean;
}

/** A raw TCP server: `respond` gets each connection and the bytes of each request head seen. */
async function rawServer(respond: (socket: net.Socket, request: string) => void): Promise<{ port: number; connections: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const state = { port: 0, connections: 0, close: async () => {} };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end + 4);
        pending = pending.slice(end + 4);
        respond(socket, head);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.port = (server.address() as AddressInfo).port;
  state.close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return state;
}

/** Write `text` in one piece or one byte per write (each after the previous is flushed). */
async function send(socket: net.Socket, text: string, bytewise: boolean, closeAfter = false): Promise<void> {
  if (!bytewise) socket.write(text, 'latin1');
  else for (let i = 0; i < text.length && !socket.destroyed; i++) await new Promise<void>((r) => socket.write(text[i], 'latin1', () => setImmediate(r)));
  if (closeAfter) socket.end();
}

function exchange(pool: Http1Pool, req: Partial<UpstreamRequest> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: '', ended: false };
    pool.request(
      { method: 'GET', path: '/', headers: { host: 'test' }, body: undefined, ...req },
      {
        onResponse(status, statusMessage, headers) {
          out.status = status;
          out.statusMessage = statusMessage;
          out.headers = headers;
        },
        onData(chunk) {
          out.body += chunk.toString('latin1');
        },
        onEnd() {
          out.ended = true;
          resolve(out);
        },
        onError(err) {
          out.error = err;
          resolve(out);
        },
      },
    );
  });
}

function newPool(port: number, maxConnections = 4): Http1Pool {
  return new Http1Pool({ ip: '127.0.0.1', port, authority: `127.0.0.1:${port}`, maxConnections, connectTimeoutMs: 1000, idleTimeoutMs: 30_000 });
}

interface ParseCase {
  name: string;
  method?: string;
  response: string;
  /** Close the connection after sending (bodies delimited by EOF, truncation). */
  close?: boolean;
  want?: { status: number; body: string; headers?: Record<string, string | string[]>; statusMessage?: string };
  /** The connection may carry another request afterwards. */
  reusable?: boolean;
  error?: RegExp;
  /** Only meaningful when the response arrives in one read. */
  wholeOnly?: boolean;
}

const cases: ParseCase[] = [
  {
    name: 'content-length body',
    response: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello',
    want: { status: 200, body: 'hello', headers: { 'content-length': '5', 'x-a': '1' }, statusMessage: 'OK' },
    reusable: true,
  },
  {
    name: 'chunked with extensions and trailers',
    response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6 ; x=1\r\n world\r\n0\r\nX-Trailer: t\r\nX-Other: o\r\n\r\n',
    want: { status: 200, body: 'hello world' },
    reusable: true,
  },
  { name: 'chunked, upper-case hex, no trailers', response: 'HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n', want: { status: 200, body: '0123456789' }, reusable: true },
  { name: 'HEAD: content-length but no body', method: 'HEAD', response: 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', want: { status: 200, body: '', headers: { 'content-length': '1000' } }, reusable: true },
  { name: '204 has no body', response: 'HTTP/1.1 204 No Content\r\n\r\n', want: { status: 204, body: '' }, reusable: true },
  { name: '304 has no body even with content-length', response: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', want: { status: 304, body: '' }, reusable: true },
  {
    name: 'interim 100 and 103 are skipped',
    response: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    want: { status: 201, body: 'ok', headers: { 'content-length': '2' } },
    reusable: true,
  },
  { name: 'body read until EOF', response: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end', close: true, want: { status: 200, body: 'until the end' }, reusable: false },
  { name: 'connection: close with content-length', response: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', want: { status: 200, body: 'ok' }, reusable: false },
  { name: 'HTTP/1.0 closes unless keep-alive', response: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', want: { status: 200, body: 'ok' }, reusable: false },
  { name: 'HTTP/1.0 with keep-alive', response: 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok', want: { status: 200, body: 'ok' }, reusable: true },
  {
    name: 'repeated headers become a list; names are lower-cased; values trimmed',
    response: 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Pad:   v  \r\nContent-Length: 0\r\n\r\n',
    want: { status: 200, body: '', headers: { 'set-cookie': ['a=1', 'b=2'], 'x-pad': 'v', 'content-length': '0' } },
    reusable: true,
  },
  { name: 'identical repeated content-length', response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok', want: { status: 200, body: 'ok' }, reusable: true },
  { name: 'empty reason phrase', response: 'HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n', want: { status: 200, body: '', statusMessage: '' }, reusable: true },
  { name: 'bytes after the response: delivered, connection not reused', response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA', want: { status: 200, body: 'ok' }, reusable: false, wholeOnly: true },
  // Relaying `gzip, chunked` as chunked would hand the client gzip bytes it was never told about.
  { name: 'a transfer coding other than chunked is rejected', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', error: /unsupported transfer-encoding/ },
  { name: 'obs-fold is rejected', response: 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nContent-Length: 0\r\n\r\n', error: /obsolete line folding/ },
  { name: 'content-length with transfer-encoding is rejected', response: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', error: /both content-length and transfer-encoding/ },
  { name: 'non-numeric content-length', response: 'HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello', error: /bad content-length/ },
  { name: 'negative content-length', response: 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', error: /bad content-length/ },
  { name: 'conflicting content-length', response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', error: /conflicting content-length/ },
  { name: 'bad chunk size', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', error: /bad chunk size/ },
  { name: 'chunk data longer than its size', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n', error: /chunk data not followed by CRLF/ },
  { name: 'bare LF line ending', response: 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', error: /not terminated by CRLF/ },
  { name: 'bad status line', response: 'HTTP/2 200 OK\r\n\r\n', error: /bad status line/ },
  { name: 'space before the colon', response: 'HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n', error: /bad header name/ },
  { name: 'control character in a value', response: 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n', error: /bad value/ },
  { name: '101 is not expected', response: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n', error: /101/ },
  { name: 'oversized header section', response: `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, error: /header section too large/ },
  { name: 'closed mid-body', response: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial', close: true, error: /before the response ended/ },
  { name: 'closed mid-chunk', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc', close: true, error: /before the response ended/ },
  { name: 'closed before any response', response: '', close: true, error: /before the response ended/ },
];

describe('upstream HTTP/1.1 response parsing (real sockets)', () => {
  for (const bytewise of [false, true]) {
    for (const c of cases) {
      if (bytewise && (c.wholeOnly || c.response.length > 2000)) continue; // one byte per write: keep it short
      it(`${c.name}${bytewise ? ' (byte by byte)' : ''}`, async () => {
        let script = c.response;
        const server = await rawServer((socket, head) => {
          void send(socket, script, bytewise, c.close);
          // A second request on the same connection gets a plain answer.
          script = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond';
          void head;
        });
        const pool = newPool(server.port, 1);
        try {
          const out = await exchange(pool, { method: c.method ?? 'GET' });
          if (c.error) {
            assert.ok(out.error, `expected an error, got ${JSON.stringify(out)}`);
            assert.match(out.error.message, c.error);
            assert.ok(out.error.code === 'WEFT_E_UPSTREAM_PROTOCOL' || out.error.code === 'ECONNRESET', `code ${out.error.code}`);
            return;
          }
          assert.equal(out.error, undefined, out.error?.message);
          assert.equal(out.status, c.want!.status);
          assert.equal(out.body, c.want!.body);
          if (c.want!.statusMessage !== undefined) assert.equal(out.statusMessage, c.want!.statusMessage);
          for (const [k, v] of Object.entries(c.want!.headers ?? {})) assert.deepEqual(out.headers![k], v, k);
          const second = await exchange(pool);
          assert.equal(second.body, 'second');
          assert.equal(server.connections, c.reusable ? 1 : 2, c.reusable ? 'connection reused' : 'a new connection');
        } finally {
          pool.destroy();
          await server.close();
        }
      });
    }
  }
});

describe('upstream HTTP/1.1 pool (real sockets)', () => {
  const seen: Array<{ method?: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url === '/big') {
        res.end(Buffer.alloc(1024 * 1024, 'b'));
        return;
      }
      res.end(`echo:${Buffer.concat(chunks).toString()}`);
    });
  });
  let port = 0;
  const ready = new Promise<void>((r) =>
    upstream.listen(0, '127.0.0.1', () => {
      port = (upstream.address() as AddressInfo).port;
      r();
    }),
  );
  after(() => {
    upstream.closeAllConnections();
    upstream.close();
  });

  it('sends a buffered body with its content-length, and a default Host', async () => {
    await ready;
    const pool = newPool(port);
    const out = await exchange(pool, { method: 'POST', headers: { 'content-length': '5', 'x-multi': ['a', 'b'] }, body: Buffer.from('hello') });
    assert.equal(out.body, 'echo:hello');
    const got = seen.at(-1)!;
    assert.equal(got.headers.host, `127.0.0.1:${port}`);
    assert.equal(got.headers['x-multi'], 'a, b');
    pool.destroy();
  });

  it('streams a body without content-length as chunked', async () => {
    await ready;
    const pool = newPool(port);
    const body = new PassThrough();
    const done = exchange(pool, { method: 'PUT', headers: { host: 'h' }, body });
    body.write('part one, ');
    body.end('part two');
    const out = await done;
    assert.equal(out.body, 'echo:part one, part two');
    assert.equal(seen.at(-1)!.headers['transfer-encoding'], 'chunked');
    pool.destroy();
  });

  it('queues beyond max connections and reuses the one connection', async () => {
    await ready;
    const pool = newPool(port, 1);
    const outs = await Promise.all([exchange(pool), exchange(pool), exchange(pool)]);
    assert.deepEqual(
      outs.map((o) => o.status),
      [200, 200, 200],
    );
    assert.equal(pool.connected, 1);
    pool.destroy();
  });

  it('an aborted queued request gets no callbacks and frees nothing it did not take', async () => {
    await ready;
    const pool = newPool(port, 1);
    const first = exchange(pool);
    let called = false;
    const fail = () => (called = true);
    const queued = pool.request({ method: 'GET', path: '/', headers: {}, body: undefined }, { onResponse: fail, onData: fail, onEnd: fail, onError: fail });
    queued.abort();
    assert.equal((await first).status, 200);
    assert.equal((await exchange(pool)).status, 200);
    assert.equal(called, false);
    pool.destroy();
  });

  it('pause and resume relay a large body completely', async () => {
    await ready;
    const pool = newPool(port);
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const ex = pool.request(
        { method: 'GET', path: '/big', headers: {}, body: undefined },
        {
          onResponse() {
            ex.pause();
            setImmediate(() => ex.resume());
          },
          onData(c) {
            received += c.length;
          },
          onEnd: resolve,
          onError: reject,
        },
      );
    });
    assert.equal(received, 1024 * 1024);
    pool.destroy();
  });

  it('rejects a header value with CR/LF before writing, and the connection stays usable', async () => {
    await ready;
    const pool = newPool(port, 1);
    assert.equal((await exchange(pool)).status, 200);
    const bad = await exchange(pool, { headers: { 'x-injected': 'a\r\nx-evil: 1' } });
    assert.equal(bad.error?.code, 'WEFT_E_UPSTREAM_PROTOCOL');
    assert.equal((await exchange(pool)).status, 200);
    assert.equal(pool.connected, 1);
    pool.destroy();
  });

  it('a refused connection fails with ECONNREFUSED', async () => {
    const server = await rawServer(() => {});
    const deadPort = server.port;
    await server.close();
    const pool = newPool(deadPort);
    const out = await exchange(pool);
    assert.equal(out.error?.code, 'ECONNREFUSED');
    pool.destroy();
  });

  it('an idle connection the server closed is dropped; the next request gets a fresh one', async () => {
    const server = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const pool = newPool(server.port, 1);
    assert.equal((await exchange(pool)).body, 'ok');
    // Keep-alive was offered but the server hangs up: the pool notices on 'end'.
    await new Promise<void>((r) => {
      const check = () => (pool.connected === 0 ? r() : setImmediate(check));
      check();
    });
    assert.equal((await exchange(pool)).body, 'ok');
    assert.equal(server.connections, 2);
    pool.destroy();
    await server.close();
  });

  it('close() lets the request in flight finish, then closes', async () => {
    await ready;
    const pool = newPool(port);
    const inFlight = exchange(pool);
    const closed = pool.close();
    assert.equal((await inFlight).status, 200);
    await closed;
    assert.equal(pool.connected, 0);
    const after = await exchange(pool);
    assert.equal(after.error?.code, 'ECONNRESET');
  });
});
