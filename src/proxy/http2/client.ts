// The upstream HTTP/2 pool on node:http2 (h2c with prior knowledge, or h2 over the cluster's TLS
// connector, offering ALPN h2): streams multiplexed on as few
// sessions as the peer's SETTINGS_MAX_CONCURRENT_STREAMS allows, at most `maxConnections`
// sessions; requests beyond that wait. Errors carry a `code` the router types: connect errors
// (ECONNREFUSED, ETIMEDOUT for the connect timeout), EREFUSEDSTREAM for a stream the peer refused
// (retriable: nothing was processed), ECONNRESET for a reset or a session lost mid-stream.
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import { createHeaderMap, type HeaderMap } from '../http/header-map.js';
import type { ExchangeHandler, UpstreamExchange, UpstreamPool, UpstreamRequest } from '../upstream/pool.js';
import { PENDING_OVERFLOW, type PoolResources } from '../http1/client.js';
import { plaintextConnector, type Connector, type UpstreamTlsInfo } from '../upstream/connector.js';
import { addressText } from '../listener/connection-info.js';

export interface Http2PoolOptions {
  ip: string;
  port: number;
  /** :authority when the request has no host. */
  authority: string;
  maxConnections: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** The cluster's circuit breakers: a request waiting for stream room holds a pending slot. */
  resources?: PoolResources;
  /** Streams per session this side opens at most (0: the peer's SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams?: number;
  /** How sessions' connections are made (TCP, or TLS offering ALPN h2); default plain TCP. */
  connector?: Connector;
}

const H2_ALPN: readonly string[] = ['h2'];

const connectionSpecific = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'te']);

