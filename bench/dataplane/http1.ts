// A minimal HTTP/1.1 keep-alive client connection for the load generator: one request in flight,
// responses framed by Content-Length or chunked encoding. Node's http client would add tens of
// microseconds and garbage per request to every row; this keeps the generator's own cost small.
import net from 'node:net';

/** What the open-loop generator needs of a connection (an HTTP/2 stream slot is one too). */
export interface LoadConnection {
  readonly idle: boolean;
  readonly isConnected: boolean;
  send(): void;
  destroy(): void;
}

export interface ConnectionCallbacks {
  /** A complete response arrived for the request in flight. */
  onResponse(status: number): void;
  /** The connection failed or closed; the request in flight (if any) is lost. */
  onClose(err: Error | undefined, hadRequest: boolean): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

export class Http1Connection implements LoadConnection {
  private readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private busy = false;
  private connected = false;
  private closed = false;
  // Parser state of the response being read.
  private status = 0;
  private bodyLeft = -1; // bytes of body still expected (Content-Length framing)
  private chunked = false;
  private closeAfter = false;

  constructor(
    port: number,
    private readonly request: Buffer,
    private readonly cb: ConnectionCallbacks,
    address = '127.0.0.1',
  ) {
    this.socket = net.connect({ host: address, port, noDelay: true });
    this.socket.on('connect', () => (this.connected = true));
    this.socket.on('data', (d) => this.onData(d));
    this.socket.on('error', (e) => this.finish(e));
    this.socket.on('close', () => this.finish(undefined));
  }

  get idle(): boolean {
    return !this.busy && !this.closed;
  }
  get isConnected(): boolean {
    return this.connected && !this.closed;
  }

  send(): void {
    this.busy = true;
    this.socket.write(this.request);
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private finish(err: Error | undefined): void {
    if (this.closed && !this.busy) return;
    const had = this.busy;
    this.closed = true;
    this.busy = false;
    this.socket.destroy();
    this.cb.onClose(err, had);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      if (this.status === 0) {
        const end = this.buf.indexOf(CRLFCRLF);
        if (end < 0) return;
        this.parseHead(this.buf.toString('latin1', 0, end));
        this.buf = this.buf.subarray(end + 4);
      }
      if (!this.chunked) {
        if (this.buf.length < this.bodyLeft) return;
        this.buf = this.buf.subarray(this.bodyLeft);
        this.complete();
        continue;
      }
      // Chunked: consume whole chunks; the 0-size chunk ends the body (trailers not expected).
      const lineEnd = this.buf.indexOf('\r\n');
      if (lineEnd < 0) return;
      const size = parseInt(this.buf.toString('latin1', 0, lineEnd), 16);
      if (size === 0) {
        if (this.buf.length < lineEnd + 4) return;
        this.buf = this.buf.subarray(lineEnd + 4);
        this.complete();
        continue;
      }
      if (this.buf.length < lineEnd + 2 + size + 2) return;
      this.buf = this.buf.subarray(lineEnd + 2 + size + 2);
    }
  }

  private parseHead(head: string): void {
    this.status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    this.chunked = !cl && /\r\ntransfer-encoding:[^\r]*chunked/.test(lower);
    this.bodyLeft = cl ? Number(cl[1]) : 0;
    this.closeAfter = /\r\nconnection:\s*close/.test(lower);
  }

  private complete(): void {
    const status = this.status;
    this.status = 0;
    this.bodyLeft = -1;
    this.busy = false;
    this.cb.onResponse(status);
    if (this.closeAfter) this.finish(undefined);
  }
}

export function getRequest(host: string, path = '/'): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: weft-bench\r\n\r\n`, 'latin1');
}
