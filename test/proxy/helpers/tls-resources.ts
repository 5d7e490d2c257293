// Builders for Envoy's TLS resources as Istio's sidecars receive them: DownstreamTlsContext and
// UpstreamTlsContext transport sockets naming SDS secrets (over ADS, or the identity agent's
// `sds-grpc`), SPIFFE SAN matchers, and the SDS Secret resources themselves.
import type { Leaf } from '../../helpers/certs.js';

export const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };

/** An SdsSecretConfig over ADS, or from the identity agent (Istio's sds-grpc cluster). */
export function sds(name: string, from: 'ads' | 'agent' = 'ads'): object {
  if (from === 'ads') return { name, sds_config: { ads: {}, resource_api_version: 'V3' } };
  return { name, sds_config: { api_config_source: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }] }, resource_api_version: 'V3' } };
}

export interface ContextOptions {
  cert?: string;
  ca?: string;
  /** Exact URI SANs the peer must have (Istio's subjectAltNames / the service's identities). */
  sans?: string[];
  alpn?: string[];
  from?: 'ads' | 'agent';
  tlsParams?: object;
}

export function commonTlsContext(o: ContextOptions): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  if (o.cert) ctx.tls_certificate_sds_secret_configs = [sds(o.cert, o.from)];
  if (o.ca) {
    ctx.combined_validation_context = {
      default_validation_context: { match_typed_subject_alt_names: (o.sans ?? []).map((s) => ({ san_type: 'URI', matcher: { exact: s } })) },
      validation_context_sds_secret_config: sds(o.ca, o.from),
    };
  }
  if (o.alpn) ctx.alpn_protocols = o.alpn;
  if (o.tlsParams) ctx.tls_params = o.tlsParams;
  return ctx;
}

export function downstreamTls(o: ContextOptions & { requireClientCertificate?: boolean }): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': DOWNSTREAM_TLS, common_tls_context: commonTlsContext(o), require_client_certificate: { value: o.requireClientCertificate ?? true } },
  };
}

export function upstreamTls(o: ContextOptions & { sni?: string }): object {
  return { name: 'envoy.transport_sockets.tls', typed_config: { '@type': UPSTREAM_TLS, common_tls_context: commonTlsContext(o), ...(o.sni ? { sni: o.sni } : {}) } };
}

export function certSecret(name: string, leaf: Leaf): object {
  return { name, tls_certificate: { certificate_chain: { inline_string: leaf.chain }, private_key: { inline_string: leaf.key } } };
}

export function caSecret(name: string, rootPem: string): object {
  return { name, validation_context: { trusted_ca: { inline_string: rootPem } } };
}

/** A google.protobuf.Struct of strings in the object form protobufjs encodes. */
export function struct(values: Record<string, string>): object {
  return { fields: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { stringValue: v }])) };
}
