// The workload key and its CSR. The key is ECDSA P-256, made in memory and never written or sent:
// only the CSR (public key + the SPIFFE ID asked for, signed by the key) leaves the proxy.
import { ECDSA_P256, privateKeyPem, subtle, x509 } from '../../api/x509.js';

export interface WorkloadKey {
  csrPem: string;
  /** PKCS#8 PEM, for the SecretStore and TLS contexts only. */
  privateKeyPem: string;
}

export async function newWorkloadKey(spiffeId: string): Promise<WorkloadKey> {
  const keys = (await subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: ECDSA_P256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true)],
  });
  return { csrPem: csr.toString('pem'), privateKeyPem: await privateKeyPem(keys.privateKey) };
}
