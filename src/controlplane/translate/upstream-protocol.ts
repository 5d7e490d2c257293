// Which HTTP protocol a cluster speaks to its endpoints, decided as Istio decides it (its cluster
// builder's upstream protocol): HTTP/2 for HTTP2/gRPC ports; HTTP/2 for an HTTP port whose
// DestinationRule says h2UpgradePolicy UPGRADE (Istio's sidecar-to-sidecar upgrade); the caller's
// own protocol for ports whose protocol is unknown (sniffed) or with useClientProtocol; HTTP/1.1
// otherwise. Emitted as Envoy's HttpProtocolOptions in typed_extension_protocol_options.
import { HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../api/envoy.js';
import type { TrafficPolicy } from '../../config/types.js';

export type UpstreamProtocol = 'http1' | 'http2' | 'downstream';

const HTTP2_PROTOCOLS = new Set(['HTTP2', 'GRPC', 'GRPC-WEB']);

export function upstreamProtocol(portProtocol: string, policy: TrafficPolicy | undefined, meshH2Upgrade: 'DO_NOT_UPGRADE' | 'UPGRADE' = 'DO_NOT_UPGRADE'): UpstreamProtocol {
  const p = portProtocol.toUpperCase();
  const http = policy?.connectionPool?.http;
  if (HTTP2_PROTOCOLS.has(p)) return 'http2';
  if (http?.useClientProtocol) return 'downstream';
  if (p === 'UNKNOWN' || p === '') return 'downstream';
  // The DestinationRule's policy wins; DEFAULT (or none) takes the mesh-wide one.
  const upgrade = http?.h2UpgradePolicy && http.h2UpgradePolicy !== 'DEFAULT' ? http.h2UpgradePolicy : meshH2Upgrade;
  if (p === 'HTTP' && upgrade === 'UPGRADE') return 'http2';
  return 'http1';
}

/** The cluster fields for that protocol (none for HTTP/1.1, Envoy's default). */
export function upstreamProtocolFields(protocol: UpstreamProtocol, policy: TrafficPolicy | undefined): Record<string, unknown> {
  if (protocol === 'http1') return {};
  const streams = policy?.connectionPool?.http?.maxConcurrentStreams;
  const h2 = streams ? { max_concurrent_streams: { value: streams } } : {};
  const options = protocol === 'http2' ? { explicit_http_config: { http2_protocol_options: h2 } } : { use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: h2 } };
  return { typed_extension_protocol_options: { [HTTP_PROTOCOL_OPTIONS_KEY]: { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL, ...options } } };
}
