// What the connection manager, the filters and the router see of a downstream exchange, whatever
// the codec: the HTTP/1.1 server (http1/server.ts) and the HTTP/2 server (http2/server.ts) both
// implement these. Header names are lower-case in prototype-free maps; pseudo-headers are not
// in `headers` (the authority is `host`).
import type { OutgoingHttpHeaders } from 'node:http';
import type net from 'node:net';
import type { Readable } from 'node:stream';
import type { HeaderMap } from './header-map.js';

export type DownstreamHttpVersion = '1.0' | '1.1' | '2';

export interface DownstreamRequest {
  readonly method: string;
  /** The request target (origin-form, absolute-form for HTTP/1.1 proxies, or `*`). */
  readonly url: string;
  readonly headers: HeaderMap;
  readonly httpVersion: DownstreamHttpVersion;
  /** The connection's socket (addresses; nothing is read or written through it here). */
  readonly socket: net.Socket;
  readonly body: Readable | undefined;
  /** The body's length as framed by content-length; -1 when unknown (chunked, HTTP/2 without it). */
  readonly contentLength: number;
  /** 1 for the first request on its connection (max_requests_per_connection counts these). */
  readonly requestIndex: number;
  /** Body bytes received so far (counted by the codec: a 'data' listener would start the flow early). */
  readonly bodyBytesReceived: number;
  /** Told every request body chunk as the codec receives it (gRPC message counting); set before any arrives. */
  onBodyChunk?: (chunk: Buffer) => void;
}

/** Events: 'close' once (finished, or the stream went away first), 'drain' after write() returned false. */
export interface DownstreamResponse {
  readonly headersSent: boolean;
  readonly finished: boolean;
  readonly destroyed: boolean;
  /** No further requests on this connection after this one (HTTP/2: GOAWAY after it). */
  closeConnectionAfter(): void;
  writeHead(status: number, headers?: OutgoingHttpHeaders): void;
  writeHead(status: number, statusMessage: string, headers?: OutgoingHttpHeaders): void;
  /** Returns false when the peer is behind: wait for 'drain'. */
  write(chunk: Buffer | string): boolean;
  /** Finish; trailers go out where the codec carries them (HTTP/2), and are dropped on HTTP/1.1. */
  end(chunk?: Buffer | string, trailers?: HeaderMap): void;
  /** Reset the stream (the client sees the response break off). */
  destroy(err?: Error): void;
  /** HTTP/1.1 only, after writeHead(101): send the head and hand over the raw socket (with bytes the
   * client already sent); finishUpgrade() then ends the exchange when the tunnel closes. */
  upgrade?(): { socket: net.Socket; head: Buffer | undefined };
  finishUpgrade?(clean: boolean): void;
  on(event: 'close' | 'drain', fn: () => void): this;
  once(event: 'close' | 'drain', fn: () => void): this;
  off(event: 'close' | 'drain', fn: () => void): this;
}
