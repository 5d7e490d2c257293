// Property-based fuzzing of the HTTP/1.1 parser (requests and responses). Every input must end in
// events or an Http1ParseError — never another exception — and the same bytes must give the same
// events (or the same error) whether they arrive whole, byte by byte or in random pieces: a parser
// whose verdict depends on how TCP cut the stream is a desynchronisation waiting to happen.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Http1ParseError, Http1Parser } from '../../src/proxy/http1/parser.js';
import { cut, rawBytes, requestStream, responseStream, splitsOf } from './http1-gen.js';
import { fuzzParams, fuzzTimeout } from './options.js';
import { isPrototypeFree } from '../../src/proxy/http/header-map.js';

type Event =
  | { kind: 'head'; head: Record<string, unknown> }
  | { kind: 'body'; data: string }
  | { kind: 'complete'; reusable: boolean }
  | { kind: 'error'; class: 'overflow' | 'coding' | 'parse'; message: string }
  | { kind: 'end'; midMessage: boolean };

/** A head as plain data; checks the header map cannot collide with Object.prototype. */
function plainHead(head: object): Record<string, unknown> {
  const h = head as { headers: Record<string, unknown> };
  assert.ok(isPrototypeFree(h.headers), 'header maps have no prototype');
  return { ...head, headers: Object.fromEntries(Object.entries(h.headers)) };
}

function classOf(err: Http1ParseError): 'overflow' | 'coding' | 'parse' {
  return err.headerOverflow ? 'overflow' : err.unsupportedCoding ? 'coding' : 'parse';
}

/** Feed the pieces as a server does (a complete request is followed by the next one). */
function runRequests(pieces: Buffer[], maxHeaderBytes: number): Event[] {
  const events: Event[] = [];
  let completed = false;
  let bodyBytes = 0;
  let framedLength = -1;
  const push = (e: Event) => events.push(e);
  const parser = new Http1Parser(
    'request',
    {
      onRequestHead: (head) => {
        assert.ok(!(head.headers['content-length'] !== undefined && head.headers['transfer-encoding'] !== undefined), 'never both framings');
        assert.ok(head.http10 || head.headers.host !== undefined, 'HTTP/1.1 requests have a host');
        bodyBytes = 0;
        framedLength = head.contentLength;
        push({ kind: 'head', head: plainHead(head) });
      },
      onBody: (chunk) => {
        bodyBytes += chunk.length;
        appendBody(events, chunk);
      },
      onComplete: (reusable) => {
        if (framedLength >= 0) assert.equal(bodyBytes, framedLength, 'a content-length body is exactly that long');
        completed = true;
        push({ kind: 'complete', reusable });
      },
    },
    maxHeaderBytes,
  );
  parser.expect();
  for (const piece of pieces) {
    let data = piece;
    while (data.length > 0) {
      let n: number;
      try {
        n = parser.execute(data);
      } catch (err) {
        if (!(err instanceof Http1ParseError)) throw err;
        push({ kind: 'error', class: classOf(err), message: err.message });
        return events;
      }
      if (completed) {
        completed = false;
        parser.expect();
      } else assert.equal(n, data.length, 'an unfinished message consumes the whole read');
      data = data.subarray(n);
    }
  }
  push({ kind: 'end', midMessage: parser.started });
  return events;
}

/** Feed the pieces as the upstream pool does: one response, then the connection's end. */
function runResponse(pieces: Buffer[], maxHeaderBytes: number, head: boolean): Event[] {
  const events: Event[] = [];
  let completed = false;
  const parser = new Http1Parser(
    'response',
    {
      onResponseHead: (h) => {
        assert.ok(h.status >= 200 && h.status <= 999, 'only final responses are reported');
        events.push({ kind: 'head', head: plainHead(h) });
      },
      onBody: (chunk) => appendBody(events, chunk),
      onComplete: (reusable) => {
        completed = true;
        events.push({ kind: 'complete', reusable });
      },
    },
    maxHeaderBytes,
  );
  parser.expect(!head);
  let trailing = false;
  for (let p = 0; p < pieces.length && !completed; p++) {
    let n: number;
    try {
      n = parser.execute(pieces[p]);
    } catch (err) {
      if (!(err instanceof Http1ParseError)) throw err;
      events.push({ kind: 'error', class: classOf(err), message: err.message });
      return events;
    }
    if (completed) trailing = n < pieces[p].length || pieces.slice(p + 1).some((x) => x.length > 0);
  }
  if (!completed) {
    const ok = parser.finishOnEof();
    events.push({ kind: 'end', midMessage: !ok });
  }
  // Bytes after a response make its connection unusable: reported by `reusable` when they share
  // a read with the response, by an error on the next read otherwise. Either way: not reused.
  const last = events[events.length - 1];
  if (last?.kind === 'complete' && trailing) last.reusable = false;
  return events;
}

function appendBody(events: Event[], chunk: Buffer): void {
  const last = events[events.length - 1];
  if (last?.kind === 'body') last.data += chunk.toString('latin1');
  else events.push({ kind: 'body', data: chunk.toString('latin1') });
}

const maxHeaderBytes = fc.constantFrom(16 * 1024, 256, 64, 40);

describe('fuzz: HTTP/1.1 parser', { timeout: fuzzTimeout }, () => {
  it('requests: same events whole, byte by byte and in random pieces', () => {
    const input = fc.oneof({ weight: 5, arbitrary: requestStream }, { weight: 1, arbitrary: rawBytes });
    fc.assert(
      fc.property(
        input.chain((data) => fc.tuple(fc.constant(data), splitsOf(data.length), maxHeaderBytes)),
        ([data, sizes, max]) => {
          const whole = runRequests([data], max);
          assert.deepEqual(runRequests(cut(data, sizes), max), whole);
          assert.deepEqual(runRequests(cut(data, Array(data.length).fill(1)), max), whole);
        },
      ),
      fuzzParams(1000),
    );
  });

  it('responses: same events whole, byte by byte and in random pieces', () => {
    const input = fc.oneof({ weight: 5, arbitrary: responseStream }, { weight: 1, arbitrary: rawBytes });
    fc.assert(
      fc.property(
        input.chain((data) => fc.tuple(fc.constant(data), splitsOf(data.length), maxHeaderBytes, fc.boolean())),
        ([data, sizes, max, head]) => {
          const whole = runResponse([data], max, head);
          assert.deepEqual(runResponse(cut(data, sizes), max, head), whole);
          assert.deepEqual(runResponse(cut(data, Array(data.length).fill(1)), max, head), whole);
        },
      ),
      fuzzParams(1000),
    );
  });
});
