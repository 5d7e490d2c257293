// What an access log reads about one finished request or TCP connection: its StreamInfo record, the
// downstream connection, and (HTTP only) the request and response headers. HttpStream implements it
// as it is, so logging an HTTP request allocates nothing for the input; tcp_proxy has a small one.
import type { ConnectionInfo } from '../../listener/connection-info.js';
import type { StreamInfo } from '../../http/stream-info.js';

export interface LogInput {
  readonly info: StreamInfo;
  readonly connection: ConnectionInfo;
  /** A request header by lower-case name, pseudo-headers (:method, :path, :authority, :scheme) included. */
  header(name: string): string | undefined;
  responseHeader(name: string): string | undefined;
  responseTrailer(name: string): string | undefined;
}

/** A tcp_proxy connection: no headers. */
export class TcpLogInput implements LogInput {
  constructor(
    readonly info: StreamInfo,
    readonly connection: ConnectionInfo,
  ) {}
  header(): undefined {
    return undefined;
  }
  responseHeader(): undefined {
    return undefined;
  }
  responseTrailer(): undefined {
    return undefined;
  }
}
