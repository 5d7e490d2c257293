// Who a gRPC caller is, proven (never claimed): over mTLS the SPIFFE ID of its verified client
// certificate; otherwise a workload token in `authorization: Bearer …`. The xDS server and the CA
// service both ask here, so one credential means the same identity at both doors.
import type * as grpc from '@grpc/grpc-js';
import { peerSpiffeIdentity, spiffeUri, type SpiffeIdentity } from '../../api/spiffe.js';
import type { TokenAuthority } from './tokens.js';

export type Authentication =
  | { kind: 'proven'; identity: SpiffeIdentity; by: 'mtls' | 'token' }
  | { kind: 'anonymous' }
  | { kind: 'refused'; message: string };

/** What authentication reads of any server call (unary or stream). */
export type CallerView = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'metadata'>;

export interface AuthenticatorOptions {
  trustDomain: string;
  tokens?: TokenAuthority;
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
    if (!this.o.tokens) return { kind: 'refused', message: 'a bearer token was presented but this control plane has no CA dir to verify tokens with (--ca-dir)' };
    const verified = await this.o.tokens.verify(m[1]);
    return verified.ok ? { kind: 'proven', identity: verified.identity, by: 'token' } : { kind: 'refused', message: verified.message };
  }
}
