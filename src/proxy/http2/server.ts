// The downstream HTTP/2 codec (h2c: cleartext, prior knowledge — TLS with ALPN arrives with mTLS),
// on node:http2. A listener hands it sockets whose first bytes were the HTTP/2 preface; each stream
// becomes a DownstreamRequest/DownstreamResponse pair for the same connection manager the HTTP/1.1
// codec feeds. Response trailers (gRPC's grpc-status) are carried; connection-specific headers
// are dropped (RFC 9113 §8.2.2); keepalive pings and max_concurrent_streams follow Envoy's defaults.
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http';
import type net from 'node:net';
import { Transform, type Readable } from 'node:stream';
import type { DownstreamRequest, DownstreamResponse } from '../http/codec.js';
import { createHeaderMap, type HeaderMap } from '../http/header-map.js';

/** Envoy's default SETTINGS_MAX_CONCURRENT_STREAMS is 2^31-1; a sidecar bounds it (Istio: 2^31-1 too,
 * but Weft's overload cap per listener applies anyway). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 1024;
/** Interval of keepalive PINGs on idle sessions, and how long an answer may take. */
const KEEPALIVE_INTERVAL_MS = 60_000;

const connectionSpecific = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

export interface Http2ServerOptions {
  onRequest(req: DownstreamRequest, res: DownstreamResponse): void;
  maxConcurrentStreams?: number;
}

class H2Request implements DownstreamRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: HeaderMap;
  readonly httpVersion = '2' as const;
  readonly body: Readable | undefined;
  readonly contentLength: number;
  bodyBytesReceived = 0;
  onBodyChunk?: (chunk: Buffer) => void;

  constructor(
    readonly socket: net.Socket,
    stream: http2.ServerHttp2Stream,
    raw: http2.IncomingHttpHeaders,
    readonly requestIndex: number,
  ) {
    this.method = String(raw[':method'] ?? 'GET');
    this.url = String(raw[':path'] ?? '/');
    const headers = createHeaderMap();
    for (const name of Object.keys(raw)) {
      if (name.charCodeAt(0) === 58 /* ':' */) continue;
      const v = raw[name];
      if (v !== undefined) headers[name] = Array.isArray(v) ? (name === 'cookie' ? v.join('; ') : v) : String(v);
    }
    // The connection manager reads the authority from `host`, as HTTP/1.1 carries it.
    const authority = raw[':authority'] ?? raw.host;
    if (authority !== undefined) headers.host = String(authority);
    this.headers = headers;
    const cl = headers['content-length'];
    this.contentLength = typeof cl === 'string' && /^\d+$/.test(cl) ? Number(cl) : -1;
    const noBody = stream.readableEnded || (stream as unknown as { endAfterHeaders: boolean }).endAfterHeaders;
    // Counting through a transform keeps the stream paused until the router pipes it upstream.
    this.body = noBody
      ? undefined
      : stream.pipe(
          new Transform({
            transform: (chunk: Buffer, _enc, cb) => {
              this.bodyBytesReceived += chunk.length;
              this.onBodyChunk?.(chunk);
              cb(null, chunk);
            },
          }),
        );
  }
}

