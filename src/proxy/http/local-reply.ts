// Every response the proxy writes itself goes through here (linkerd2-proxy's errors/respond.rs
// idea): the stream record gets its flag and details, the client gets the status with a
// `x-weft-reason: <FLAG> <details>` header — or, for a gRPC call, HTTP 200 with grpc-status and
// grpc-message as Envoy answers gRPC callers — and a response already under way is reset instead.
import type { OutgoingHttpHeaders } from 'node:http';
import { createHeaderMap } from './header-map.js';
import type { ResponseFlag } from './response-flags.js';
import type { HttpStream } from './stream.js';

export const REASON_HEADER = 'x-weft-reason';

export interface LocalReply {
  status: number;
  /** Machine-readable reason (`no_route`, `upstream_connect_failure`, …). */
  details: string;
  flag?: ResponseFlag;
  /** Text body; defaults to `weft: <details>`. */
  body?: string;
  /** gRPC status for gRPC callers; by default derived from the HTTP status as Envoy does. */
  grpcStatus?: number;
  headers?: OutgoingHttpHeaders;
}

export function sendLocalReply(stream: HttpStream, r: LocalReply): void {
  const info = stream.info;
  if (r.flag) info.addFlag(r.flag);
  info.details = r.details;
  const res = stream.res;
  if (res.headersSent || res.destroyed) {
    // Too late for a status: the client sees the stream cut, as with Envoy.
    res.destroy();
    return;
  }
  const body = r.body ?? `weft: ${r.details}`;
  const headers = createHeaderMap<OutgoingHttpHeaders>();
  headers[REASON_HEADER] = r.flag ? `${r.flag} ${r.details}` : r.details;
  if (r.headers) for (const k of Object.keys(r.headers)) headers[k] = r.headers[k];
  if (stream.isGrpc) {
    headers['content-type'] = 'application/grpc';
    headers['grpc-status'] = String(r.grpcStatus ?? grpcStatusForHttp(r.status));
    headers['grpc-message'] = encodeGrpcMessage(body);
    headers['content-length'] = 0;
    stream.respond(200, headers);
    res.end();
    return;
  }
  headers['content-type'] = 'text/plain; charset=utf-8';
  headers['content-length'] = Buffer.byteLength(body);
  stream.respond(r.status, headers);
  res.end(body);
}

/** Envoy's Grpc::Utility::httpToGrpcStatus (per the gRPC HTTP-to-gRPC status mapping). */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec): keep printable ASCII but '%'. */
export function encodeGrpcMessage(s: string): string {
  let out = '';
  for (const b of Buffer.from(s)) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}
