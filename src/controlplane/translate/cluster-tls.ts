// How a cluster secures its connections, as Istio decides it: a DestinationRule's `tls` wins;
// without one, auto mTLS sends mTLS to the endpoints that have a sidecar (their EDS metadata says
// tlsMode istio) and plaintext to the rest, and nothing to services outside the mesh. The client
// checks the server's SPIFFE ID against the service accounts that run the service.
import type { ClientTLSSettings } from '../../config/types.js';
import { spiffeUri } from '../../api/spiffe.js';
import { autoMtlsTransportSocketMatches, istioMutualUpstream, istioSni, TLS_TRANSPORT_SOCKET, UPSTREAM_TLS_CONTEXT } from './mtls.js';
import { ADS_CONFIG_SOURCE } from './types.js';

/** Debian's system roots: where SIMPLE/MUTUAL verify a server when no caCertificates is given. */
export const SYSTEM_ROOTS = '/etc/ssl/certs/ca-certificates.crt';

export interface ClusterTlsInput {
  hostname: string;
  port: number;
  subset: string;
  /** The service lives outside the mesh (ServiceEntry MESH_EXTERNAL): no auto mTLS. */
  external: boolean;
  /** Service accounts ("namespace/name") of the service's endpoints, for the SPIFFE check. */
  serviceAccounts: readonly string[];
  trustDomain: string;
  /** ALPN the cluster offers: its HTTP protocol (`h2`, `http/1.1`), none for TCP. */
  alpn: readonly string[];
  tls: ClientTLSSettings | undefined;
}

/** The cluster's transport_socket or transport_socket_matches (none: plaintext). */
export function clusterTlsFields(c: ClusterTlsInput): Record<string, unknown> {
  const peerIds = () =>
    c.tls?.subjectAltNames?.length
      ? c.tls.subjectAltNames
      : c.serviceAccounts.map((sa) => {
          const [namespace, serviceAccount] = sa.split('/');
          return spiffeUri({ trustDomain: c.trustDomain, namespace, serviceAccount });
        });
  const sni = c.tls?.sni ?? istioSni(c.port, c.subset, c.hostname);
  switch (c.tls?.mode) {
    case undefined:
      if (c.external) return {};
      return { transport_socket_matches: autoMtlsTransportSocketMatches(istioMutualUpstream({ sni, peerIds: peerIds(), alpn: c.alpn })) };
    case 'DISABLE':
      return {};
    case 'ISTIO_MUTUAL':
      return { transport_socket: istioMutualUpstream({ sni, peerIds: peerIds(), alpn: c.alpn }) };
    case 'SIMPLE':
    case 'MUTUAL':
      return { transport_socket: originationTls(c.tls, c.alpn) };
  }
}

/** TLS origination to a server outside the mesh's identities: the DestinationRule names the CA
 * (or a credentialName secret over SDS), the SANs to accept and, for MUTUAL, the client cert. */
function originationTls(tls: ClientTLSSettings, alpn: readonly string[]): Record<string, unknown> {
  const common: Record<string, unknown> = { alpn_protocols: [...alpn] };
  if (tls.credentialName) {
    // One secret holds the client certificate (MUTUAL) and the CA: Istio's `<name>` and `<name>-cacert`.
    if (tls.mode === 'MUTUAL') common.tls_certificate_sds_secret_configs = [{ name: tls.credentialName, sds_config: ADS_CONFIG_SOURCE }];
    if (!tls.insecureSkipVerify)
      common.combined_validation_context = {
        default_validation_context: sanMatchers(tls.subjectAltNames),
        validation_context_sds_secret_config: { name: `${tls.credentialName}-cacert`, sds_config: ADS_CONFIG_SOURCE },
      };
  } else {
    if (tls.mode === 'MUTUAL' && tls.clientCertificate && tls.privateKey)
      common.tls_certificates = [{ certificate_chain: { filename: tls.clientCertificate }, private_key: { filename: tls.privateKey } }];
    if (!tls.insecureSkipVerify)
      common.validation_context = { trusted_ca: { filename: tls.caCertificates ?? SYSTEM_ROOTS }, ...sanMatchers(tls.subjectAltNames) };
  }
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: { '@type': UPSTREAM_TLS_CONTEXT, ...(tls.sni ? { sni: tls.sni } : {}), common_tls_context: common },
  };
}

/** Istio matches DestinationRule subjectAltNames against DNS and URI SANs alike. */
function sanMatchers(names: readonly string[] | undefined): Record<string, unknown> {
  if (!names?.length) return {};
  return {
    match_typed_subject_alt_names: names.flatMap((n) => [
      { san_type: 'DNS', matcher: { exact: n } },
      { san_type: 'URI', matcher: { exact: n } },
    ]),
  };
}
