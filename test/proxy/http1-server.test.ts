// The downstream HTTP/1.1 server (Http1Server) against raw client sockets on 127.0.0.1: request
// framing and smuggling attempts, limits, pipelining, 100-continue, keep-alive and close, each
// request sent whole and byte by byte. No timing thresholds: every wait is for an event.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http1Server, type DownstreamRequest, type DownstreamResponse } from '../../src/proxy/http1/server.js';

/** Echo what was parsed; a few paths answer in other shapes. */
function handle(req: DownstreamRequest, res: DownstreamResponse): void {
  const chunks: Buffer[] = [];
  const answer = () => {
    const body = Buffer.concat(chunks).toString('latin1');
    if (req.url === '/204') return res.writeHead(204, {}), res.end();
    if (req.url === '/chunked') {
      res.writeHead(200, { 'x-kind': 'chunked' });
      res.write('abc');
      res.end('def');
      return;
    }
    const out = JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, te: req.headers['transfer-encoding'], body });
    // Answer asynchronously so pipelined requests really wait for the one before.
    setImmediate(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  };
  if (!req.body) return answer();
  req.body.on('data', (c: Buffer) => chunks.push(c));
  req.body.on('end', answer);
}

/** Send `text` (whole or one byte per write), half-close, and collect everything until the server closes. */
async function exchange(port: number, text: string, bytewise: boolean): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  if (!bytewise) socket.write(text, 'latin1');
  else for (let i = 0; i < text.length && !socket.destroyed; i++) await new Promise<void>((r) => socket.write(text[i], 'latin1', () => setImmediate(r)));
  if (!socket.destroyed) socket.end();
  await closed;
  return received;
}

function statuses(raw: string): number[] {
  return [...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
}

function bodies(raw: string): Array<Record<string, unknown>> {
  return [...raw.matchAll(/\{"method".*?"body":".*?"\}/g)].map((m) => JSON.parse(m[0]) as Record<string, unknown>);
}

interface Case {
  name: string;
  request: string;
  /** Status lines in order. */
  statuses: number[];
  check?: (raw: string) => void;
}

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`;

const cases: Case[] = [
  { name: 'a plain GET', request: GET('/a?x=1'), statuses: [200], check: (raw) => assert.deepEqual(bodies(raw)[0], { method: 'GET', url: '/a?x=1', host: 'h', body: '' }) },
  {
    name: 'content-length body',
    request: 'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello',
    statuses: [200],
    check: (raw) => assert.equal(bodies(raw)[0].body, 'hello'),
  },
  {
    name: 'chunked body with extensions and trailers',
    request: 'POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n',
    statuses: [200],
    check: (raw) => assert.equal(bodies(raw)[0].body, 'abcdefg'),
  },
  {
    name: 'pipelined requests are answered in order',
    request: GET('/one') + 'POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz' + GET('/three'),
    statuses: [200, 200, 200],
    check: (raw) =>
      assert.deepEqual(
        bodies(raw).map((b) => [b.url, b.body]),
        [
          ['/one', ''],
          ['/two', 'xyz'],
          ['/three', ''],
        ],
      ),
  },
  { name: 'absolute-form target is passed through', request: 'GET http://other:8080/x HTTP/1.1\r\nHost: h\r\n\r\n', statuses: [200], check: (raw) => assert.equal(bodies(raw)[0].url, 'http://other:8080/x') },
  {
    name: 'Expect: 100-continue is answered before the body',
    request: 'PUT /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok',
    statuses: [100, 200],
    check: (raw) => assert.equal(bodies(raw)[0].body, 'ok'),
  },
  { name: 'an unknown expectation gets 417', request: 'GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n', statuses: [417] },
  {
    name: 'HEAD gets headers without a body',
    request: 'HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n' + GET('/after'),
    statuses: [200, 200],
    check: (raw) => assert.equal(bodies(raw).length, 1, 'only the GET has a body'),
  },
  { name: '204 has no body', request: GET('/204') + GET('/after'), statuses: [204, 200], check: (raw) => assert.doesNotMatch(raw.split('\r\n\r\n')[0], /transfer-encoding/i) },
  {
    name: 'a response without length is chunked for HTTP/1.1',
    request: GET('/chunked'),
    statuses: [200],
    check: (raw) => assert.match(raw, /transfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n$/),
  },
  {
    name: 'HTTP/1.0 without keep-alive closes after the response',
    request: 'GET /old HTTP/1.0\r\n\r\n' + GET('/never'),
    statuses: [200],
    check: (raw) => assert.match(raw, /connection: close/),
  },
  { name: 'Connection: close closes after the response', request: GET('/c', 'Connection: close\r\n') + GET('/never'), statuses: [200] },
  { name: 'smuggling: content-length with transfer-encoding', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', statuses: [400] },
  { name: 'smuggling: transfer-encoding not ending in chunked', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\nabc', statuses: [501] },
  { name: 'a coding before chunked is refused, not dropped (gzip, chunked)', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', statuses: [501] },
  { name: 'identity, chunked is refused', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n', statuses: [501] },
  { name: 'two transfer-encoding fields are refused', request: 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', statuses: [501] },
  { name: 'smuggling: conflicting content-lengths', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', statuses: [400] },
  { name: 'invalid content-length', request: 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\nhello', statuses: [400] },
  { name: 'obs-fold in a request', request: 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n', statuses: [400] },
  { name: 'space before the colon', request: 'GET / HTTP/1.1\r\nHost : h\r\n\r\n', statuses: [400] },
  { name: 'missing Host in HTTP/1.1', request: 'GET / HTTP/1.1\r\n\r\n', statuses: [400] },
  { name: 'two Host headers', request: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', statuses: [400] },
  { name: 'authority-form (CONNECT) is not served', request: 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', statuses: [400] },
  { name: 'bad request line', request: 'GET /a b HTTP/1.1\r\nHost: h\r\n\r\n', statuses: [400] },
  { name: 'bare LF', request: 'GET / HTTP/1.1\nHost: h\n\n', statuses: [400] },
  { name: 'a bad request after a good one is answered in order', request: GET('/ok') + 'BROKEN\r\n\r\n', statuses: [200, 400] },
  { name: 'oversized header section gets 431', request: `GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, statuses: [431] },
];

