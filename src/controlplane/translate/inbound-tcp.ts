// The inbound chain of a workload port that does not speak HTTP: Istio's protocol selection (the
// port's declared protocol, as the outbound side reads it: isHttpProtocol) gives TCP, TLS and HTTPS
// ports a tcp_proxy to the inbound cluster instead of an HTTP connection manager, with
// AuthorizationPolicy enforced by envoy.filters.network.rbac before it (a deny closes the
// connection). Only the TCP-meaningful rule parts reach it; authorization.ts drops the rest as Istio
// does. Used by every inbound listener layout (explicit port, transparent capture).
import { PEER_EXCHANGE_ALPN } from '../../api/peer-metadata.js';
import { istioStatsFilters, tcpProxyFilter } from './filters.js';
import { accessLogFields } from './access-log.js';
import type { DirectionTelemetry } from '../../config/telemetry-types.js';
import { inboundClusterName, isHttpProtocol } from './names.js';


/** Whether an inbound port gets the TCP chain rather than the HTTP connection manager. */
export const isInboundTcp = (protocol: string): boolean => !isHttpProtocol(protocol);

/** ALPN the inbound mTLS chain accepts: the inner protocol for HTTP; for opaque TCP the peer
 * exchange (the app's bytes follow it untouched). */
export const inboundAlpn = (protocol: string): string[] => (isInboundTcp(protocol) ? [...TCP_ALPN] : ['h2', 'http/1.1']);

/** Opaque TCP: the peer exchange, or Istio's plain `istio` (an Istio sidecar offers it beside its own
 * istio-peer-exchange, which Weft does not speak). A TLS server refuses a client whose ALPN offer
 * it shares nothing with (Node's rule; Envoy would go on without ALPN), hence both. */
const TCP_ALPN = [PEER_EXCHANGE_ALPN, 'istio'];

/** The chain's network filters: the RBAC filters (in Istio's order), the stats filter, then tcp_proxy to the app. */
export function inboundTcpFilters(o: { servicePort: number; rbac: readonly unknown[]; telemetry: DirectionTelemetry | undefined }): unknown[] {
  const cluster = inboundClusterName(o.servicePort);
  return [...o.rbac, ...istioStatsFilters(o.telemetry), tcpProxyFilter(cluster, cluster, accessLogFields(o.telemetry))];
}
