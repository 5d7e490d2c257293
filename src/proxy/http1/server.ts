// The downstream HTTP/1.1 server of a listener, over plain `net` sockets: requests are parsed by
// Http1Parser (which rejects smuggling shapes: content-length with transfer-encoding, bad
// content-length, transfer-encoding not ending in chunked, several Host headers), answered 400
// (431 for oversized headers) and the connection closed. One request per connection is served
// at a time; pipelined requests wait, unparsed, until the response before them is complete.
// `Expect: 100-continue` is answered at once, as Node's server does. Idle (keep-alive) and
// request timeouts are checked by one coarse sweep per server, not a timer per request.
// A listener hands accepted sockets to serve() (the HTTP connection manager is a network filter);
// listen() is kept for tests that run the codec on its own.
import net from 'node:net';
import { Readable } from 'node:stream';
import { DownstreamRequest, DownstreamResponse } from './exchange.js';
import { Http1ParseError, Http1Parser, type RequestHead } from './parser.js';

export { DownstreamRequest, DownstreamResponse };

export interface ServerOptions {
  onRequest(req: DownstreamRequest, res: DownstreamResponse): void;
  /** With listen(): whether to serve a new connection (false: it is closed at once). */
  acceptConnection?(socket: net.Socket): boolean;
  maxHeaderBytes?: number;
}

const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
/** Time allowed to receive a request's head unless configured (Node's headersTimeout default). */
export const DEFAULT_HEAD_TIMEOUT_MS = 60_000;
const SWEEP_INTERVAL_MS = 1000;
const CONTINUE_LINE = 'HTTP/1.1 100 Continue\r\n\r\n';

export class ServerConnection {
  readonly socket: net.Socket;
  private readonly parser: Http1Parser;
  /** The request being served and its response. */
  private request: DownstreamRequest | undefined;
  private response: DownstreamResponse | undefined;
  /** The body of the request being received, while it is wanted. */
  private body: Readable | undefined;
  private requestComplete = false;
  /** Bytes after a complete request (pipelining), parsed once its response is done. */
  private held: Buffer | undefined;
  /** Inside parser.execute: finishing an exchange must wait until it returns. */
  private parsing = false;
  private nextPending = false;
  private corked = false;
  private closed = false;
  /** The client shut down its sending side: close once what it sent is answered. */
  private clientEnded = false;
  /** When the current request's first bytes arrived (0: none under way). */
  requestStartedAt = 0;
  /** The current request's head has not fully arrived yet. */
  receivingHead = false;
  private requestCount = 0;
  idleSince = Date.now();

  constructor(
    private readonly server: Http1Server,
    socket: net.Socket,
  ) {
    this.socket = socket;
    this.parser = new Http1Parser(
      'request',
      {
        onRequestHead: (head) => this.onRequestHead(head),
        onBody: (chunk) => this.onBody(chunk),
        onComplete: () => this.onRequestComplete(),
      },
      server.options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    );
    this.parser.expect();
    socket.on('data', this.onDataEvent);
    socket.on('drain', this.onDrainEvent);
    socket.on('error', this.onCloseEvent);
    socket.on('close', this.onCloseEvent);
    socket.on('end', this.onEndEvent);
  }

  get idle(): boolean {
    return this.response === undefined && !this.parser.started;
  }

