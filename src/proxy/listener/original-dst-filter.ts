// envoy.filters.listener.original_dst: on a connection iptables redirected to this listener, the
// local address becomes the one the client was going to (SO_ORIGINAL_DST), so filter_chain_match
// destination_port / prefix_ranges, the use_original_dst hand-off and ORIGINAL_DST clusters all see
// it. A connection made to the listener directly keeps its own local address (Envoy does the same).
import type net from 'node:net';
import { unmappedAddress, type ConnectionInfo } from './connection-info.js';
import { originalDestination } from './original-dst.js';

/** Returns whether the original destination was restored into `conn`. `listenerPort` is the port the
 * listener is bound to (the socket's own local port unless a getsockname hook rewrote it). */
export function restoreOriginalDst(socket: net.Socket, conn: ConnectionInfo, listenerPort: number = socket.localPort ?? 0): boolean {
  const dst = originalDestination(socket);
  if (!dst) return false;
  // A connection made to the listener directly (no NAT) reports the listener's own address. Envoy
  // marks that "restored" too and then keeps the connection; not marking it keeps an ORIGINAL_DST
  // cluster from connecting back into this listener. The listener's bound port, not the socket's
  // local port, tells the two apart: eBPF capture's getsockname hook makes a redirected socket's
  // local address read as the original destination too.
  if (dst.port === listenerPort && dst.address === unmappedAddress(socket.localAddress ?? '')) return false;
  conn.localAddress = dst.address;
  conn.localPort = dst.port;
  conn.localAddressRestored = true;
  return true;
}
