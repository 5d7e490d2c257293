// X.509 for both ends (the CA signs, the proxy's identity agent makes CSRs): @peculiar/x509 on Node's
// WebCrypto, chosen over node-forge by measurement (node-forge cannot read an ECDSA P-256 CSR at all;
// see docs/security.md, "Certificate authority").
//
// @peculiar/x509 resolves its algorithm providers through tsyringe, which demands the Reflect metadata
// API at load time and the `reflect-metadata` package is not installed. Until it is, the three calls
// tsyringe makes are provided here (a map per target), before the library loads. Replace this block
// with `import 'reflect-metadata'` once the package is added.
import { webcrypto } from 'node:crypto';

interface ReflectMetadata {
  getMetadata?(key: unknown, target: object): unknown;
  getOwnMetadata?(key: unknown, target: object): unknown;
  defineMetadata?(key: unknown, value: unknown, target: object): void;
}
const reflect = Reflect as unknown as ReflectMetadata;
if (!reflect.getMetadata) {
  const metadata = new WeakMap<object, Map<unknown, unknown>>();
  reflect.defineMetadata = (key, value, target) => {
    let m = metadata.get(target);
    if (!m) metadata.set(target, (m = new Map()));
    m.set(key, value);
  };
  reflect.getOwnMetadata = (key, target) => metadata.get(target)?.get(key);
  reflect.getMetadata = (key, target) => {
    for (let o: object | null = target; o; o = Object.getPrototypeOf(o) as object | null) {
      const v = metadata.get(o)?.get(key);
      if (v !== undefined) return v;
    }
    return undefined;
  };
}
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
