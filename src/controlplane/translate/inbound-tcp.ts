// The inbound chain of a workload port that does not speak HTTP: Istio's protocol selection (the
// port's declared protocol, as the outbound side reads it: isHttpProtocol) gives TCP, TLS and HTTPS
// ports a tcp_proxy to the inbound cluster instead of an HTTP connection manager, with
// AuthorizationPolicy enforced by envoy.filters.network.rbac before it (a deny closes the
// connection). Only the TCP-meaningful rule parts reach it; authorization.ts drops the rest as Istio
// does. Used by every inbound listener layout (explicit port, transparent capture).
import { istioStatsFilters, tcpProxyFilter } from './filters.js';
import { accessLogFields } from './access-log.js';
import type { DirectionTelemetry } from '../../config/telemetry-types.js';
import { inboundClusterName, isHttpProtocol } from './names.js';


/** Whether an inbound port gets the TCP chain rather than the HTTP connection manager. */
export const isInboundTcp = (protocol: string): boolean => !isHttpProtocol(protocol);

/** ALPN the inbound mTLS chain offers: the inner protocol for HTTP; none for opaque TCP (the bytes
 * are the app's, whatever a client offers). */
export const inboundAlpn = (protocol: string): string[] => (isInboundTcp(protocol) ? [] : ['h2', 'http/1.1']);

/** The chain's network filters: the RBAC filters (in Istio's order), the stats filter, then tcp_proxy to the app. */
export function inboundTcpFilters(o: { servicePort: number; rbac: readonly unknown[]; telemetry: DirectionTelemetry | undefined }): unknown[] {
  const cluster = inboundClusterName(o.servicePort);
  return [...o.rbac, ...istioStatsFilters(o.telemetry), tcpProxyFilter(cluster, cluster, accessLogFields(o.telemetry))];
}