function errorWithCode(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

class H2Exchange implements UpstreamExchange {
  stream: http2.ClientHttp2Stream | undefined;
  done = false;
  /** Gives back the pending-request slot this exchange holds while it waits. */
  leavePending: (() => void) | undefined;
  constructor(
    readonly req: UpstreamRequest,
    readonly handler: ExchangeHandler,
  ) {}

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.releasePending();
    this.stream?.close(http2.constants.NGHTTP2_CANCEL);
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  fail(err: NodeJS.ErrnoException): void {
    if (this.done) return;
    this.done = true;
    this.releasePending();
    this.handler.onError(err);
  }

  releasePending(): void {
    const leave = this.leavePending;
    this.leavePending = undefined;
    leave?.();
  }
}

class Session {
  readonly session: http2.ClientHttp2Session;
  connected = false;
  active = 0;
  /** What the TLS handshake proved (undefined for h2c). */
  tls: UpstreamTlsInfo | undefined;
  /** "ip:port" of this end, once asked for. */
  private localAddress: string | undefined;
  readonly scheme: 'http' | 'https';
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly pool: Http2Pool) {
    const o = pool.options;
    const host = o.ip.includes(':') ? `[${o.ip}]` : o.ip;
    const connector = o.connector ?? plaintextConnector;
    this.scheme = connector.kind === 'tls' ? 'https' : 'http';
    this.session = http2.connect(`${this.scheme}://${host}:${o.port}`, {
      settings: { enablePush: false },
      createConnection: () => connector.open({ ip: o.ip, port: o.port, alpn: H2_ALPN }, (tls) => (this.tls = tls)),
    });
    if (o.connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => this.fail(errorWithCode('ETIMEDOUT', `connect timeout after ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
    }
    this.session.once('connect', () => {
      clearTimeout(this.connectTimer);
      this.connected = true;
      pool.onConnected(this);
    });
    this.session.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
    this.session.once('close', () => this.fail(errorWithCode('ECONNRESET', 'upstream HTTP/2 session closed')));
    this.session.once('goaway', () => pool.retire(this));
    if (o.idleTimeoutMs > 0) this.session.setTimeout(o.idleTimeoutMs, () => this.active === 0 && this.session.close());
  }

  /** Streams this session may still open (the peer's limit). */
  get room(): number {
    const peer = this.session.remoteSettings?.maxConcurrentStreams ?? 100;
    const own = this.pool.options.maxConcurrentStreams ?? 0;
    const max = own > 0 ? Math.min(own, peer) : peer;
    return this.session.closed || this.session.destroyed ? 0 : max - this.active;
  }

  private fail(err: NodeJS.ErrnoException): void {
    clearTimeout(this.connectTimer);
    this.pool.lost(this, err);
    if (!this.session.destroyed) this.session.destroy();
  }

  start(ex: H2Exchange): void {
    const r = ex.req;
    const headers: http2.OutgoingHttpHeaders = {
      ':method': r.method,
      ':path': r.path,
      ':scheme': this.scheme,
      ':authority': typeof r.headers.host === 'string' ? r.headers.host : this.pool.options.authority,
    };
    for (const name of Object.keys(r.headers)) {
      const v = r.headers[name];
      if (v === undefined || connectionSpecific.has(name)) continue;
      headers[name] = v as string | string[] | number;
    }
    // gRPC needs `te: trailers`; any other te value is connection-specific in HTTP/2.
    if (r.headers.te === 'trailers') headers.te = 'trailers';
    const body = r.body;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.session.request(headers, { endStream: body === undefined });
    } catch (err) {
      process.nextTick(() => ex.fail(Object.assign(err as NodeJS.ErrnoException, { code: 'WEFT_E_UPSTREAM_PROTOCOL' })));
      return;
    }
    this.active++;
    ex.stream = stream;
    let ended = false;
    stream.on('response', (h) => {
      if (ex.done) return;
      const status = Number(h[':status']);
      if (status < 200) return; // interim responses (100, 103) are not relayed
      if (this.tls) ex.handler.onUpstreamTls?.(this.tls);
      ex.handler.onUpstreamLocalAddress?.((this.localAddress ??= addressText(this.session.socket?.localAddress, this.session.socket?.localPort)));
      ex.handler.onResponse(status, '', toHeaderMap(h));
    });
    stream.on('data', (c: Buffer) => !ex.done && ex.handler.onData(c));
    stream.on('trailers', (t) => !ex.done && ex.handler.onTrailers?.(toHeaderMap(t)));
    stream.on('end', () => {
      ended = true;
      if (ex.done) return;
      ex.done = true;
      ex.handler.onEnd();
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      this.active--;
      this.pool.onStreamClosed(this);
      if (ended) return;
      const refused = stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM;
      ex.fail(errorWithCode(refused ? 'EREFUSEDSTREAM' : 'ECONNRESET', refused ? 'upstream refused the stream' : `upstream reset the stream (code ${stream.rstCode})`));
    });
    if (Buffer.isBuffer(body)) stream.end(body);
    else if (body) pipeBody(body, stream);
  }
}

function pipeBody(body: Readable, stream: http2.ClientHttp2Stream): void {
  body.pipe(stream);
  // The downstream went away mid-body: the upstream stream is cancelled by the router's abort.
  body.once('error', () => stream.close(http2.constants.NGHTTP2_CANCEL));
}

function toHeaderMap(h: http2.IncomingHttpHeaders): HeaderMap {
  const out = createHeaderMap();
  for (const name of Object.keys(h)) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const v = h[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v : String(v);
  }
  return out;
}

export class Http2Pool implements UpstreamPool {
  readonly options: Http2PoolOptions;
  private readonly sessions = new Set<Session>();
  private readonly queue: H2Exchange[] = [];
  private closing = false;
  private closedWaiters: Array<() => void> = [];

  constructor(options: Http2PoolOptions) {
    this.options = options;
  }

  get connected(): number {
    let n = 0;
    for (const s of this.sessions) if (s.connected) n++;
    return n;
  }

  request(req: UpstreamRequest, handler: ExchangeHandler): UpstreamExchange {
    const ex = new H2Exchange(req, handler);
    if (this.closing) {
      process.nextTick(() => ex.fail(errorWithCode('ECONNRESET', 'upstream pool closed')));
      return ex;
    }
    // Without stream room now, the request waits: max_pending_requests (answered at once when full).
    const res = this.options.resources;
    if (res && ![...this.sessions].some((x) => x.connected && x.room > 0)) {
      if (!res.tryAcquirePending()) {
        process.nextTick(() => ex.fail(errorWithCode(PENDING_OVERFLOW, 'too many requests waiting for an upstream stream')));
        return ex;
      }
      ex.leavePending = () => res.releasePending();
    }
    this.queue.push(ex);
    // Callbacks never fire before request() returns.
    process.nextTick(() => this.dispatch());
    return ex;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const ex = this.queue[0];
      if (ex.done) {
        this.queue.shift();
        continue;
      }
      let target: Session | undefined;
      for (const s of this.sessions) if (s.connected && s.room > 0) target = s;
      if (!target) {
        const connecting = [...this.sessions].some((s) => !s.connected);
        if (!connecting && this.sessions.size < this.options.maxConnections) this.sessions.add(new Session(this));
        return;
      }
      this.queue.shift();
      ex.releasePending();
      target.start(ex);
    }
  }

  onConnected(_s: Session): void {
    this.dispatch();
  }

  onStreamClosed(_s: Session): void {
    if (this.queue.length > 0) this.dispatch();
    this.checkClosed();
  }

  /** GOAWAY: no new streams on this session. */
  retire(s: Session): void {
    this.sessions.delete(s);
    this.dispatch();
  }

  lost(s: Session, err: NodeJS.ErrnoException): void {
    if (!this.sessions.delete(s)) return;
    if (!s.connected) {
      // Nothing could be sent: the queued requests fail with the connect error.
      for (const ex of this.queue.splice(0)) ex.fail(err);
    }
    this.checkClosed();
  }

  private checkClosed(): void {
    if (!this.closing) return;
    const busy = [...this.sessions].some((s) => s.active > 0);
    if (!busy) {
      for (const s of this.sessions) s.session.close();
      if (this.closedWaiters.length > 0) for (const w of this.closedWaiters.splice(0)) w();
    }
  }

  close(): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      this.closedWaiters.push(resolve);
      this.checkClosed();
    });
  }

  destroy(): void {
    this.closing = true;
    const err = errorWithCode('ECONNRESET', 'upstream pool destroyed');
    for (const ex of this.queue.splice(0)) ex.fail(err);
    for (const s of [...this.sessions]) s.session.destroy();
    this.sessions.clear();
  }
}
