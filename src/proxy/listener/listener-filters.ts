// Listener filters: they look at a new connection before its filter chain is chosen. http_inspector
// reads the first bytes and names the application protocol (HTTP/1.x by its request line, h2c by the
// HTTP/2 preface); tls_inspector has nothing to find until TLS arrives (it reports raw_buffer).
// Detection waits at most listener_filters_timeout, and only when the chain depends on it.
import type net from 'node:net';

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
export function detectProtocol(socket: net.Socket, timeoutMs: number): Promise<Detection> {
  return new Promise((resolve) => {
    let head: Buffer | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (d: Omit<Detection, 'head'>) => {
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
      const protocols = inspectHttp(head);
      if (protocols !== undefined) finish({ applicationProtocols: protocols, gone: false, timedOut: false });
    };
    const onGone = () => finish({ applicationProtocols: [], gone: true, timedOut: false });
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    socket.once('error', onGone);
    if (timeoutMs > 0) timer = setTimeout(() => finish({ applicationProtocols: [], gone: false, timedOut: true }), timeoutMs);
  });
}
