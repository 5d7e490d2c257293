// envoy.filters.listener.original_dst: on a connection iptables redirected to this listener, the
// local address becomes the one the client was going to (SO_ORIGINAL_DST), so filter_chain_match
// destination_port / prefix_ranges, the use_original_dst hand-off and ORIGINAL_DST clusters all see
// it. A connection made to the listener directly keeps its own local address (Envoy does the same).
import type net from 'node:net';
import { unmappedAddress, type ConnectionInfo } from './connection-info.js';
import { originalDestination } from './original-dst.js';

/** Returns whether the original destination was restored into `conn`. `listenerPort`: the port the
 * listener is bound to. */
export function restoreOriginalDst(socket: net.Socket, conn: ConnectionInfo, listenerPort?: number): boolean {
  const dst = originalDestination(socket);
  if (!dst) return false;
  // A connection made to the listener directly (no NAT) reports the listener's own address. Envoy
  // marks that "restored" too and then keeps the connection; not marking it keeps an ORIGINAL_DST
  // cluster from connecting back into this listener. Under eBPF capture getsockname() itself reads
  // as the original destination (weft_sockname4/6), so the two agree on a redirected connection
  // too: only one whose local port is the listener's own is direct.
  const direct = dst.port === socket.localPort && dst.address === unmappedAddress(socket.localAddress ?? '');
  if (direct && (listenerPort === undefined || socket.localPort === listenerPort)) return false;
  conn.localAddress = dst.address;
  conn.localPort = dst.port;
  conn.localAddressRestored = true;
  return true;
}
