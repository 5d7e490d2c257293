// A keep-alive HTTP/1.1 connection pool to one upstream address, over the cluster's connector (TCP
// or TLS, upstream/connector.ts): one
// request at a time per connection (no pipelining), at most `maxConnections` sockets, requests
// queued beyond that. A request is written synchronously when a connection is free (head and a
// buffered body in one write), and the response is parsed by ResponseParser. Errors carry a
// `code`: errno codes from the socket, ETIMEDOUT for a connect timeout, ECONNRESET for a
// connection closed before the response ended, WEFT_E_UPSTREAM_PROTOCOL for a malformed response.
import type net from 'node:net';
import type { Readable } from 'node:stream';
import { ProxyError } from '../errors.js';
import { plaintextConnector, type Connector, type UpstreamTlsInfo } from '../upstream/connector.js';
import type { ExchangeHandler, UpstreamExchange, UpstreamPool, UpstreamRequest } from '../upstream/pool.js';
import { Http1Parser, invalidValueChar, tokenPattern, type ResponseHead } from './parser.js';
import { addressText } from '../listener/connection-info.js';

export type { ExchangeHandler, UpstreamRequest } from '../upstream/pool.js';

export interface PoolOptions {
  ip: string;
  port: number;
  /** Sent as Host when the request has none. */
  authority: string;
  maxConnections: number;
  /** 0: no connect timeout. */
  connectTimeoutMs: number;
  /** Idle connections are closed after this. */
  idleTimeoutMs: number;
  maxHeaderBytes?: number;
  /** Requests per connection before it is closed (max_requests_per_connection; 0: unlimited). */
  maxRequestsPerConnection?: number;
  /** TCP keep-alive idle time before probes (upstream_connection_options.tcp_keepalive). */
  tcpKeepaliveMs?: number;
  /** Cluster-wide connection and pending-request limits shared by the cluster's pools. */
  resources?: PoolResources;
  /** How connections are made (TCP, or TLS offering ALPN http/1.1); default plain TCP. */
  connector?: Connector;
}

/** Circuit-breaker resources a pool obeys (implemented per cluster by ClusterResources). */
export interface PoolResources {
  canOpenConnection(): boolean;
  /** A connection was wanted but the cluster limit stood in the way (upstream_cx_overflow). */
  onConnectionOverflow(): void;
  connectionOpened(): void;
  connectionClosed(): void;
  /** A request may wait for a connection; false (counted) when max_pending_requests is reached. */
  tryAcquirePending(): boolean;
  releasePending(): void;
}

const unlimited: PoolResources = {
  canOpenConnection: () => true,
  onConnectionOverflow: () => {},
  connectionOpened: () => {},
  connectionClosed: () => {},
  tryAcquirePending: () => true,
  releasePending: () => {},
};

/** The error code of a request refused because max_pending_requests was reached. */
export const PENDING_OVERFLOW = 'WEFT_POOL_PENDING_OVERFLOW';

const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
const HTTP1_ALPN: readonly string[] = ['http/1.1'];
const TCP_KEEPALIVE_MS = 60_000;
const invalidTargetChar = /[^\x21-\x7e\x80-\xff]/;

function errorWithCode(code: string, message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message);
  err.code = code;
  return err;
}

/** One request on the pool: queued, then bound to a connection until it ends. */
export class Exchange implements UpstreamExchange {
  connection: Connection | undefined;
  done = false;
  /** Holds a pending-request slot: waiting for a connection (queued or while it connects). */
  pending = false;

  constructor(
    readonly pool: Http1Pool,
    readonly request: UpstreamRequest,
    readonly handler: ExchangeHandler,
  ) {}

  /** Give up: a queued exchange leaves the queue, a running one takes its connection down. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.leavePending();
    if (this.connection) this.connection.destroy();
    else this.pool.dequeue(this);
  }

  /** Backpressure from the downstream: stop reading the response until resume(). */
  pause(): void {
    this.connection?.socket.pause();
  }

  resume(): void {
    this.connection?.socket.resume();
  }

