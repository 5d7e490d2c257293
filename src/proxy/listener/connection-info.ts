// What is known about one downstream connection: addresses, the transport and what it proved about
// the peer. The listener fills it while it selects a filter chain and attaches it to the socket it
// hands to the chain's terminal; HTTP streams (RBAC, JWT, access logs) and tcp_proxy read it back
// from their socket. A WeakMap keeps it off the socket object and dies with the socket.
import type net from 'node:net';

/** What the TLS transport socket learnt during the handshake. */
export interface TlsInfo {
  /** SNI the client sent (requested_server_name), if any. */
  sni?: string;
  /** The ALPN protocol negotiated, if any. */
  alpn?: string;
  /** The peer certificate's URI SANs (SPIFFE IDs); empty without a client certificate. The first
   * is the peer's principal as Envoy's RBAC and Istio's source.principal see it. */
  peerUriSans: readonly string[];
  peerDnsSans: readonly string[];
  /** The peer certificate's subject, RFC 2253 form ('' without one). */
  peerSubject: string;
  /** Our own certificate's first URI SAN (the local principal), '' if none. */
  localUriSan: string;
  /** The TLS version negotiated ('TLSv1.3', …). */
  version?: string;
}

export interface ConnectionInfo {
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  /** Set by the listener: 'raw_buffer', or 'tls' once the TLS inspector saw a ClientHello. */
  transportProtocol?: string;
  /** Set by http_inspector ('http/1.1', 'http/1.0', 'h2c') or by the TLS inspector (ALPN offered). */
  applicationProtocols?: readonly string[];
  /** SNI offered in the ClientHello (filter-chain server_names match). */
  serverName?: string;
  /** Set by the TLS transport socket once the handshake completed. */
  tls?: TlsInfo;
}

const infos = new WeakMap<net.Socket, ConnectionInfo>();

export function attachConnectionInfo(socket: net.Socket, info: ConnectionInfo): void {
  infos.set(socket, info);
}

/** The info the listener attached, or what the socket itself tells (a codec run without a listener). */
export function connectionInfoOf(socket: net.Socket): ConnectionInfo {
  let info = infos.get(socket);
  if (!info) {
    info = { localAddress: socket.localAddress, localPort: socket.localPort, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, transportProtocol: 'raw_buffer' };
    infos.set(socket, info);
  }
  return info;
}
