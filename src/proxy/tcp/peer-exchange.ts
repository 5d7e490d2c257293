// Peer metadata for TCP (Istio's "istio-peer-exchange", in Weft's own form): when the mTLS
// handshake between two sidecars negotiated the ALPN protocol `weft-peer-exchange`, each side
// first writes one preamble — a magic number, a length and its own peer header value
// (api/peer-metadata.ts) — and reads and strips the other's before any application byte flows, so
// both reporters know both workloads and the apps never see it. Without that ALPN nothing is
// written or read. HTTP carries the same value in the x-weft-peer header instead.
import type net from 'node:net';

export { PEER_EXCHANGE_ALPN } from '../../api/peer-metadata.js';
const MAGIC = 0x77656674; // "weft"
const HEADER_BYTES = 8;
/** A peer header is small; anything larger is not a preamble. */
const MAX_PAYLOAD = 4096;

export function encodePreamble(peerHeader: string): Buffer {
  const payload = Buffer.from(peerHeader, 'utf8');
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32BE(MAGIC, 0);
  out.writeUInt32BE(payload.length, 4);
  payload.copy(out, HEADER_BYTES);
  return out;
}

export type PreambleResult = { ok: true; peer: string | undefined; rest: Buffer } | { ok: false; reason: string } | { ok: 'more' };

/** Parse a preamble from the bytes received so far. */
export function parsePreamble(buf: Buffer): PreambleResult {
  if (buf.length < HEADER_BYTES) return { ok: 'more' };
  if (buf.readUInt32BE(0) !== MAGIC) return { ok: false, reason: 'peer exchange: bad magic' };
  const len = buf.readUInt32BE(4);
  if (len > MAX_PAYLOAD) return { ok: false, reason: `peer exchange: ${len} bytes is too long` };
  if (buf.length < HEADER_BYTES + len) return { ok: 'more' };
  const peer = len ? buf.toString('utf8', HEADER_BYTES, HEADER_BYTES + len) : undefined;
  return { ok: true, peer, rest: buf.subarray(HEADER_BYTES + len) };
}

/** Read the peer's preamble off `socket` (after `head`, bytes already read from it), then put what
 * follows it back so the next reader sees the application's bytes only. The socket is left paused. */
export function readPreamble(socket: net.Socket, head: Buffer | undefined, done: (r: { peer: string | undefined } | { error: string }) => void): void {
  let buf = head ?? Buffer.alloc(0);
  const finish = (r: { peer: string | undefined } | { error: string }, rest?: Buffer) => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.pause();
    if (rest && rest.length) socket.unshift(rest);
    done(r);
  };
  const step = (): boolean => {
    const r = parsePreamble(buf);
    if (r.ok === 'more') return false;
    if (r.ok) finish({ peer: r.peer }, r.rest);
    else finish({ error: r.reason });
    return true;
  };
  const onData = (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    step();
  };
  const onEnd = () => finish({ error: 'peer exchange: the connection ended before the preamble' });
  if (step()) return;
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.resume();
}