  /** Writes in this tick leave in one syscall (head and body together). */
  corkForTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(this.uncork);
  }

  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };

  private readonly onDataEvent = (data: Buffer): void => this.onData(data);
  private readonly onDrainEvent = (): void => void this.response?.emit('drain');
  private readonly onCloseEvent = (): void => this.destroy();
  private readonly onEndEvent = (): void => this.onEnd();

  /** The exchange switched protocols (101): hand the raw socket over, with any bytes the client
   * already sent after its request head. The codec lets go of the connection for good. */
  detach(): { socket: net.Socket; head: Buffer | undefined } {
    this.uncork();
    this.closed = true;
    this.parser.halt();
    const socket = this.socket;
    socket.off('data', this.onDataEvent);
    socket.off('drain', this.onDrainEvent);
    socket.off('error', this.onCloseEvent);
    socket.off('close', this.onCloseEvent);
    socket.off('end', this.onEndEvent);
    const head = this.held;
    this.held = undefined;
    this.server.forget(this);
    return { socket, head };
  }

  /** Bytes read before this connection was made (a listener filter peeked at them). */
  receive(data: Buffer): void {
    this.onData(data);
  }

  /** A pipelined request is held back (the socket stays paused until its turn). */
  get holding(): boolean {
    return this.held !== undefined;
  }

  private onData(data: Buffer): void {
    if (this.held) {
      // A pipelined request waits; so does reading until its turn comes.
      this.held = Buffer.concat([this.held, data]);
      this.socket.pause();
      return;
    }
    this.feed(data);
  }

  private feed(data: Buffer | undefined): void {
    while (data && !this.closed) {
      if (!this.parser.started) {
        this.requestStartedAt = Date.now();
        this.receivingHead = true;
      }
      let consumed: number;
      this.parsing = true;
      try {
        consumed = this.parser.execute(data);
      } catch (err) {
        if (!(err instanceof Http1ParseError)) throw err;
        return this.badRequest(err);
      } finally {
        this.parsing = false;
      }
      const rest = consumed < data.length ? data.subarray(consumed) : undefined;
      if (this.nextPending) {
        // The exchange finished while its request was parsed: go straight on to the next.
        this.nextPending = false;
        this.startNext();
        data = rest;
        continue;
      }
      if (rest) {
        this.held = rest;
        this.socket.pause();
      }
      break;
    }
    this.closeIfHalfClosedAndDone();
  }

  private closeIfHalfClosedAndDone(): void {
    if (this.clientEnded && !this.closed && this.response === undefined && this.held === undefined) {
      if (this.parser.started) this.destroy(); // a partial request will never complete
      else this.endConnection();
    }
  }

  private endConnection(): void {
    this.uncork();
    this.closed = true;
    this.parser.halt();
    // Pipelined bytes held back will not be served; read on (and drop) so the client's close is
    // seen: a socket left paused never sees its EOF and stays open forever.
    this.held = undefined;
    this.socket.resume();
    this.socket.end();
  }

  private onRequestHead(head: RequestHead): void {
    this.requestComplete = false;
    this.receivingHead = false;
    // Without a request timeout only the head is timed.
    if (this.server.requestTimeoutMs === 0) this.requestStartedAt = 0;
    const expect = head.headers.expect;
    let body: Readable | undefined;
    if (head.hasBody) {
      body = new Readable({ read: () => this.socket.resume() });
      this.body = body;
    }
    const req = new DownstreamRequest(head, this.socket, body, ++this.requestCount);
    this.request = req;
    const res = new DownstreamResponse(this, head.method === 'HEAD', head.http10, head.keepAlive && !this.server.closing);
    this.response = res;
    if (expect !== undefined) {
      if (typeof expect === 'string' && expect.toLowerCase() === '100-continue' && !head.http10) this.socket.write(CONTINUE_LINE, 'latin1');
      else {
        // An expectation this server cannot meet (RFC 9110 §10.1.1).
        res.closeConnectionAfter();
        res.writeHead(417, { 'content-length': 0 });
        res.end();
        return;
      }
    }
    this.server.options.onRequest(req, res);
  }

  private onBody(chunk: Buffer): void {
    if (this.request) {
      this.request.bodyBytesReceived += chunk.length;
      this.request.onBodyChunk?.(chunk);
    }
    // Backpressure: stop reading the socket until the body's consumer asks for more.
    if (this.body && !this.body.push(chunk)) this.socket.pause();
  }

  private onRequestComplete(): void {
    this.requestComplete = true;
    this.requestStartedAt = 0;
    const body = this.body;
    this.body = undefined;
    body?.push(null);
    if (this.response?.finished) this.exchangeDone();
  }

  onResponseFinished(res: DownstreamResponse, closeAfter: boolean): void {
    if (res !== this.response) return;
    if (closeAfter) return this.endConnection();
    if (this.requestComplete) return this.exchangeDone();
    // Answered before the request body arrived: read and drop the rest of it, then go on.
    this.body = undefined;
    this.socket.resume();
  }

  private exchangeDone(): void {
    if (this.parsing) {
      this.nextPending = true;
      return;
    }
    this.startNext();
    const held = this.held;
    this.held = undefined;
    this.socket.resume();
    if (held) this.feed(held);
    else this.closeIfHalfClosedAndDone();
  }

  private startNext(): void {
    this.response = undefined;
    this.requestComplete = false;
    this.idleSince = Date.now();
    this.parser.expect();
  }

  private onEnd(): void {
    // The client half-closed: answer what it sent (pipelined requests too), then close. A request
    // cut short (mid-head or mid-body) can never complete: reset it now, releasing its upstream.
    this.clientEnded = true;
    if (this.response && (this.response.finished || !this.requestComplete)) this.destroy();
    else this.closeIfHalfClosedAndDone();
  }

  private badRequest(err: Http1ParseError): void {
    if (this.response) {
      // Mid-exchange (a broken request body): all we can do is cut the connection.
      this.destroy();
      return;
    }
    const status = err.headerOverflow ? '431 Request Header Fields Too Large' : err.unsupportedCoding ? '501 Not Implemented' : '400 Bad Request';
    this.closed = true;
    this.parser.halt();
    this.socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, 'latin1');
  }

  /** Request timeout: answer 408 if nothing was sent yet, and close. */
  timeOut(): void {
    const res = this.response;
    if (res && res.headersSent) return this.destroy();
    this.closed = true;
    this.parser.halt();
    this.socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n', 'latin1');
    res?.onConnectionClosed();
  }

  destroy(): void {
    this.closed = true;
    this.parser.halt();
    if (!this.socket.destroyed) this.socket.destroy();
    this.body?.destroy();
    this.body = undefined;
    this.response?.onConnectionClosed();
    this.server.forget(this);
  }
}

