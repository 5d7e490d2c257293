// Istio's resource names, so users' tooling and habits carry over.
export const outboundClusterName = (port: number, subset: string, hostname: string): string =>
  `outbound|${port}|${subset}|${hostname}`;
export const inboundClusterName = (port: number): string => `inbound|${port}||`;
export const OUTBOUND_LISTENER = 'virtualOutbound';
export const INBOUND_LISTENER = 'virtualInbound';
/** The explicit-mode outbound listener's route table: one virtual host per service and port. */
export const OUTBOUND_ROUTE = 'virtualOutbound';
export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const ROUTER_FILTER = 'envoy.filters.http.router';
export const FAULT_FILTER = 'envoy.filters.http.fault';
export const ON_DEMAND_FILTER = 'envoy.filters.http.on_demand';

export const isHttpProtocol = (protocol: string): boolean =>
  ['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB', 'UNKNOWN', ''].includes(protocol.toUpperCase());
