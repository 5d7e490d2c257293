// Fuzzing the HTTP/1.1 server and upstream pool through real sockets on loopback: fuzzed requests
// written in random pieces to an Http1Server, fuzzed responses from a raw upstream to an Http1Pool.
// Whatever arrives, the process must not crash, every connection must close once the peer is done
// (no hang), and every exchange must end — exactly once, with nothing after — so none is leaked.
// A case that does not end is reported by fast-check's per-case timeout (a hang detector, not a
// speed limit: a healthy case takes milliseconds).
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Http1Pool } from '../../src/proxy/http1/client.js';
import { Http1Parser } from '../../src/proxy/http1/parser.js';
import { Http1Server } from '../../src/proxy/http1/server.js';
import { cut, rawBytes, requestStream, responseStream, splitsOf } from './http1-gen.js';
import { fuzzParams, fuzzTimeout } from './options.js';

const HANG_MS = 5_000;

/** Write the pieces, each its own write after the previous one is flushed. */
async function writePieces(socket: net.Socket, pieces: Buffer[]): Promise<void> {
  for (const p of pieces) {
    if (socket.destroyed || !socket.writable) return;
    await new Promise<void>((r) => socket.write(p, () => setImmediate(r)));
  }
}

/** Responses in `bytes`, as statuses; -1 where the stream stops being HTTP. */
function statuses(bytes: Buffer): number[] {
  const out: number[] = [];
  let done = false;
  const parser = new Http1Parser('response', { onResponseHead: (h) => out.push(h.status), onBody() {}, onComplete: () => (done = true) }, 64 * 1024);
  let data = bytes;
  while (data.length > 0) {
    parser.expect();
    done = false;
    try {
      data = data.subarray(parser.execute(data));
    } catch {
      out.push(-1);
      break;
    }
    if (!done && !parser.finishOnEof()) break;
  }
  return out;
}

/** A request body that sends one piece now and never ends (the response decides the exchange). */
function streamed(): PassThrough {
  const body = new PassThrough();
  body.write('part');
  return body;
}

describe('fuzz: HTTP/1.1 server and pool on real sockets', { timeout: fuzzTimeout }, () => {
  describe('Http1Server', () => {
    let active = 0;
    let requests = 0;
    /** Closes of the server's side of each connection: the case waits for its own. */
    let serverSideClosed: Promise<void> = Promise.resolve();
    const server = new Http1Server({
      acceptConnection: (socket) => {
        serverSideClosed = new Promise((r) => socket.on('close', () => setImmediate(r)));
        return true;
      },
      maxHeaderBytes: 512,
      onRequest: (req, res) => {
        active++;
        requests++;
        res.on('close', () => active--);
        // Some answers wait for the whole body, some go out before it (the rest is read and dropped).
        const answer = () => {
          if (res.headersSent || res.destroyed) return;
          res.writeHead(200, { 'content-length': 2 });
          res.end('ok');
        };
        if (!req.body || req.url.includes('?')) answer();
        else {
          req.body.on('data', () => {});
          req.body.on('end', answer);
          req.body.on('error', () => {});
        }
      },
    });
    before(() => server.listen('127.0.0.1', 0));
    after(async () => {
      server.closeAllConnections();
      await server.close();
    });

    it('fuzzed requests in random pieces: answered or refused, the connection closed, no exchange left open', async () => {
      const input = fc.oneof({ weight: 5, arbitrary: requestStream }, { weight: 1, arbitrary: rawBytes });
      await fc.assert(
        fc.asyncProperty(input.chain((data) => fc.tuple(fc.constant(data), splitsOf(data.length), fc.boolean())), async ([data, sizes, halfClose]) => {
          const before = requests;
          const socket = net.connect(server.port, '127.0.0.1');
          const got: Buffer[] = [];
          socket.on('data', (d: Buffer) => got.push(d));
          socket.on('error', () => {});
          const closed = new Promise<void>((r) => socket.on('close', () => r()));
          await new Promise<void>((r) => socket.once('connect', () => r()));
          await writePieces(socket, cut(data, sizes));
          // The client is done: half-closed (it still reads the answers) or gone.
          if (halfClose) socket.end();
          else socket.destroy();
          await closed;
          await serverSideClosed;
          const answered = statuses(Buffer.concat(got));
          assert.ok(answered.filter((s) => s === 200).length <= requests - before, 'no answer without a request');
          for (const s of answered) assert.ok([200, 400, 417, 431, 501, -1].includes(s), `status ${s}`);
          // Every exchange the server started has ended (answered, or closed with its connection).
          assert.equal(active, 0, 'no exchange left open');
        }),
        { ...fuzzParams(200, 0.05), timeout: HANG_MS },
      );
    });
  });

  describe('Http1Pool', () => {
    let script: { pieces: Buffer[]; close: 'end' | 'destroy' } = { pieces: [], close: 'end' };
    const upstream = net.createServer((socket) => {
      socket.on('error', () => {});
      const { pieces, close } = script;
      socket.once('data', async () => {
        await writePieces(socket, pieces);
        if (close === 'end') socket.end();
        else socket.destroy();
      });
    });
    let port = 0;
    before(async () => {
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
      port = (upstream.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((r) => upstream.close(() => r())));

    it('fuzzed responses in random pieces: each exchange ends exactly once and the pool drains', async () => {
      const input = fc.oneof({ weight: 5, arbitrary: responseStream }, { weight: 1, arbitrary: rawBytes });
      await fc.assert(
        fc.asyncProperty(
          input.chain((data) => fc.tuple(fc.constant(data), splitsOf(data.length), fc.constantFrom<'end' | 'destroy'>('end', 'destroy'), fc.constantFrom('GET', 'HEAD', 'POST', 'PUT'))),
          async ([data, sizes, close, method]) => {
            script = { pieces: cut(data, sizes), close };
            const pool = new Http1Pool({ ip: '127.0.0.1', port, authority: 'u', maxConnections: 1, connectTimeoutMs: 0, idleTimeoutMs: 60_000, maxHeaderBytes: 512 });
            const events: string[] = [];
            await new Promise<void>((resolve) => {
              pool.request(
                // PUT streams a body that is still being written when the response comes (and may never end).
                { method, path: '/', headers: {}, body: method === 'POST' ? Buffer.from('body') : method === 'PUT' ? streamed() : undefined },
                {
                  onResponse: (status) => events.push(`response ${status}`),
                  onData: () => {
                    if (events[events.length - 1] !== 'data') events.push('data');
                  },
                  onEnd: () => {
                    events.push('end');
                    resolve();
                  },
                  onError: (err) => {
                    events.push(`error ${err.code ?? ''}`);
                    assert.ok(err.code, `errors carry a code: ${err.message}`);
                    resolve();
                  },
                },
              );
            });
            // The pool closes once its connections are gone: none is left waiting.
            await pool.close();
            await new Promise((r) => setImmediate(r));
            const ends = events.filter((e) => e === 'end' || e.startsWith('error'));
            assert.equal(ends.length, 1, `ends exactly once: ${events.join(', ')}`);
            assert.ok(events[events.length - 1] === ends[0], `nothing after the end: ${events.join(', ')}`);
            assert.ok(events.filter((e) => e.startsWith('response')).length <= 1, `one response: ${events.join(', ')}`);
            if (events.includes('data')) assert.ok(events[0].startsWith('response'), 'a body only after a head');
          },
        ),
        { ...fuzzParams(200, 0.05), timeout: HANG_MS },
      );
    });
  });
});
