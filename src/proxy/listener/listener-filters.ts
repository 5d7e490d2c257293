// Listener filters: they look at a new connection before its filter chain is chosen. tls_inspector
// reads a ClientHello (SNI, ALPN offered: src/proxy/tls/client-hello.ts) and marks the transport
// `tls`; http_inspector reads the first bytes of a plaintext connection and names the application
// protocol (HTTP/1.x by its request line, h2c by the HTTP/2 preface). Neither consumes what it
// reads: the bytes are handed on. Detection waits at most listener_filters_timeout.
import type net from 'node:net';
import { parseClientHello, type ClientHelloResult } from '../tls/client-hello.js';

const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const httpMethodStart = /^[A-Z]{3,16} [^\s]/;
/** Envoy's http_inspector reads up to 64 KiB; the request line is enough here. */
const MAX_PEEK = 64 * 1024;

export interface Detection {
  /** Bytes read while detecting (handed on to the chain's terminal filter). */
  head: Buffer | undefined;
  applicationProtocols: string[];
  /** The connection closed or failed while waiting. */
  gone: boolean;
  timedOut: boolean;
}

/** The application protocol of these first bytes; undefined: not decidable yet. */
export function inspectHttp(data: Buffer): string[] | undefined {
  const text = data.toString('latin1', 0, Math.min(data.length, 256));
  if (text.startsWith('PRI ') || H2_PREFACE.startsWith(text)) {
    if (H2_PREFACE.startsWith(text) && text.length < H2_PREFACE.length) return undefined;
    return text.startsWith(H2_PREFACE) ? ['h2c'] : [];
  }
  const eol = text.indexOf('\r\n');
  if (eol < 0) {
    // Not a line yet: wait for more unless it cannot be an HTTP request line.
    return /^[A-Z]{0,16}( [^\s]*)?$/.test(text) && data.length < MAX_PEEK ? undefined : [];
  }
  const line = text.slice(0, eol);
  if (!httpMethodStart.test(line)) return [];
  if (line.endsWith(' HTTP/1.1')) return ['http/1.1'];
  if (line.endsWith(' HTTP/1.0')) return ['http/1.0'];
  return [];
}

/** Read until the protocol is known, the timeout passes (0: none) or the connection goes. */
export function detectProtocol(socket: net.Socket, timeoutMs: number, head?: Buffer): Promise<Detection> {
  return readUntil(socket, timeoutMs, head, inspectHttp, []).then((r) => ({ head: r.head, applicationProtocols: r.value, gone: r.gone, timedOut: r.timedOut }));
}

export interface TlsDetection {
  head: Buffer | undefined;
  /** 'tls' with what the ClientHello offered, or why it is not TLS. */
  hello: Exclude<ClientHelloResult, { kind: 'need_more' }>;
  gone: boolean;
  timedOut: boolean;
}

/** tls_inspector: read until a ClientHello is parsed or the bytes cannot be one. */
export function detectTls(socket: net.Socket, timeoutMs: number): Promise<TlsDetection> {
  const decide = (data: Buffer) => {
    const r = parseClientHello(data);
    return r.kind === 'need_more' ? undefined : r;
  };
  return readUntil<TlsDetection['hello']>(socket, timeoutMs, undefined, decide, { kind: 'not_tls' }).then((r) => ({ head: r.head, hello: r.value, gone: r.gone, timedOut: r.timedOut }));
}

interface ReadResult<T> {
  head: Buffer | undefined;
  value: T;
  gone: boolean;
  timedOut: boolean;
}

/** Read (keeping every byte) until `decide` says what the bytes are, the timeout passes or the peer goes. */
function readUntil<T>(socket: net.Socket, timeoutMs: number, initial: Buffer | undefined, decide: (head: Buffer) => T | undefined, fallback: T): Promise<ReadResult<T>> {
  return new Promise((resolve) => {
    let head: Buffer | undefined = initial;
    let timer: NodeJS.Timeout | undefined;
    const known = head && head.length > 0 ? decide(head) : undefined;
    if (known !== undefined) return resolve({ head, value: known, gone: false, timedOut: false });
    const finish = (d: Omit<ReadResult<T>, 'head'>) => {
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
      socket.off('error', onGone);
      clearTimeout(timer);
      socket.pause();
      resolve({ head, ...d });
    };
    const onData = (chunk: Buffer) => {
      head = head ? Buffer.concat([head, chunk]) : chunk;
      const value = decide(head);
      if (value !== undefined) finish({ value, gone: false, timedOut: false });
    };
    const onGone = () => finish({ value: fallback, gone: true, timedOut: false });
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    socket.once('error', onGone);
    socket.resume();
    if (timeoutMs > 0) timer = setTimeout(() => finish({ value: fallback, gone: false, timedOut: true }), timeoutMs);
  });
}
