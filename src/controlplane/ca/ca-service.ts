// `istio.v1.auth.IstioCertificateService/CreateCertificate`: a proxy sends a CSR for the key it keeps,
// the CA signs the identity the caller's credential proves — and only that one. Istio silently
// replaces a CSR's SANs with the caller's identity; Weft refuses a CSR that asks for any other, so a
// misconfigured or hostile proxy learns why, and the refusal is logged with both identities.
import * as grpc from '@grpc/grpc-js';
import type * as X509 from '@peculiar/x509';
import type { IstioCertificateRequestWire, IstioCertificateResponseWire } from '../../api/istio-ca.js';
import { x509 } from '../../api/x509.js';
import type { Authenticator } from './authenticate.js';
import type { CertificateAuthority } from './authority.js';
import { spiffeUri } from '../../api/spiffe.js';

export interface CaServiceOptions {
  /** The current CA (a rotation reloads it). */
  authority: () => CertificateAuthority;
  authenticator: Authenticator;
  /** Lifetime when the request asks for none (--workload-cert-ttl). */
  defaultTtlMs: number;
  /** The longest lifetime a request may ask for (Istio's --max-workload-cert-ttl, 90 days). */
  maxTtlMs: number;
  log: (msg: string) => void;
  /** Told how each CSR ended (the citadel_server_* metrics). */
  onOutcome?: (outcome: CsrOutcome) => void;
}

export type CsrOutcome = 'issued' | 'authentication_failure' | 'csr_parsing_error' | 'identity_mismatch' | 'sign_error';
const OUTCOME_OF_CODE: Record<string, CsrOutcome> = {
  WEFT_E_UNAUTHENTICATED: 'authentication_failure',
  WEFT_E_CSR_INVALID: 'csr_parsing_error',
  WEFT_E_IDENTITY_MISMATCH: 'identity_mismatch',
};

type Outcome = { ok: true; chain: string[] } | { ok: false; code: grpc.status; message: string; outcome: CsrOutcome };

export function caServiceHandlers(o: CaServiceOptions): grpc.UntypedServiceImplementation {
  return {
    CreateCertificate: (
      call: grpc.ServerUnaryCall<IstioCertificateRequestWire, IstioCertificateResponseWire>,
      callback: grpc.sendUnaryData<IstioCertificateResponseWire>,
    ) => {
      createCertificate(o, call).then(
        (r) => {
          o.onOutcome?.(r.ok ? 'issued' : r.outcome);
          if (r.ok) callback(null, { cert_chain: r.chain });
          else callback({ code: r.code, details: r.message });
        },
        (err: Error) => {
          o.onOutcome?.('sign_error');
          o.log(`ca: CreateCertificate from ${call.getPeer()} failed: ${err.message}`);
          callback({ code: grpc.status.INTERNAL, details: 'the CA could not sign the request' });
        },
      );
    },
  };
}

async function createCertificate(o: CaServiceOptions, call: grpc.ServerUnaryCall<IstioCertificateRequestWire, IstioCertificateResponseWire>): Promise<Outcome> {
  const peer = call.getPeer();
  const refuse = (code: grpc.status, errorCode: string, message: string): Outcome => {
    o.log(`ca: refused CreateCertificate from ${peer}: ${message} [${errorCode}]`);
    return { ok: false, code, message: `${message} [${errorCode}]`, outcome: OUTCOME_OF_CODE[errorCode] ?? 'csr_parsing_error' };
  };
  const auth = await o.authenticator.authenticate(call);
  if (auth.kind === 'anonymous')
    return refuse(grpc.status.UNAUTHENTICATED, 'WEFT_E_UNAUTHENTICATED', 'no credential: present a workload token (authorization: Bearer) or a workload certificate');
  if (auth.kind === 'refused') return refuse(grpc.status.UNAUTHENTICATED, 'WEFT_E_UNAUTHENTICATED', auth.message);
  const proven = spiffeUri(auth.identity);
  const req = call.request;
  const fields = Object.keys(req.metadata?.fields ?? {});
  if (fields.length > 0) return refuse(grpc.status.INVALID_ARGUMENT, 'WEFT_E_CSR_INVALID', `metadata.fields.${fields[0]}: not supported by this CA (caller ${proven})`);
  const requestedSeconds = Number(req.validity_duration ?? 0);
  if (!Number.isInteger(requestedSeconds) || requestedSeconds < 0)
    return refuse(grpc.status.INVALID_ARGUMENT, 'WEFT_E_CSR_INVALID', `validity_duration: must be a whole number of seconds ≥ 0, got ${req.validity_duration} (caller ${proven})`);
  const ttlMs = requestedSeconds === 0 ? o.defaultTtlMs : requestedSeconds * 1000;
  if (ttlMs > o.maxTtlMs)
    return refuse(grpc.status.INVALID_ARGUMENT, 'WEFT_E_CSR_INVALID', `validity_duration: ${requestedSeconds} s is above the longest lifetime the CA issues (${o.maxTtlMs / 1000} s) (caller ${proven})`);
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(req.csr);
  } catch (err) {
    return refuse(grpc.status.INVALID_ARGUMENT, 'WEFT_E_CSR_INVALID', `csr: not a PEM PKCS#10 request (${(err as Error).message}) (caller ${proven})`);
  }
  if (!(await csr.verify())) return refuse(grpc.status.INVALID_ARGUMENT, 'WEFT_E_CSR_INVALID', `csr: its signature does not verify with its own public key (caller ${proven})`);
  const sanExtension = csr.extensions.find((e): e is X509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension);
  const sans = sanExtension?.names.items ?? [];
  const asked = sans.map((n) => `${n.type === 'url' ? 'URI' : n.type.toUpperCase()}:${n.value}`);
  if (asked.some((a) => a !== `URI:${proven}`))
    return refuse(
      grpc.status.PERMISSION_DENIED,
      'WEFT_E_IDENTITY_MISMATCH',
      `csr asks for ${asked.join(', ')} but the caller's credential (${auth.by}) proves ${proven}; the CA signs only the proven identity`,
    );
  const issued = await o.authority().issue({ publicKey: csr.publicKey, identity: auth.identity, ttlMs });
  o.log(`ca: signed CSR from ${peer} for ${proven} (proven by ${auth.by}), serial ${issued.serial}`);
  return { ok: true, chain: issued.chain };
}