  fail(err: NodeJS.ErrnoException): void {
    if (this.done) return;
    this.done = true;
    this.leavePending();
    this.handler.onError(err);
  }

  leavePending(): void {
    if (!this.pending) return;
    this.pending = false;
    this.pool.resources.releasePending();
  }
}

class Connection {
  readonly socket: net.Socket;
  private readonly parser: Http1Parser;
  private exchange: Exchange | undefined;
  private connected = false;
  private connectTimer: NodeJS.Timeout | undefined;
  /** A streamed request body still being written. */
  private bodyStream: Readable | undefined;
  /** Stops writing the streamed body (the exchange ended first). */
  private detachBody: (() => void) | undefined;
  private closed = false;
  private requestsSent = 0;
  /** What the TLS handshake proved (undefined over plain TCP). */
  private tls: UpstreamTlsInfo | undefined;
  /** "ip:port" of this end, once asked for. */
  private localAddress: string | undefined;
  idleSince = 0;

  constructor(
    private readonly pool: Http1Pool,
    first: Exchange,
  ) {
    const o = pool.options;
    this.parser = new Http1Parser(
      'response',
      {
        onResponseHead: (head) => this.onHead(head),
        onBody: (chunk) => this.exchange?.handler.onData(chunk),
        onComplete: (reusable) => this.onComplete(reusable),
      },
      o.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    );
    this.exchange = first;
    first.connection = this;
    pool.resources.connectionOpened();
    const connector = o.connector ?? plaintextConnector;
    this.socket = connector.open({ ip: o.ip, port: o.port, keepAliveMs: o.tcpKeepaliveMs ?? TCP_KEEPALIVE_MS, alpn: HTTP1_ALPN }, (tls) => {
      this.tls = tls;
      this.onConnect();
    });
    if (o.connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => this.fail(errorWithCode('ETIMEDOUT', `connect timeout after ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
    }
    this.socket.on('data', (data: Buffer) => this.onData(data));
    this.socket.on('end', () => this.onEof());
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.onClose());
  }

  private onConnect(): void {
    clearTimeout(this.connectTimer);
    this.connected = true;
    this.pool.connected++;
    if (this.exchange) this.send(this.exchange);
  }

  /** Bind an exchange to this (idle, connected) connection and write it. */
  start(ex: Exchange): void {
    this.exchange = ex;
    ex.connection = this;
    this.send(ex);
  }

  private send(ex: Exchange): void {
    const { request } = ex;
    ex.leavePending();
    this.requestsSent++;
    this.parser.expect(request.method !== 'HEAD');
    const body = request.body;
    let head: string;
    try {
      head = serializeHead(request, this.pool.options.authority);
    } catch (err) {
      // Nothing was written: the connection stays good for the next request.
      this.exchange = undefined;
      ex.connection = undefined;
      process.nextTick(() => ex.fail(err as NodeJS.ErrnoException));
      this.pool.release(this);
      return;
    }
    if (body === undefined) this.socket.write(head, 'latin1');
    else if (Buffer.isBuffer(body)) {
      // One buffer, one write syscall: head and body together.
      const out = Buffer.allocUnsafe(head.length + body.length);
      out.write(head, 0, 'latin1');
      body.copy(out, head.length);
      this.socket.write(out);
    } else {
      this.socket.write(head, 'latin1');
      this.streamBody(body, !(request.bodyLength !== undefined && request.bodyLength >= 0));
    }
  }

  private streamBody(body: Readable, chunked: boolean): void {
    this.bodyStream = body;
    const socket = this.socket;
    const onData = (chunk: Buffer) => {
      let ok: boolean;
      if (chunked) {
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else ok = socket.write(chunk);
      if (!ok) {
        body.pause();
        socket.once('drain', () => body.resume());
      }
    };
    const onEnd = () => {
      if (chunked) socket.write('0\r\n\r\n', 'latin1');
      detach();
      this.bodyStream = undefined;
    };
    const detach = () => {
      body.off('data', onData);
      body.off('end', onEnd);
    };
    this.detachBody = detach;
    body.on('data', onData);
    body.on('end', onEnd);
  }

  private onHead(head: ResponseHead): void {
    const ex = this.exchange;
    if (!ex) return;
    if (this.tls) ex.handler.onUpstreamTls?.(this.tls);
    ex.handler.onUpstreamLocalAddress?.((this.localAddress ??= addressText(this.socket.localAddress, this.socket.localPort)));
    ex.handler.onResponse(head.status, head.statusMessage, head.headers);
  }

  private onComplete(reusable: boolean): void {
    const ex = this.exchange;
    // A request body still streaming when the response ended leaves the connection mid-message.
    const maxRequests = this.pool.options.maxRequestsPerConnection ?? 0;
    const keep = reusable && this.bodyStream === undefined && (maxRequests === 0 || this.requestsSent < maxRequests);
    this.exchange = undefined;
    if (ex) {
      ex.connection = undefined;
      ex.done = true;
    }
    if (!keep) this.destroy();
    ex?.handler.onEnd();
    if (keep) {
      // Idle connections must read, or a server's close goes unnoticed.
      this.socket.resume();
      this.pool.release(this);
    }
  }

  private onData(data: Buffer): void {
    try {
      this.parser.execute(data);
    } catch (err) {
      this.fail(err as NodeJS.ErrnoException);
    }
  }

  private onEof(): void {
    // A body delimited by the close ends here; any other message was cut short.
    if (this.parser.busy && this.parser.finishOnEof()) return;
    this.fail(errorWithCode('ECONNRESET', 'upstream closed the connection before the response ended'));
  }

  /** Take the connection down; its exchange (if any) fails with err. */
  fail(err: NodeJS.ErrnoException): void {
    const ex = this.exchange;
    this.exchange = undefined;
    this.destroy();
    if (ex) {
      ex.connection = undefined;
      ex.fail(err);
    }
  }

  private onClose(): void {
    if (this.exchange) this.fail(errorWithCode('ECONNRESET', 'upstream connection closed'));
    else this.destroy();
  }

  /** Take the connection down (idempotent); an exchange on it gets no further callbacks. */
  destroy(): void {
    this.parser.halt();
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.connectTimer);
    this.detachBody?.();
    this.bodyStream = undefined;
    if (this.exchange) {
      this.exchange.connection = undefined;
      this.exchange = undefined;
    }
    if (this.connected) this.pool.connected--;
    this.connected = false;
    this.pool.resources.connectionClosed();
    this.socket.destroy();
    this.pool.forget(this);
  }
}

/** The request head, validated: header values may come from route configuration. Framing comes
 * from the body itself, never from the content-length or transfer-encoding in `headers`: a header
 * map edited by hop-by-hop rules or route config cannot unframe a body (request smuggling). */
export function serializeHead(r: UpstreamRequest, authority: string): string {
  if (invalidTargetChar.test(r.path) || !tokenPattern.test(r.method)) throw new ProxyError('WEFT_E_UPSTREAM_PROTOCOL', 'invalid request line');
  let head = `${r.method} ${r.path} HTTP/1.1\r\n`;
  const headers = r.headers;
  if (headers.host === undefined) head += `host: ${authority}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || name === 'content-length' || name === 'transfer-encoding') continue;
    if (!tokenPattern.test(name)) throw new ProxyError('WEFT_E_UPSTREAM_PROTOCOL', `invalid header name "${name}"`);
    if (Array.isArray(value)) for (const v of value) head += headerLine(name, v);
    else head += headerLine(name, typeof value === 'string' ? value : String(value));
  }
  const body = r.body;
  if (body === undefined) {
    // An empty body that the client framed explicitly (POST with content-length: 0) stays framed.
    if (headers['content-length'] !== undefined) head += 'content-length: 0\r\n';
  } else if (Buffer.isBuffer(body)) head += `content-length: ${body.length}\r\n`;
  else if (r.bodyLength !== undefined && r.bodyLength >= 0) head += `content-length: ${r.bodyLength}\r\n`;
  else head += 'transfer-encoding: chunked\r\n';
  return head + '\r\n';
}

function headerLine(name: string, value: string): string {
  if (invalidValueChar.test(value)) throw new ProxyError('WEFT_E_UPSTREAM_PROTOCOL', `invalid value for header "${name}"`);
  return `${name}: ${value}\r\n`;
}

export class Http1Pool implements UpstreamPool {
  readonly options: PoolOptions;
  readonly resources: PoolResources;
  /** Connected sockets (the admin's cx figure). */
  connected = 0;
  closing = false;
  private readonly all = new Set<Connection>();
  /** Most recently used last: reuse the warmest connection. */
  private readonly idle: Connection[] = [];
  private readonly queue: Exchange[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private closedWaiters: Array<() => void> = [];

  constructor(options: PoolOptions) {
    this.options = options;
    this.resources = options.resources ?? unlimited;
  }

  /** Send a request (written now if a connection is free); callbacks never fire before this returns. */
  request(req: UpstreamRequest, handler: ExchangeHandler): Exchange {
    const ex = new Exchange(this, req, handler);
    if (this.closing) {
      process.nextTick(() => ex.fail(errorWithCode('ECONNRESET', 'upstream pool closed')));
      return ex;
    }
    const conn = this.idle.pop();
    if (conn) {
      conn.start(ex);
      return ex;
    }
    if (!this.resources.tryAcquirePending()) {
      process.nextTick(() => ex.fail(errorWithCode(PENDING_OVERFLOW, 'too many requests waiting for an upstream connection')));
      return ex;
    }
    ex.pending = true;
    if (this.mayOpen()) this.all.add(new Connection(this, ex));
    else {
      if (this.all.size < this.options.maxConnections) this.resources.onConnectionOverflow();
      this.queue.push(ex);
    }
    return ex;
  }

  /** A pool without connections always gets one (as in Envoy), or queued requests could wait
   * forever on connections other hosts hold. */
  private mayOpen(): boolean {
    return this.all.size < this.options.maxConnections && (this.all.size === 0 || this.resources.canOpenConnection());
  }

  /** A connection finished its exchange and is reusable. */
  release(conn: Connection): void {
    while (this.queue.length > 0) {
      const next = this.queue.shift()!;
      if (!next.done) return conn.start(next);
    }
    if (this.closing) {
      conn.destroy();
      return;
    }
    conn.idleSince = Date.now();
    this.idle.push(conn);
    // One coarse sweep for all idle connections instead of a timer per request.
    this.sweepTimer ??= setInterval(() => this.sweepIdle(), Math.max(1000, this.options.idleTimeoutMs / 4)).unref();
  }

  dequeue(ex: Exchange): void {
    const i = this.queue.indexOf(ex);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** Called by a connection as it goes down. */
  forget(conn: Connection): void {
    if (!this.all.delete(conn)) return;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // Queued requests get the freed slot.
    while (this.queue.length > 0 && this.mayOpen()) {
      const next = this.queue.shift()!;
      if (!next.done) this.all.add(new Connection(this, next));
    }
    if (this.idle.length === 0) this.stopSweep();
    if (this.all.size === 0 && this.closedWaiters.length > 0) for (const w of this.closedWaiters.splice(0)) w();
  }

  private sweepIdle(): void {
    const cutoff = Date.now() - this.options.idleTimeoutMs;
    for (const conn of this.idle.filter((c) => c.idleSince <= cutoff)) conn.destroy();
  }

  private stopSweep(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  /** Requests in flight and queued finish; idle connections close now, busy ones when done. */
  close(): Promise<void> {
    this.closing = true;
    for (const conn of [...this.idle]) conn.destroy();
    if (this.all.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  /** Cut everything: exchanges in flight and queued fail. */
  destroy(): void {
    this.closing = true;
    const err = errorWithCode('ECONNRESET', 'upstream pool destroyed');
    for (const ex of this.queue.splice(0)) ex.fail(err);
    for (const conn of [...this.all]) conn.fail(err);
    this.stopSweep();
  }
}