export class Http1Server {
  readonly options: ServerOptions;
  /** Idle keep-alive connections are closed after this; 0: never. */
  keepAliveTimeoutMs = 5000;
  /** Time to receive a whole request; 0: only the head timeout applies. */
  requestTimeoutMs = 0;
  /** Time to receive a request's head. */
  headTimeoutMs = DEFAULT_HEAD_TIMEOUT_MS;
  closing = false;
  private net: net.Server | undefined;
  private readonly connections = new Set<ServerConnection>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(options: ServerOptions) {
    this.options = options;
  }

  /** Serve an accepted socket; `head` holds bytes a listener filter already read from it. */
  serve(socket: net.Socket, head?: Buffer): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new ServerConnection(this, socket);
    this.connections.add(conn);
    this.sweepTimer ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
    if (head && head.length > 0) conn.receive(head);
    // A listener filter may have paused the socket to peek at it.
    if (!socket.destroyed && !conn.holding) socket.resume();
  }

  /** Open connections. */
  get size(): number {
    return this.connections.size;
  }

  /** Run the codec on its own listening socket (tests; the proxy's listeners use serve()). */
  listen(host: string, port: number): Promise<void> {
    // Half-open: a client may shut down its side after a request and still read the response.
    const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      if (this.options.acceptConnection && !this.options.acceptConnection(socket)) socket.destroy();
      else this.serve(socket);
    });
    this.net = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        server.on('error', () => {}); // later errors are per connection
        resolve();
      });
    });
  }

  /** The bound port (0 before listen, or when sockets come from a listener). */
  get port(): number {
    const a = this.net?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  forget(conn: ServerConnection): void {
    this.connections.delete(conn);
    if (this.connections.size === 0) {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const conn of this.connections) {
      if (conn.requestStartedAt > 0) {
        const limit = !conn.receivingHead ? this.requestTimeoutMs : this.requestTimeoutMs > 0 ? Math.min(this.requestTimeoutMs, this.headTimeoutMs) : this.headTimeoutMs;
        if (limit > 0 && now - conn.requestStartedAt > limit) conn.timeOut();
      } else if (conn.idle && this.keepAliveTimeoutMs > 0 && now - conn.idleSince > this.keepAliveTimeoutMs) conn.destroy();
    }
  }

  closeIdleConnections(): void {
    for (const conn of this.connections) if (conn.idle) conn.destroy();
  }

  closeAllConnections(): void {
    for (const conn of this.connections) conn.destroy();
  }

  /** Stop accepting; resolves when every connection has closed. */
  close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => {
      if (this.connections.size === 0) resolve();
      else this.idleWaiters.push(resolve);
    });
    const server = this.net;
    if (!server) return closed;
    return Promise.all([closed, new Promise<void>((resolve) => server.close(() => resolve()))]).then(() => undefined);
  }
}
