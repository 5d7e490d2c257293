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

// Istio's transparent (captured) layout.
/** Where traffic to an unknown destination goes under ALLOW_ANY: the caller's original destination. */
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
/** Where it goes under REGISTRY_ONLY (and where connections straight to a capture port go): nowhere. */
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
/** Inbound traffic to a port no service declares: the app's original destination, from 127.0.0.6. */
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughClusterIpv4';
/** The source address of the proxy's connections to the local app: the capture rules let it through
 * (Istio's "6 is the magic number for inbound": 15006, 127.0.0.6). */
export const INBOUND_PASSTHROUGH_BIND = '127.0.0.6';
/** A transparent proxy's outbound HTTP listener for a port, and its route table (Istio: "0.0.0.0_9080", "9080"). */
export const portListenerName = (address: string, port: number): string => `${address}_${port}`;
export const portRouteName = (port: number): string => `${port}`;