describe('downstream HTTP/1.1 server (real sockets)', () => {
  const server = new Http1Server({ onRequest: handle, acceptConnection: () => true });
  before(() => server.listen('127.0.0.1', 0));
  after(async () => {
    server.closeAllConnections();
    await server.close();
  });

  for (const bytewise of [false, true]) {
    for (const c of cases) {
      if (bytewise && c.request.length > 2000) continue; // one byte per write: keep it short
      it(`${c.name}${bytewise ? ' (byte by byte)' : ''}`, async () => {
        const raw = await exchange(server.port, c.request, bytewise);
        assert.deepEqual(statuses(raw), c.statuses, raw);
        c.check?.(raw);
      });
    }
  }

  it('keeps the connection open between requests (keep-alive)', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    let received = '';
    const waitFor = (n: number) =>
      new Promise<void>((r) => {
        const check = () => (statuses(received).length >= n ? r() : socket.once('data', (d: Buffer) => ((received += d.toString('latin1')), check())));
        check();
      });
    socket.write(GET('/first'));
    await waitFor(1);
    socket.write(GET('/second'));
    await waitFor(2);
    assert.deepEqual(
      bodies(received).map((b) => b.url),
      ['/first', '/second'],
    );
    socket.destroy();
  });

});

describe('closeIdleConnections', () => {
  // A keep-alive timeout far beyond the test: only closeIdleConnections can close anything here.
  let holding: Promise<DownstreamResponse>;
  let held: (res: DownstreamResponse) => void;
  const server = new Http1Server({
    onRequest: (req, res) => (req.url === '/hold' ? held(res) : handle(req, res)),
    acceptConnection: () => true,
  });
  before(async () => {
    server.keepAliveTimeoutMs = 600_000;
    holding = new Promise((r) => (held = r));
    await server.listen('127.0.0.1', 0);
  });
  after(async () => {
    server.closeAllConnections();
    await server.close();
  });

  it('closes an idle keep-alive connection at once and leaves a busy one', async () => {
    const idle = net.connect(server.port, '127.0.0.1');
    idle.on('error', () => {});
    let idleRaw = '';
    const idleEvents: string[] = [];
    const answered = (n: number) => new Promise<void>((r) => idle.on('data', (d: Buffer) => ((idleRaw += d.toString('latin1')), statuses(idleRaw).length >= n && r())));
    const first = answered(1);
    idle.write(GET('/first'));
    await first;
    const busy = net.connect(server.port, '127.0.0.1');
    let busyRaw = '';
    busy.on('data', (d: Buffer) => (busyRaw += d.toString('latin1')));
    const busyOutcome = new Promise<string>((r) => {
      busy.on('data', () => statuses(busyRaw).length && r('answered'));
      busy.on('close', () => r('closed'));
    });
    busy.write(GET('/hold'));
    const res = await holding;

    server.closeIdleConnections();
    // Ask again on the idle connection: had it stayed open, this would be answered before any close.
    const closed = new Promise<void>((r) => idle.on('close', () => r()));
    const second = answered(2);
    idle.write(GET('/second'));
    await Promise.race([closed.then(() => idleEvents.push('closed')), second.then(() => idleEvents.push('answered again'))]);
    assert.deepEqual(idleEvents, ['closed']);
    assert.deepEqual(statuses(idleRaw), [200]);

    // The busy connection is still there: its held response arrives.
    res.writeHead(200, { 'content-length': 4 });
    res.end('held');
    assert.equal(await busyOutcome, 'answered');
    assert.match(busyRaw, /^HTTP\/1\.1 200 [^]*held$/);
    busy.destroy();
  });
});

describe('downstream HTTP/1.1 server timeouts', () => {
  const server = new Http1Server({ onRequest: handle, acceptConnection: () => true });
  before(async () => {
    server.requestTimeoutMs = 50;
    server.keepAliveTimeoutMs = 50;
    await server.listen('127.0.0.1', 0);
  });
  after(async () => {
    server.closeAllConnections();
    await server.close();
  });

  it('a request whose body never completes gets 408 and the connection closes', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    let raw = '';
    socket.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.write('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab');
    await closed;
    assert.deepEqual(statuses(raw), [408]);
  });

  it('an idle keep-alive connection is closed', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    let raw = '';
    socket.on('data', (d: Buffer) => (raw += d.toString('latin1')));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.write(GET('/then-idle'));
    await closed;
    assert.deepEqual(statuses(raw), [200]);
  });
});