class H2Response extends EventEmitter implements DownstreamResponse {
  headersSent = false;
  finished = false;
  destroyed = false;
  private pending: http2.OutgoingHttpHeaders | undefined;
  private closed = false;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly onCloseAfter: () => void,
  ) {
    super();
    stream.on('drain', () => this.emit('drain'));
    stream.on('close', () => {
      this.destroyed = !this.finished;
      this.fireClose();
    });
    stream.on('error', () => {});
  }

  private fireClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }

  closeConnectionAfter(): void {
    this.onCloseAfter();
  }

  writeHead(status: number, a?: string | OutgoingHttpHeaders, b?: OutgoingHttpHeaders): void {
    if (this.headersSent) throw new Error('writeHead: headers already sent');
    // HTTP/2 has no reason phrase.
    const headers = (typeof a === 'string' ? b : a) ?? {};
    const out: http2.OutgoingHttpHeaders = { ':status': status };
    for (const name of Object.keys(headers)) {
      const v = headers[name];
      if (v === undefined || connectionSpecific.has(name)) continue;
      out[name] = v as string | string[] | number;
    }
    this.pending = out;
    this.headersSent = true;
  }

  /** Send the head: with endStream when nothing follows (e.g. a gRPC trailers-only answer). */
  private flushHead(endStream: boolean, trailersFollow: boolean): void {
    const head = this.pending;
    if (!head) return;
    this.pending = undefined;
    if (this.stream.destroyed) return;
    this.stream.respond(head, { endStream, waitForTrailers: trailersFollow });
  }

  write(chunk: Buffer | string): boolean {
    if (this.destroyed || this.finished) return false;
    if (!this.headersSent) this.writeHead(200);
    this.flushHead(false, true);
    if (this.stream.destroyed || chunk.length === 0) return !this.stream.destroyed;
    return this.stream.write(chunk);
  }

  end(chunk?: Buffer | string, trailers?: HeaderMap): void {
    if (this.destroyed || this.finished) return;
    if (!this.headersSent) this.writeHead(200);
    const hasData = chunk !== undefined && chunk.length > 0;
    const hasTrailers = trailers !== undefined && Object.keys(trailers).length > 0;
    this.finished = true;
    const s = this.stream;
    if (this.pending) {
      const endNow = !hasData && !hasTrailers;
      this.flushHead(endNow, !endNow);
      if (endNow) return;
    }
    if (s.destroyed) return this.fireClose();
    if (s.headersSent && !s.writableEnded) {
      // waitForTrailers was set when the head went out: trailers (or an empty set) close the stream.
      s.once('wantTrailers', () => {
        const t: http2.OutgoingHttpHeaders = {};
        if (trailers) for (const k of Object.keys(trailers)) if (!connectionSpecific.has(k)) t[k] = trailers[k];
        s.sendTrailers(t);
      });
      if (hasData) s.end(chunk);
      else s.end();
    }
  }

  destroy(_err?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    this.fireClose();
  }
}

/** Serves HTTP/2 on sockets handed over by a listener; one node:http2 server holds the sessions. */
export class Http2Server {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Idle sessions are closed after this (HCM idle_timeout); 0: never. */
  idleTimeoutMs = 3_600_000;
  closing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly o: Http2ServerOptions) {
    this.server = http2.createServer({
      settings: { maxConcurrentStreams: o.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS },
      // Headers arrive from the network: Node's own limits on their size and count stay on.
    });
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('sessionError', () => {});
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Take a socket whose first bytes (`head`) were already read by the listener. */
  serve(socket: net.Socket, head: Buffer | undefined): void {
    if (this.closing) return void socket.destroy();
    // node:http2 makes the session (and emits 'session') synchronously inside emit('connection').
    this.arriving = socket;
    try {
      // Bytes a listener filter read go back into the socket's buffer: node:http2 feeds what is
      // buffered to the session (on the next tick) before it reads the native handle itself, so the
      // session keeps the fast path (a JS Duplex in between made node:http2 fall back to a JS
      // stream). Resuming at once would hand the buffered bytes to no one (a broken preface): the
      // socket is resumed (so its handle reads) only after the session took them, a tick later.
      if (head && head.length > 0) socket.unshift(head);
      this.server.emit('connection', socket);
      process.nextTick(() => socket.resume());
    } finally {
      this.arriving = undefined;
    }
  }

  /** The socket being handed to node:http2 right now (its session's addresses). */
  private arriving: net.Socket | undefined;

  private onSession(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    const socket = this.arriving ?? (session.socket as net.Socket);
    let index = 0;
    let goawayAfter = false;
    session.on('stream', (stream, headers) => {
      const req = new H2Request(socket, stream, headers, ++index);
      const res = new H2Response(stream, () => {
        goawayAfter = true;
      });
      res.once('close', () => {
        if ((goawayAfter || this.closing) && !session.closed && !session.destroyed) session.close();
      });
      this.o.onRequest(req, res);
    });
    session.on('error', () => {});
    session.once('close', () => {
      this.sessions.delete(session);
      if (this.sessions.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
    if (this.idleTimeoutMs > 0) session.setTimeout(this.idleTimeoutMs, () => session.close());
    // Keepalive: a peer that stops answering PINGs is gone.
    const ping = setInterval(() => {
      if (session.closed || session.destroyed) return clearInterval(ping);
      session.ping(() => {});
    }, KEEPALIVE_INTERVAL_MS).unref();
    session.once('close', () => clearInterval(ping));
  }

  /** GOAWAY to every session: streams in flight finish, no new ones start. */
  closeIdleConnections(): void {
    for (const s of this.sessions) if (!s.closed) s.close();
  }

  closeAllConnections(): void {
    for (const s of this.sessions) s.destroy();
  }

  close(): Promise<void> {
    this.closing = true;
    this.closeIdleConnections();
    return new Promise((resolve) => {
      if (this.sessions.size === 0) resolve();
      else this.idleWaiters.push(resolve);
    });
  }
}
