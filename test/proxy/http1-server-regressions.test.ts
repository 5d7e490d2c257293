// Regressions found by fuzzing the downstream server through real sockets
// (test/fuzz/http1-sockets.test.ts). Each waits for events only; a connection left open shows as
// the test's timeout.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http1Server } from '../../src/proxy/http1/server.js';

describe('downstream HTTP/1.1 server: connections the client finished are closed', { timeout: 10_000 }, () => {
  const serverSockets: Promise<void>[] = [];
  const exchanges: Promise<void>[] = [];
  const server = new Http1Server({
    acceptConnection: (socket) => {
      serverSockets.push(new Promise((r) => socket.on('close', () => r())));
      return true;
    },
    onRequest: (req, res) => {
      exchanges.push(new Promise((r) => res.on('close', () => r())));
      // Answer once the whole body is in.
      if (!req.body) return res.end('ok');
      req.body.resume();
      req.body.on('end', () => res.end('ok'));
      req.body.on('error', () => {});
    },
  });
  before(() => server.listen('127.0.0.1', 0));
  after(async () => {
    server.closeAllConnections();
    await server.close();
  });

  async function connect(): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
    const socket = net.connect(server.port, '127.0.0.1');
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    return { socket, received: () => got, closed };
  }

  // The client half-closed in the middle of a body the handler waits for: the exchange waited
  // forever (and with it the connection).
  it('a body cut short by the client half-closing ends the exchange and the connection', async () => {
    const c = await connect();
    c.socket.end('POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 12\r\n\r\nabc');
    await c.closed;
    await exchanges.at(-1);
    await serverSockets.at(-1);
    assert.equal(c.received(), '', 'nothing to answer');
  });

  // After a response that closes the connection (HTTP/1.0), pipelined bytes held back kept the
  // socket paused: it never saw the client's FIN and stayed open forever.
  it('a connection closed after its response, with pipelined bytes behind it, closes once the client does', async () => {
    const c = await connect();
    c.socket.write('GET / HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\nhost: a\r\n\r\n');
    await new Promise<void>((r) => c.socket.once('end', () => r()));
    assert.match(c.received(), /^HTTP\/1\.1 200 OK\r\n[^]*connection: close\r\n\r\nok$/);
    c.socket.end();
    await serverSockets.at(-1);
    await c.closed;
  });
});
