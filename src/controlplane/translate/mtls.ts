// The transport sockets of Istio's mutual TLS, as Envoy config: the workload certificate and the
// trust bundle come over SDS from the proxy's own identity agent (Istio's `default` and `ROOTCA`
// through the `sds-grpc` cluster), never inline, so a renewal swaps them without a push. A client
// checks the server's SPIFFE ID against the identities that run the service, not merely "signed by
// the root" (Envoy match_typed_subject_alt_names).
import { TLS_INSPECTOR_TYPE_URL, toStruct } from '../../api/envoy.js';
import { AGENT_SDS_CLUSTER as SDS_CLUSTER, ROOT_CA_SECRET, WORKLOAD_SECRET } from '../../api/mesh-names.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const RAW_TRANSPORT_SOCKET = 'envoy.transport_sockets.raw_buffer';
export const UPSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const DOWNSTREAM_TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';

/** Istio's SDS names and the agent's cluster. */
export { ROOT_CA_SECRET, SDS_CLUSTER, WORKLOAD_SECRET };

/** Endpoint metadata that tells a client the endpoint has a sidecar (Istio's auto mTLS). */
export const TRANSPORT_SOCKET_MATCH_KEY = 'envoy.transport_socket_match';
/** As a google.protobuf.Struct (match and metadata are Structs: a plain object would not encode). */
export const TLS_MODE_ISTIO = toStruct({ tlsMode: 'istio' });

export const tlsInspectorFilter = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': TLS_INSPECTOR_TYPE_URL } };

const agentSdsConfig = {
  api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: SDS_CLUSTER } }], set_node_on_first_message_only: true },
  resource_api_version: 'V3',
};



/** The common context: our certificate, the mesh's roots, and the peer identities we accept
 * (none listed: any identity the roots signed — Istio's server side). */
function istioCommonTlsContext(alpn: readonly string[], peerIds: readonly string[]): Record<string, unknown> {
  return {
    alpn_protocols: [...alpn],
    tls_certificate_sds_secret_configs: [{ name: WORKLOAD_SECRET, sds_config: agentSdsConfig }],
    combined_validation_context: {
      default_validation_context: peerIds.length
        ? { match_typed_subject_alt_names: [...peerIds].sort().map((id) => ({ san_type: 'URI', matcher: { exact: id } })) }
        : {},
      validation_context_sds_secret_config: { name: ROOT_CA_SECRET, sds_config: agentSdsConfig },
    },
  };
}

/** ISTIO_MUTUAL to a service: ALPN offers the inner protocol the cluster will speak. */
export function istioMutualUpstream(opts: { sni: string; peerIds: readonly string[]; alpn: readonly string[] }): Record<string, unknown> {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: { '@type': UPSTREAM_TLS_CONTEXT, sni: opts.sni, common_tls_context: istioCommonTlsContext(opts.alpn, opts.peerIds) },
  };
}

/** Plaintext: Envoy knows raw_buffer by name; it has no settings. */
export const rawTransportSocket = { name: RAW_TRANSPORT_SOCKET };

/** Auto mTLS (no DestinationRule TLS): mTLS to endpoints that have a sidecar, plaintext to the rest. */
export function autoMtlsTransportSocketMatches(tls: Record<string, unknown>): Record<string, unknown>[] {
  return [
    { name: 'tlsMode-istio', match: TLS_MODE_ISTIO, transport_socket: tls },
    { name: 'tlsMode-disabled', match: {}, transport_socket: rawTransportSocket },
  ];
}

/** The server side of ISTIO_MUTUAL: a client certificate from the mesh's roots is required. */
export function istioMutualDownstream(alpn: readonly string[]): Record<string, unknown> {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: { '@type': DOWNSTREAM_TLS_CONTEXT, require_client_certificate: { value: true }, common_tls_context: istioCommonTlsContext(alpn, []) },
  };
}

/** Istio's SNI for a mesh cluster: `outbound_.<port>_.<subset>_.<host>`. */
export const istioSni = (port: number, subset: string, hostname: string): string => `outbound_.${port}_.${subset}_.${hostname}`;

/** An inbound port's filter chains for its PeerAuthentication mode: STRICT takes only TLS (a
 * plaintext client matches no chain and is closed), PERMISSIVE tells TLS from plaintext on the first
 * bytes (the TLS inspector), DISABLE takes plaintext only. `filters` are the chain's network filters. */
export function inboundChains(
  mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE',
  filters: readonly unknown[],
  alpn: readonly string[],
): { listener_filters: unknown[]; filter_chains: Record<string, unknown>[] } {
  if (mode === 'DISABLE') return { listener_filters: [], filter_chains: [{ filters: [...filters] }] };
  const tlsChain = { name: 'inbound-mtls', filter_chain_match: { transport_protocol: 'tls' }, transport_socket: istioMutualDownstream(alpn), filters: [...filters] };
  if (mode === 'STRICT') return { listener_filters: [tlsInspectorFilter], filter_chains: [tlsChain] };
  const plain = { name: 'inbound-plaintext', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [...filters] };
  return { listener_filters: [tlsInspectorFilter], filter_chains: [tlsChain, plain] };
}
