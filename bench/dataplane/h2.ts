// HTTP/2 (h2c) for the load generator: request slots multiplexed on a few sessions, each slot with
// one stream in flight, so the open loop's dispatch works as over HTTP/1.1 connections. Sessions
// are node:http2's (a generator of our own would add nothing the direct row does not subtract).
// Also the probes that check each row answers correctly before it is measured.
import http2 from 'node:http2';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ConnectionCallbacks, LoadConnection } from './http1.js';

export interface H2Request {
  headers: http2.OutgoingHttpHeaders;
  body?: Buffer;
  /** gRPC: success is :status 200 *and* grpc-status 0 (in trailers, or in a trailers-only answer). */
  grpc: boolean;
}

/** The gRPC unary request of the gRPC rows: a 64-byte message to /weft.bench.Bench/Unary. */
export const GRPC_PATH = '/weft.bench.Bench/Unary';
export const GRPC_REQUEST_MESSAGE = Buffer.alloc(64, 'q');

export function h2Request(kind: 'h2c' | 'grpc', authority: string, frame?: Buffer): H2Request {
  if (kind === 'h2c') return { headers: { ':method': 'GET', ':path': '/', ':authority': authority }, grpc: false };
  return {
    headers: { ':method': 'POST', ':path': GRPC_PATH, ':authority': authority, 'content-type': 'application/grpc', te: 'trailers' },
    body: frame,
    grpc: true,
  };
}

/** A session per index, replaced when it closes (a slot's next request gets the new one). */
export class H2SessionPool {
  private readonly sessions: Array<{ s: http2.ClientHttp2Session; connected: boolean } | undefined> = [];
  constructor(private readonly port: number, readonly size: number) {}
  get(i: number): { s: http2.ClientHttp2Session; connected: boolean } {
    const cur = this.sessions[i];
    if (cur && !cur.s.closed && !cur.s.destroyed) return cur;
    const port = this.port;
    const s = http2.connect(`http://127.0.0.1:${port}`, {
      settings: { enablePush: false },
      // No Nagle delay on small frames (the session's socket cannot be touched once it is HTTP/2's).
      createConnection: () => net.connect({ host: '127.0.0.1', port, noDelay: true }),
    });
    const entry = { s, connected: false };
    s.on('connect', () => (entry.connected = true));
    s.on('error', () => {});
    this.sessions[i] = entry;
    return entry;
  }
  destroy(): void {
    for (const e of this.sessions) e?.s.destroy();
  }
}

export class H2Slot implements LoadConnection {
  private busy = false;
  private closed = false;
  constructor(
    private readonly pool: H2SessionPool,
    private readonly index: number,
    private readonly req: H2Request,
    private readonly cb: ConnectionCallbacks,
  ) {
    pool.get(index);
  }
  get idle(): boolean {
    return !this.busy && !this.closed;
  }
  get isConnected(): boolean {
    return !this.closed && this.pool.get(this.index).connected;
  }
  send(): void {
    this.busy = true;
    const stream = this.pool.get(this.index).s.request(this.req.headers, { endStream: !this.req.body });
    let status = 0;
    let grpcStatus: string | undefined;
    stream.on('response', (h) => {
      status = Number(h[':status']);
      if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
    });
    stream.on('trailers', (t) => (grpcStatus = String(t['grpc-status'])));
    stream.on('data', () => {});
    const finish = (): void => {
      if (!this.busy) return;
      this.busy = false;
      // A gRPC failure arrives as HTTP 200: report it as a non-2xx so the row shows it.
      this.cb.onResponse(this.req.grpc && grpcStatus !== '0' ? 500 : status);
    };
    stream.on('end', finish);
    stream.on('close', () => {
      if (!this.busy) return;
      // A server that has answered may reset the stream with NO_ERROR instead of reading the rest of
      // the request (RFC 9113 §8.1; nginx does): the response is complete.
      if (status > 0 && stream.rstCode === http2.constants.NGHTTP2_NO_ERROR) return finish();
      // Reset or session loss before the end: the request is lost, the slot is reopened.
      this.busy = false;
      this.closed = true;
      this.cb.onClose(new Error(`stream closed (rst ${stream.rstCode})`), true);
    });
    if (this.req.body) stream.end(this.req.body);
  }
  destroy(): void {
    this.closed = true;
    this.pool.destroy();
  }
}

/** One h2c GET through `port`: true on a 200 with the 1 KiB body. */
export function probeH2c(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.on('error', () => done(false));
    s.setTimeout(2000, () => done(false));
    const r = s.request({ ':path': '/', ':authority': 'bench-server' });
    let status = 0;
    let bytes = 0;
    r.on('response', (h) => (status = Number(h[':status'])));
    r.on('data', (d: Buffer) => (bytes += d.length));
    r.on('end', () => done(status === 200 && bytes === 1024));
    r.on('error', () => done(false));
  });
}

/** One unary call with @grpc/grpc-js, a real gRPC client: true on status OK with the 1 KiB frame's message. */
export function probeGrpc(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    client.makeUnaryRequest(
      GRPC_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      GRPC_REQUEST_MESSAGE,
      new grpc.Metadata(),
      { deadline: Date.now() + 2000 },
      (err: grpc.ServiceError | null, res?: Buffer) => {
        client.close();
        resolve(!err && res?.length === 1019);
      },
    );
  });
}
