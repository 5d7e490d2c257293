// One HTTP/1.1 exchange on the downstream codec: the request as parsed, and the response written
// back (head serialisation, chunked or length-framed bodies, the 101 hand-over). The connection
// (server.ts) owns the socket; a response asks it to cork, finish and detach.
import { EventEmitter } from 'node:events';
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import type net from 'node:net';
import type { Readable } from 'node:stream';
import type { DownstreamRequest as DownstreamRequestView, DownstreamResponse as DownstreamResponseView } from '../http/codec.js';
import { invalidValueChar, tokenPattern, type MessageHeaders, type RequestHead } from './parser.js';
import type { ServerConnection } from './server.js';

let dateSecond = 0;
let dateValue = '';
/** The Date header value, rebuilt at most once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

export class DownstreamRequest implements DownstreamRequestView {
  readonly method: string;
  /** The request-target as sent. */
  readonly url: string;
  /** Lower-case names; the connection manager may add x-request-id. */
  readonly headers: MessageHeaders;
  readonly httpVersion: '1.0' | '1.1';
  readonly socket: net.Socket;
  /** The body, when the request has one (content-length > 0 or chunked). */
  readonly body: Readable | undefined;
  /** The body's length as framed by content-length; -1 when chunked or absent. */
  readonly contentLength: number;
  /** 1 for the first request on its connection (max_requests_per_connection counts these). */
  readonly requestIndex: number;
  bodyBytesReceived = 0;
  onBodyChunk?: (chunk: Buffer) => void;

  constructor(head: RequestHead, socket: net.Socket, body: Readable | undefined, requestIndex: number) {
    this.contentLength = head.contentLength;
    this.requestIndex = requestIndex;
    this.method = head.method;
    this.url = head.target;
    this.headers = head.headers;
    this.httpVersion = head.http10 ? '1.0' : '1.1';
    this.socket = socket;
    this.body = body;
  }
}

/** The answer to one request. Events: 'close' (finished, or the connection went away first),
 * 'drain' (write() returned false and the socket caught up). */
export class DownstreamResponse extends EventEmitter implements DownstreamResponseView {
  headersSent = false;
  /** end() was called. */
  finished = false;
  destroyed = false;
  private closeAfter: boolean;
  private noBody: boolean;
  private chunked = false;
  private pendingHead: string | undefined;

  constructor(
    private readonly conn: ServerConnection,
    private readonly isHead: boolean,
    private readonly http10: boolean,
    keepAlive: boolean,
  ) {
    super();
    this.closeAfter = !keepAlive;
    this.noBody = isHead;
  }

  /** Close the connection after this response (a draining listener). */
  closeConnectionAfter(): void {
    this.closeAfter = true;
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): void;
  writeHead(status: number, statusMessage: string, headers?: OutgoingHttpHeaders): void;
  writeHead(status: number, a?: string | OutgoingHttpHeaders, b?: OutgoingHttpHeaders): void {
    if (this.headersSent) throw new Error('writeHead: headers already sent');
    const message = typeof a === 'string' ? a : (STATUS_CODES[status] ?? 'Unknown');
    const headers = (typeof a === 'string' ? b : a) ?? {};
    if (invalidValueChar.test(message) || status < 100 || status > 999) throw new Error(`writeHead: invalid status ${status} ${message}`);
    this.noBody = this.isHead || status === 204 || status === 304 || status < 200;
    let head = `HTTP/1.1 ${status} ${message}\r\n`;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      if (!tokenPattern.test(name)) throw new Error(`writeHead: invalid header name "${name}"`);
      if (Array.isArray(value)) for (const v of value) head += field(name, v);
      else head += field(name, typeof value === 'string' ? value : String(value));
    }
    if (status === 101) {
      // Switching protocols: the head carries the upgrade's own Connection/Upgrade fields.
      this.pendingHead = head + '\r\n';
      this.headersSent = true;
      return;
    }
    if (headers.date === undefined) head += `date: ${httpDate()}\r\n`;
    if (headers['content-length'] === undefined && !this.noBody) {
      // Without a length the body is chunked, or for an HTTP/1.0 client runs to the close.
      if (this.http10) this.closeAfter = true;
      else {
        this.chunked = true;
        head += 'transfer-encoding: chunked\r\n';
      }
    }
    if (this.closeAfter) head += 'connection: close\r\n';
    else if (this.http10) head += 'connection: keep-alive\r\n';
    this.pendingHead = head + '\r\n';
    this.headersSent = true;
  }

  /** Returns false when the socket's buffer is full: wait for 'drain'. */
  write(chunk: Buffer | string): boolean {
    if (this.destroyed || this.finished) return false;
    if (!this.headersSent) this.writeHead(200);
    const socket = this.conn.socket;
    this.conn.corkForTick();
    if (this.pendingHead !== undefined) {
      socket.write(this.pendingHead, 'latin1');
      this.pendingHead = undefined;
    }
    if (this.noBody || chunk.length === 0) return !socket.writableNeedDrain;
    if (this.chunked) {
      socket.write(`${Buffer.byteLength(chunk).toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      return socket.write('\r\n', 'latin1');
    }
    return socket.write(chunk);
  }

  /** HTTP/1.1 responses here are never chunked with trailers: trailers are dropped. */
  end(chunk?: Buffer | string, _trailers?: MessageHeaders): void {
    if (this.destroyed || this.finished) return;
    if (!this.headersSent) this.writeHead(200);
    this.write(chunk ?? '');
    if (this.chunked) this.conn.socket.write('0\r\n\r\n', 'latin1');
    this.finished = true;
    this.conn.onResponseFinished(this, this.closeAfter);
    this.emit('close');
  }

  /** After writeHead(101): send the head and take the raw socket (the tunnel owns it from here;
   * it calls finishUpgrade() when it ends). */
  upgrade(): { socket: net.Socket; head: Buffer | undefined } {
    const socket = this.conn.socket;
    if (this.pendingHead !== undefined) socket.write(this.pendingHead, 'latin1');
    this.pendingHead = undefined;
    this.upgraded = true;
    return this.conn.detach();
  }

  private upgraded = false;

  /** The upgraded connection ended: the exchange is over. */
  finishUpgrade(clean: boolean): void {
    if (this.finished || this.destroyed) return;
    if (clean) this.finished = true;
    else this.destroyed = true;
    this.emit('close');
  }

  /** Cut the connection (the client sees the response break off). */
  destroy(_err?: Error): void {
    if (this.destroyed) return;
    if (this.upgraded) {
      this.conn.socket.destroy();
      return this.finishUpgrade(false);
    }
    this.conn.destroy();
  }

  /** The connection is gone: tell whoever waits on this response. */
  onConnectionClosed(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (!this.finished) this.emit('close');
  }
}

function field(name: string, value: string): string {
  if (invalidValueChar.test(value)) throw new Error(`writeHead: invalid value for header "${name}"`);
  return `${name}: ${value}\r\n`;
}

