// The TCP peer exchange preamble: encoded and parsed back, incomplete input waits for more, junk is
// refused; over a real socket pair the reader strips the preamble and leaves the application's bytes.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { encodePreamble, parsePreamble, readPreamble } from '../../src/proxy/tcp/peer-exchange.js';

test('round trip, partial input, an empty payload, bad magic, an oversized length', () => {
  const p = encodePreamble('AAEC');
  const r = parsePreamble(Buffer.concat([p, Buffer.from('app')]));
  assert.ok(r.ok === true);
  assert.equal(r.peer, 'AAEC');
  assert.equal(r.rest.toString(), 'app');
  for (let i = 0; i < p.length; i++) assert.equal(parsePreamble(p.subarray(0, i)).ok, 'more', `${i} bytes`);
  const empty = parsePreamble(encodePreamble(''));
  assert.ok(empty.ok === true && empty.peer === undefined && empty.rest.length === 0);
  assert.deepEqual(parsePreamble(Buffer.from('GET / HTTP/1.1\r\n')), { ok: false, reason: 'peer exchange: bad magic' });
  const big = Buffer.from(p);
  big.writeUInt32BE(1 << 20, 4);
  assert.deepEqual(parsePreamble(big), { ok: false, reason: 'peer exchange: 1048576 bytes is too long' });
});

test('over a socket: the preamble split across writes is stripped, the bytes after it reach the next reader', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<{ peer: string | undefined; rest: string }>((resolve, reject) => {
    server.once('connection', (s) => {
      readPreamble(s, undefined, (r) => {
        if ('error' in r) return reject(new Error(r.error));
        let rest = '';
        s.on('data', (c) => (rest += c));
        s.on('end', () => resolve({ peer: r.peer, rest }));
        s.resume();
      });
    });
  });
  const c = net.connect(port, '127.0.0.1');
  const p = encodePreamble('peer-value');
  c.write(p.subarray(0, 3));
  await new Promise((r) => setTimeout(r, 20));
  c.write(Buffer.concat([p.subarray(3), Buffer.from('hello ')]));
  c.end('world');
  assert.deepEqual(await got, { peer: 'peer-value', rest: 'hello world' });
  server.close();
});
