// SPIFFE IDs of workloads, `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>` (Istio's
// form), and the one a TLS peer certificate carries in its URI SAN. Both ends use them: the CA issues
// them, proxies present and check them.
import type { PeerCertificate } from 'node:tls';

export interface SpiffeIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** The control plane's own identity (its serving certificate for xDS over mTLS and the CA). */
export const CONTROL_PLANE_NAMESPACE = 'weft-system';
export const CONTROL_PLANE_SERVICE_ACCOUNT = 'weft-control-plane';

export function spiffeUri(id: SpiffeIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

const WORKLOAD_ID = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

export function parseSpiffeUri(uri: string): SpiffeIdentity | undefined {
  const m = WORKLOAD_ID.exec(uri);
  return m ? { trustDomain: m[1], namespace: m[2], serviceAccount: m[3] } : undefined;
}

/** The URI SANs of a certificate as Node renders them (`URI:spiffe://…, DNS:…`). */
export function uriSans(subjectAltName: string | undefined): string[] {
  return (subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

/** The workload identity of a verified peer certificate: exactly one SPIFFE URI SAN, as an SVID has. */
export function peerSpiffeIdentity(cert: PeerCertificate): SpiffeIdentity | undefined {
  const uris = uriSans(cert.subjectaltname);
  return uris.length === 1 ? parseSpiffeUri(uris[0]) : undefined;
}
