// What is known about one downstream connection: addresses, the transport and what it proved about
// the peer. The listener fills it while it selects a filter chain and attaches it to the socket it
// hands to the chain's terminal; HTTP streams (RBAC, JWT, access logs) and tcp_proxy read it back
// from their socket. A WeakMap keeps it off the socket object and dies with the socket.
import net from 'node:net';

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
  /** The local address; once the original_dst listener filter ran on a redirected connection, the
   * address the client was going to (what filter_chain_match destination_port/prefix_ranges and
   * ORIGINAL_DST clusters read). */
  localAddress?: string;
  localPort?: number;
  /** Set by the original_dst listener filter when localAddress/localPort are the restored original
   * destination (Envoy's localAddressRestored()). */
  localAddressRestored?: boolean;
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

/** An IPv4 address as a dual-stack socket reports it (::ffff:a.b.c.d) in its plain form. */
export function unmappedAddress(address: string): string {
  return address.startsWith('::ffff:') && net.isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** "ip:port" as Envoy prints an address ("[ip6]:port"); '' when unknown. */
export function addressText(ip: string | undefined, port: number | undefined): string {
  if (!ip) return '';
  const a = unmappedAddress(ip);
  return a.includes(':') ? `[${a}]:${port ?? 0}` : `${a}:${port ?? 0}`;
}

/** The original destination the original_dst listener filter restored; undefined when none was. */
export function restoredDestination(conn: ConnectionInfo): { address: string; port: number } | undefined {
  return conn.localAddressRestored && conn.localAddress && conn.localPort ? { address: conn.localAddress, port: conn.localPort } : undefined;
}
