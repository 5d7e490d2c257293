// The TLS inspector's parser: reads a ClientHello from the first bytes of a connection without
// consuming them (the bytes are handed on to the TLS transport socket), and tells what the client
// offers: its SNI and ALPN protocols. Bounded like Envoy's tls_inspector (64 KiB of ClientHello);
// malformed input is "not TLS", never an exception. RFC 8446 §4.1.2 (ClientHello), RFC 6066 §3
// (server_name), RFC 7301 §3.1 (ALPN).

/** Envoy's tls_inspector max_client_hello_size default. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const SNI_HOST_NAME = 0;

export type ClientHelloResult =
  | { kind: 'need_more' }
  | { kind: 'not_tls' }
  /** A ClientHello that does not fit the bound: Envoy closes such connections. */
  | { kind: 'too_large' }
  | { kind: 'tls'; serverName: string | undefined; alpn: string[] };

/** Parse what has arrived so far. */
export function parseClientHello(data: Buffer): ClientHelloResult {
  // The handshake message may be fragmented over several records: gather their payloads.
  let handshake = Buffer.alloc(0);
  let offset = 0;
  for (;;) {
    if (data.length < offset + 5) return incomplete(data, offset);
    if (data[offset] !== RECORD_HANDSHAKE || data[offset + 1] !== 0x03) return { kind: 'not_tls' };
    const len = data.readUInt16BE(offset + 3);
    if (len === 0) return { kind: 'not_tls' };
    const complete = data.length >= offset + 5 + len;
    handshake = Buffer.concat([handshake, data.subarray(offset + 5, Math.min(data.length, offset + 5 + len))]);
    // The handshake header can be judged before its record is complete: no waiting for a lie.
    if (handshake.length >= 4) {
      if (handshake[0] !== HANDSHAKE_CLIENT_HELLO) return { kind: 'not_tls' };
      const bodyLen = handshake.readUIntBE(1, 3);
      if (bodyLen + 4 > MAX_CLIENT_HELLO_BYTES) return { kind: 'too_large' };
      if (complete && handshake.length >= bodyLen + 4) return clientHelloBody(handshake.subarray(4, 4 + bodyLen));
    }
    if (!complete) return incomplete(data, offset + 5 + len);
    offset += 5 + len;
    if (offset > MAX_CLIENT_HELLO_BYTES) return { kind: 'too_large' };
  }
}

function incomplete(data: Buffer, needed: number): ClientHelloResult {
  if (needed > MAX_CLIENT_HELLO_BYTES + 5 * 16) return { kind: 'too_large' };
  // A record header that is already wrong need not wait for more.
  if (data.length > 0 && data[0] !== RECORD_HANDSHAKE) return { kind: 'not_tls' };
  if (data.length > 1 && data[1] !== 0x03) return { kind: 'not_tls' };
  return { kind: 'need_more' };
}

/** A bounds-checked reader: any read past the end throws Truncated, which means "not TLS". */
class Reader {
  private pos = 0;
  constructor(private readonly b: Buffer) {}
  get done(): boolean {
    return this.pos >= this.b.length;
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = this.b.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new Truncated();
  }
}

class Truncated extends Error {}

function clientHelloBody(body: Buffer): ClientHelloResult {
  try {
    const r = new Reader(body);
    const major = r.u8();
    r.u8();
    if (major !== 0x03) return { kind: 'not_tls' };
    r.bytes(32); // random
    r.bytes(r.u8()); // legacy_session_id
    const suites = r.u16();
    if (suites === 0 || suites % 2 !== 0) return { kind: 'not_tls' };
    r.bytes(suites);
    r.bytes(r.u8()); // compression methods
    let serverName: string | undefined;
    let alpn: string[] = [];
    // No extensions at all is a valid (old) ClientHello.
    if (r.done) return { kind: 'tls', serverName, alpn };
    const ext = new Reader(r.bytes(r.u16()));
    while (!ext.done) {
      const type = ext.u16();
      const data = ext.bytes(ext.u16());
      if (type === EXT_SERVER_NAME) serverName = sniOf(data);
      else if (type === EXT_ALPN) alpn = alpnOf(data);
    }
    return { kind: 'tls', serverName, alpn };
  } catch (err) {
    if (err instanceof Truncated) return { kind: 'not_tls' };
    throw err;
  }
}

function sniOf(data: Buffer): string | undefined {
  const r = new Reader(data);
  const list = new Reader(r.bytes(r.u16()));
  while (!list.done) {
    const type = list.u8();
    const name = list.bytes(list.u16());
    // Host names are ASCII (RFC 6066); anything else is ignored, as no chain can name it.
    if (type === SNI_HOST_NAME && name.length > 0 && /^[\x21-\x7e]+$/.test(name.toString('latin1'))) return name.toString('latin1').toLowerCase();
  }
  return undefined;
}

function alpnOf(data: Buffer): string[] {
  const r = new Reader(data);
  const list = new Reader(r.bytes(r.u16()));
  const out: string[] = [];
  while (!list.done) {
    const p = list.bytes(list.u8());
    if (p.length > 0) out.push(p.toString('latin1'));
  }
  return out;
}
