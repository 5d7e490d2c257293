// The control plane's serving certificate for the secure xDS port (Istio's 15012), issued by the mesh
// CA to the control plane's own SPIFFE ID (plus its DNS names and IPs), with its key in memory only.
// The port asks for a client certificate and accepts a connection without one (a proxy's first call
// has only its token; Istio's istiod does the same): grpc-js reports a client certificate only once
// the handshake verified it against the trust bundle, so an unverified one proves nothing.
// Renewed at half its lifetime; connections already open keep the certificate they were made with.
import * as grpc from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import { ECDSA_P256, privateKeyPem, subtle } from '../../api/x509.js';
import type { CertificateAuthority } from './authority.js';
import { CONTROL_PLANE_NAMESPACE, CONTROL_PLANE_SERVICE_ACCOUNT } from '../../api/spiffe.js';

class ClientCertificateIfGiven extends grpc.ServerCredentials {
  constructor(context: SecureContextOptions) {
    super({ requestCert: true, rejectUnauthorized: false }, context);
  }

  replace(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

export interface ServingCertificate {
  credentials: grpc.ServerCredentials;
  /** Issue a new certificate now (the CA or its trust bundle changed). */
  reissue(): Promise<void>;
  close(): void;
}

export interface ServingCertificateOptions {
  authority: () => CertificateAuthority;
  ttlMs: number;
  dnsNames: string[];
  ips: string[];
  log: (msg: string) => void;
}

/** A certificate of the control plane's identity that renews itself: each new one goes to `apply`
 * (the first before this resolves). Shared by the secure xDS port and the injection webhook. */
export async function renewingCertificate(
  o: ServingCertificateOptions & { purpose: string },
  apply: (context: SecureContextOptions) => void,
): Promise<{ reissue(): Promise<void>; close(): void }> {
  const identity = { trustDomain: o.authority().trustDomain, namespace: CONTROL_PLANE_NAMESPACE, serviceAccount: CONTROL_PLANE_SERVICE_ACCOUNT };
  const issue = async (): Promise<{ context: SecureContextOptions; notAfter: Date }> => {
    const keys = (await subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
    const authority = o.authority();
    const issued = await authority.issue({ publicKey: keys.publicKey, identity, ttlMs: o.ttlMs, dnsNames: o.dnsNames, ips: o.ips });
    return { context: { ca: authority.rootsPem, cert: issued.chain.join(''), key: await privateKeyPem(keys.privateKey) }, notAfter: issued.notAfter };
  };
  const first = await issue();
  apply(first.context);
  let timer: NodeJS.Timeout | undefined;
  const renew = () =>
    issue().then(
      (next) => {
        apply(next.context);
        schedule(next.notAfter);
      },
      (err: Error) => {
        o.log(`ca: renewing the control plane's ${o.purpose} certificate failed: ${err.message}; retrying in 20 s`);
        schedule(new Date(Date.now() + 40_000));
      },
    );
  const schedule = (notAfter: Date) => {
    clearTimeout(timer);
    // Bounded by setTimeout's ceiling (~24.8 days): past it a timer fires at once.
    timer = setTimeout(() => void renew(), Math.min(2 ** 31 - 1, Math.max(1000, (notAfter.getTime() - Date.now()) / 2)));
    timer.unref();
  };
  schedule(first.notAfter);
  return { reissue: renew, close: () => clearTimeout(timer) };
}

export async function servingCertificate(o: ServingCertificateOptions): Promise<ServingCertificate> {
  let credentials: ClientCertificateIfGiven | undefined;
  const renewing = await renewingCertificate({ ...o, purpose: 'serving' }, (context) => {
    if (credentials) credentials.replace(context);
    else credentials = new ClientCertificateIfGiven(context);
  });
  return { credentials: credentials!, ...renewing };
}
