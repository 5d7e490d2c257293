// Regressions found by fuzzing the HTTP/1.1 parser (test/fuzz/http1-parser.test.ts): each case is
// the shrunk counterexample, kept as a plain test.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Http1ParseError, Http1Parser } from '../../src/proxy/http1/parser.js';

/** Parse `text` as one message fed in reads of `step` bytes; the head's status/method or the error. */
function parse(side: 'request' | 'response', text: string, maxHeaderBytes: number, step: number): string {
  let seen = 'incomplete';
  const p = new Http1Parser(
    side,
    { onRequestHead: (h) => (seen = h.method), onResponseHead: (h) => (seen = String(h.status)), onBody() {}, onComplete() {} },
    maxHeaderBytes,
  );
  p.expect();
  const data = Buffer.from(text, 'latin1');
  try {
    for (let i = 0; i < data.length; i += step) p.execute(data.subarray(i, i + step));
  } catch (err) {
    assert.ok(err instanceof Http1ParseError);
    return err.headerOverflow ? 'overflow' : 'error';
  }
  return seen;
}

describe('HTTP/1.1 parser: header limit independent of read sizes', () => {
  // Each read of a partial line was counted one byte too many, so a head under the limit sent
  // byte by byte was refused with 431 (and a small one in many reads took twice its size).
  it('a 33-byte response head under a 40-byte limit, fed byte by byte', () => {
    const head = 'HTTP/1.0 200 OK\r\nconnection: \r\n\r\n';
    assert.equal(parse('response', head, 40, head.length), '200');
    assert.equal(parse('response', head, 40, 1), '200');
  });

  it('a request head under the limit, in reads of any size', () => {
    const head = 'GET / HTTP/1.1\r\nhost: a\r\nx-a: 0123456789\r\n\r\n';
    for (const step of [1, 2, 3, 7, head.length]) assert.equal(parse('request', head, head.length, step), 'GET', `reads of ${step}`);
    for (const step of [1, 5, head.length]) assert.equal(parse('request', head, head.length - 1, step), 'overflow', `reads of ${step}`);
  });
});
