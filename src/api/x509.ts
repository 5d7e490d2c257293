// X.509 for both ends (the CA signs, the proxy's identity agent makes CSRs): @peculiar/x509 on Node's
// WebCrypto, chosen over node-forge by measurement (node-forge cannot read an ECDSA P-256 CSR at all;
// see docs/security.md, "Certificate authority").
//
// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata
// API before the library loads.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

const x509 = await import('@peculiar/x509');
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
export const subtle = webcrypto.subtle;

/** ECDSA P-256 with SHA-256: the workload key type (Istio's default ECC choice) and its signatures. */
export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** PEM of a WebCrypto private key (PKCS#8). The caller decides where it may go (never a log). */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
}
