// The TLS inspector's ClientHello parser under fire: real ClientHellos from Node's TLS client (SNI,
// ALPN, TLS 1.2 and 1.3), every prefix of one (never decided too early), generated ClientHellos with
// random SNI and ALPN lists fragmented over several records (recovered exactly), and arbitrary or
// damaged bytes (never an exception, always one of the four answers, never a read past the bound).
import assert from 'node:assert/strict';
import net from 'node:net';
import { before, describe, it } from 'node:test';
import tls from 'node:tls';
import fc from 'fast-check';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from '../../src/proxy/tls/client-hello.js';
import { fuzzParams, fuzzTimeout } from './options.js';

/** The first bytes Node's TLS client sends (its ClientHello), captured by a plain TCP server. */
async function captureClientHello(o: tls.ConnectionOptions): Promise<Buffer> {
  let client: tls.TLSSocket | undefined;
  const server = net.createServer();
  try {
    const got = new Promise<Buffer>((resolve) =>
      server.on('connection', (s) => {
        let buf = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (parseClientHello(buf).kind !== 'need_more') {
            resolve(buf);
            s.destroy();
          }
        });
        s.on('error', () => {});
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, rejectUnauthorized: false, ...o });
    client.on('error', () => {});
    return await got;
  } finally {
    client?.destroy();
    server.close();
  }
}

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const vec8 = (b: Buffer) => Buffer.concat([Buffer.from([b.length]), b]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);

/** A ClientHello built from the RFCs (not from the parser), split into records at `cuts`. */
function buildClientHello(sni: string | undefined, alpn: string[], cuts: number[]): Buffer {
  const exts: Buffer[] = [];
  if (sni !== undefined) exts.push(Buffer.concat([u16(0), vec16(vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from(sni, 'latin1'))])))]));
  if (alpn.length > 0) exts.push(Buffer.concat([u16(16), vec16(vec16(Buffer.concat(alpn.map((p) => vec8(Buffer.from(p, 'latin1'))))))]));
  exts.push(Buffer.concat([u16(43), vec16(Buffer.from([2, 3, 4]))])); // supported_versions: TLS 1.3
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), vec8(Buffer.alloc(32, 1)), vec16(Buffer.from([0x13, 0x01, 0x13, 0x02])), vec8(Buffer.from([0])), vec16(Buffer.concat(exts))]);
  const handshake = Buffer.concat([Buffer.from([1]), u24(body.length), body]);
  const points = [...new Set(cuts.map((c) => 1 + (c % (handshake.length - 1))))].sort((a, b) => a - b);
  const records: Buffer[] = [];
  let from = 0;
  for (const at of [...points, handshake.length]) {
    if (at <= from) continue;
    const frag = handshake.subarray(from, at);
    records.push(Buffer.concat([Buffer.from([0x16, 3, 1]), u16(frag.length), frag]));
    from = at;
  }
  return Buffer.concat(records);
}

const kinds = new Set(['need_more', 'not_tls', 'too_large', 'tls']);
const hostname = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}\.){0,3}[a-z]{1,8}$/);
const protocol = fc.oneof(fc.constantFrom('h2', 'http/1.1', 'istio-peer-exchange', 'istio'), fc.stringMatching(/^[\x21-\x7e]{1,12}$/));

describe('ClientHello parser (tls_inspector)', () => {
  let real: Buffer;
  before(async () => {
    real = await captureClientHello({ servername: 'reviews.default.svc.cluster.local', ALPNProtocols: ['h2', 'http/1.1'] });
  });

  it("reads Node's real ClientHellos: SNI and ALPN, TLS 1.3 and 1.2, none of them without SNI", async () => {
    assert.deepEqual(parseClientHello(real), { kind: 'tls', serverName: 'reviews.default.svc.cluster.local', alpn: ['h2', 'http/1.1'] });
    const tls12 = await captureClientHello({ servername: 'Ratings.Default', maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] });
    assert.deepEqual(parseClientHello(tls12), { kind: 'tls', serverName: 'ratings.default', alpn: ['http/1.1'] });
    const bare = await captureClientHello({});
    assert.deepEqual(parseClientHello(bare), { kind: 'tls', serverName: undefined, alpn: [] });
  });

  it('every strict prefix of a ClientHello waits for more; plaintext HTTP is not TLS at once', () => {
    for (let n = 0; n < real.length; n++) assert.equal(parseClientHello(real.subarray(0, n)).kind, 'need_more', `prefix of ${n} bytes`);
    assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'not_tls');
    assert.equal(parseClientHello(Buffer.from('PRI * HTTP/2.0\r\n')).kind, 'not_tls');
    assert.equal(parseClientHello(Buffer.from([0x16])).kind, 'need_more');
  });

  it('recovers SNI and ALPN from generated ClientHellos fragmented over records', () => {
    fc.assert(
      fc.property(fc.option(hostname, { nil: undefined }), fc.array(protocol, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 6 }), (sni, alpn, cuts) => {
        const r = parseClientHello(buildClientHello(sni, alpn, cuts));
        assert.deepEqual(r, { kind: 'tls', serverName: sni, alpn });
      }),
      fuzzParams(300),
    );
  });

  it('arbitrary and damaged bytes never throw and always get one of the four answers', { timeout: fuzzTimeout }, () => {
    const damaged = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([at, byte, cut]) => {
      const b = Buffer.from(real);
      b[at % b.length] = byte;
      return b.subarray(0, 1 + (cut % b.length));
    });
    const tlsLooking = fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.concat([Buffer.from([0x16, 3, 1]), Buffer.from(u)]));
    fc.assert(
      fc.property(fc.oneof(damaged, tlsLooking, fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u))), (bytes) => {
        const r = parseClientHello(bytes);
        assert.ok(kinds.has(r.kind));
        if (r.kind === 'tls') for (const p of r.alpn) assert.ok(p.length > 0 && p.length < 256);
      }),
      fuzzParams(2000),
    );
  });

  it('a ClientHello that claims more than the bound is refused as too large, without waiting for it', () => {
    const header = Buffer.concat([Buffer.from([0x16, 3, 1]), u16(0x4000), Buffer.from([1]), u24(MAX_CLIENT_HELLO_BYTES + 1)]);
    assert.equal(parseClientHello(header).kind, 'too_large');
  });
});
