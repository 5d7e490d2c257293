// What the router needs of an upstream connection pool, whatever the codec: the HTTP/1.1 pool
// (http1/client.ts: one request per connection at a time) and the HTTP/2 pool (http2/client.ts:
// streams multiplexed on a session) both implement it. A host holds one pool per protocol.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { HeaderMap } from '../http/header-map.js';
import type { UpstreamTlsInfo } from './connector.js';

export interface UpstreamRequest {
  method: string;
  /** Origin-form request target. */
  path: string;
  /** Lower-case names; hop-by-hop headers already removed. */
  headers: OutgoingHttpHeaders;
  /** undefined: no body; Buffer: sent with the head; Readable: streamed. */
  body: Buffer | Readable | undefined;
  /** A streamed body's length when known (sent as content-length); otherwise HTTP/1.1 chunks it. */
  bodyLength?: number;
}

/** The caller's side of one exchange. After abort() no callback fires. Errors carry a `code`. */
export interface ExchangeHandler {
  onResponse(status: number, statusMessage: string, headers: HeaderMap): void;
  onData(chunk: Buffer): void;
  /** Response trailers (HTTP/2; gRPC's grpc-status), before onEnd. */
  onTrailers?(trailers: HeaderMap): void;
  onEnd(): void;
  onError(err: NodeJS.ErrnoException): void;
  /** The upstream connection is TLS: what its handshake proved (before onResponse). */
  onUpstreamTls?(tls: UpstreamTlsInfo): void;
  /** This proxy's end of the upstream connection ("ip:port", access logs' UPSTREAM_LOCAL_ADDRESS; before onResponse). */
  onUpstreamLocalAddress?(address: string): void;
}

export interface UpstreamExchange {
  /** Give up: no further callbacks; the request is cancelled upstream. */
  abort(): void;
  /** Backpressure from the downstream: stop reading the response until resume(). */
  pause(): void;
  resume(): void;
}

export interface UpstreamPool {
  /** Send a request; callbacks never fire before this returns. */
  request(req: UpstreamRequest, handler: ExchangeHandler): UpstreamExchange;
  /** Open connections (the admin's cx figure). */
  readonly connected: number;
  /** Requests in flight and queued finish; idle connections close now. */
  close(): Promise<void>;
  /** Cut everything: exchanges in flight and queued fail. */
  destroy(): void;
}
