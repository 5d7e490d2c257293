// Who a gRPC caller is, proven (never claimed): over mTLS the SPIFFE ID of its verified client
// certificate; otherwise a workload token in `authorization: Bearer …`. The xDS server and the CA
// service both ask here, so one credential means the same identity at both doors.
import type * as grpc from '@grpc/grpc-js';
import { peerSpiffeIdentity, spiffeUri, type SpiffeIdentity } from '../../api/spiffe.js';
import type { KubernetesTokenReviewer } from './token-review.js';
import { TOKEN_ISSUER, type TokenAuthority } from './tokens.js';

/** Whether a JWT says Weft's CA issued it (read unverified, only to pick the verifier). */
function isWeftToken(token: string): boolean {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown };
    return payload.iss === TOKEN_ISSUER;
  } catch {
    return false;
  }
}

export type Authentication =
  | { kind: 'proven'; identity: SpiffeIdentity; by: 'mtls' | 'token' }
  | { kind: 'anonymous' }
  | { kind: 'refused'; message: string };

/** What authentication reads of any server call (unary or stream). */
export type CallerView = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'metadata'>;

export interface AuthenticatorOptions {
  trustDomain: string;
  tokens?: TokenAuthority;
  /** On Kubernetes: service-account tokens, verified by the API server (TokenReview). */
  kubernetes?: Pick<KubernetesTokenReviewer, 'verify'>;
}

export class Authenticator {
  constructor(private readonly o: AuthenticatorOptions) {}

  async authenticate(call: CallerView): Promise<Authentication> {
    // grpc-js only reports a certificate the TLS handshake verified against the trust bundle.
    const cert = call.getAuthContext().sslPeerCertificate;
    if (cert) {
      const identity = peerSpiffeIdentity(cert);
      if (!identity) return { kind: 'refused', message: `client certificate (serial ${cert.serialNumber}) carries no SPIFFE workload ID in its URI SAN` };
      if (identity.trustDomain !== this.o.trustDomain)
        return { kind: 'refused', message: `client certificate is for ${spiffeUri(identity)}, outside trust domain ${this.o.trustDomain}` };
      return { kind: 'proven', identity, by: 'mtls' };
    }
    const header = call.metadata.get('authorization')[0];
    if (header === undefined) return { kind: 'anonymous' };
    const m = /^Bearer\s+(\S+)$/i.exec(String(header));
    if (!m) return { kind: 'refused', message: 'authorization metadata is not "Bearer <token>"' };
    if (!this.o.tokens && !this.o.kubernetes) return { kind: 'refused', message: 'a bearer token was presented but this control plane has no CA dir to verify tokens with (--ca-dir)' };
    // Weft's own tokens are ES256 JWTs it signed (issuer weft-ca); any other bearer token goes to the
    // API server when one is configured.
    const own = this.o.tokens ? await this.o.tokens.verify(m[1]) : undefined;
    if (own?.ok) return { kind: 'proven', identity: own.identity, by: 'token' };
    if (this.o.kubernetes && !isWeftToken(m[1])) {
      const reviewed = await this.o.kubernetes.verify(m[1]);
      return reviewed.ok ? { kind: 'proven', identity: reviewed.identity, by: 'token' } : { kind: 'refused', message: reviewed.message };
    }
    return { kind: 'refused', message: own?.ok === false ? own.message : 'token not valid' };
  }
}
