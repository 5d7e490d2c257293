// gRPC message counting from the length prefixes, whatever the chunking.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { GrpcFrameCounter } from '../../src/proxy/http/grpc-frames.js';

function frame(len: number, compressed = 0): Buffer {
  const b = Buffer.alloc(5 + len, 0x7a);
  b[0] = compressed;
  b.writeUInt32BE(len, 1);
  return b;
}

test('one chunk with several messages, empty messages, a compressed flag', () => {
  assert.equal(new GrpcFrameCounter().push(Buffer.concat([frame(3), frame(0), frame(300, 1)])), 3);
});

test('a prefix split across chunks is counted once, when it completes', () => {
  const c = new GrpcFrameCounter();
  const f = frame(10);
  assert.equal(c.push(f.subarray(0, 2)), 0);
  assert.equal(c.push(f.subarray(2, 5)), 1);
  assert.equal(c.push(f.subarray(5)), 0);
  assert.equal(c.push(frame(1)), 1);
});

test('any chunking of a message sequence counts every message exactly once', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 30 }), (lengths, cuts) => {
      const wire = Buffer.concat(lengths.map((l) => frame(l)));
      const c = new GrpcFrameCounter();
      let n = 0;
      for (let i = 0, k = 0; i < wire.length; k++) {
        const size = cuts[k % cuts.length];
        n += c.push(wire.subarray(i, i + size));
        i += size;
      }
      return n === lengths.length;
    }),
  );
});
