// The mesh's certificate authority: loads the signing certificate and key from --ca-dir (an
// operator's plug-in CA) or creates a self-signed root there on first start, and issues X.509-SVIDs:
// URI SAN `spiffe://<td>/ns/<ns>/sa/<sa>`, short-lived, digitalSignature + keyEncipherment, EKU
// serverAuth + clientAuth, not a CA, returned with the full chain (leaf … root, as Istio answers).
// The key never leaves this object: not logged, not served.
import crypto from 'node:crypto';
import fs from 'node:fs';
import type * as X509 from '@peculiar/x509';
import { splitPemCertificates } from '../../api/pem.js';
import { ECDSA_P256, privateKeyPem, subtle, x509 } from '../../api/x509.js';
import { caPath, KEY_FILE_MODE, readKeyFile, writeNewFile } from './ca-files.js';
import { spiffeUri, type SpiffeIdentity } from '../../api/spiffe.js';

export interface AuthorityOptions {
  dir: string;
  trustDomain: string;
  log: (msg: string) => void;
  /** Lifetime of the self-signed root created on first start (Istio: 10 years). */
  rootTtlMs?: number;
}

export interface IssueRequest {
  /** The public key the certificate binds (from a verified CSR, or the control plane's own key). */
  publicKey: X509.PublicKey | CryptoKey;
  identity: SpiffeIdentity;
  ttlMs: number;
  /** Extra SANs for the control plane's serving certificate (its DNS names and IPs). */
  dnsNames?: string[];
  ips?: string[];
}

export interface Issued {
  /** PEM: leaf, intermediates, root. */
  chain: string[];
  serial: string;
  notAfter: Date;
}

type SigningAlgorithm = RsaHashedImportParams | EcKeyImportParams;

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

/** The latest certificate issued to one identity (what /debug/ca shows; what rotation waits on). */
export interface IssuedRecord {
  spiffeId: string;
  serial: string;
  /** Serial of the certificate that signed it. */
  issuerSerial: string;
  notAfter: string;
}

export class CertificateAuthority {
  /** Latest issue per SPIFFE ID; shared across reloads (rotation compares old and new signers). */
  issued = new Map<string, IssuedRecord>();

  private constructor(
    readonly trustDomain: string,
    private readonly signingCert: X509.X509Certificate,
    private readonly signingKey: CryptoKey,
    private readonly algorithm: SigningAlgorithm & { hash: string },
    /** PEM from the signing certificate up to and including the root. */
    private readonly chainToRoot: string[],
    /** PEM of the trusted root(s): the trust bundle. */
    readonly rootsPem: string,
    private readonly log: (msg: string) => void,
  ) {}

  static async open(o: AuthorityOptions): Promise<CertificateAuthority> {
    fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    const keyFile = caPath(o.dir, 'caKey');
    if (!fs.existsSync(keyFile)) await createSelfSignedRoot(o);
    for (const f of ['caCert', 'rootCert'] as const)
      if (!fs.existsSync(caPath(o.dir, f))) throw new Error(`${caPath(o.dir, f)}: missing; a CA dir holding ${keyFile} needs ca-cert.pem and root-cert.pem too (Istio's plug-in CA files)`);
    const certPem = fs.readFileSync(caPath(o.dir, 'caCert'), 'utf8');
    const signingCert = new x509.X509Certificate(certPem);
    const key = crypto.createPrivateKey(readKeyFile(keyFile));
    const algorithm = signingAlgorithmOf(key, keyFile);
    const signingKey = await subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), algorithm, false, ['sign']);
    const rootsPem = fs.readFileSync(caPath(o.dir, 'rootCert'), 'utf8');
    const chainFile = caPath(o.dir, 'certChain');
    // cert-chain.pem runs from ca-cert up to the root; a self-signed root's chain is itself.
    const chainAbove = fs.existsSync(chainFile) ? splitPemCertificates(fs.readFileSync(chainFile, 'utf8')).slice(1) : [];
    const chainToRoot = await checkSigningCertificate(signingCert, key, rootsPem, chainAbove, caPath(o.dir, 'caCert'));
    o.log(`ca: signing with ${signingCert.subject} (serial ${signingCert.serialNumber}, until ${signingCert.notAfter.toISOString()}) from ${o.dir}; trust domain ${o.trustDomain}`);
    return new CertificateAuthority(o.trustDomain, signingCert, signingKey, algorithm, chainToRoot, rootsPem, o.log);
  }

  /** What /debug/ca shows: serials and dates only, never a key. */
  describe(): { trust_domain: string; signing: { serial: string; subject: string; not_after: string }; roots: Array<{ serial: string; not_after: string }>; issued: IssuedRecord[] } {
    return {
      trust_domain: this.trustDomain,
      signing: { serial: this.signingCert.serialNumber, subject: this.signingCert.subject, not_after: this.signingCert.notAfter.toISOString() },
      roots: splitPemCertificates(this.rootsPem).map((p) => {
        const c = new x509.X509Certificate(p);
        return { serial: c.serialNumber, not_after: c.notAfter.toISOString() };
      }),
      issued: [...this.issued.values()].sort((a, b) => a.spiffeId.localeCompare(b.spiffeId)),
    };
  }

  /** Issue an SVID for `identity`. The caller has already decided the identity is proven. */
  async issue(r: IssueRequest): Promise<Issued> {
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    // A certificate never outlives the certificate that signs it.
    const notAfter = new Date(Math.min(notBefore.getTime() + r.ttlMs, this.signingCert.notAfter.getTime()));
    const serialNumber = randomSerial();
    const publicKey = r.publicKey instanceof x509.PublicKey ? await r.publicKey.export() : r.publicKey;
    const names: X509.JsonGeneralName[] = [{ type: 'url', value: spiffeUri(r.identity) }];
    for (const d of r.dnsNames ?? []) names.push({ type: 'dns', value: d });
    for (const ip of r.ips ?? []) names.push({ type: 'ip', value: ip });
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber,
      // An SVID's identity is its URI SAN; the subject is empty (as Istio issues), so the SAN is critical (RFC 5280 4.2.1.6).
      subject: '',
      issuer: this.signingCert.subjectName.toString(),
      notBefore,
      notAfter,
      publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: this.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(names, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.signingCert),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
      ],
    });
    const chain = [leaf.toString('pem'), ...this.chainToRoot];
    const spiffeId = spiffeUri(r.identity);
    this.issued.set(spiffeId, { spiffeId, serial: serialNumber, issuerSerial: this.signingCert.serialNumber, notAfter: notAfter.toISOString() });
    this.log(`ca: issued serial ${serialNumber} for ${spiffeId}, valid until ${notAfter.toISOString()}`);
    return { chain: chain.map((c) => (c.endsWith('\n') ? c : `${c}\n`)), serial: serialNumber, notAfter };
  }
}

/** A new self-signed root: its certificate and key as PEM (the key for a file 0600, nowhere else). */
export async function generateRoot(trustDomain: string, ttlMs = TEN_YEARS_MS): Promise<{ certPem: string; keyPem: string; serial: string; notAfter: Date }> {
  const keys = (await subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    // Istio's self-signed root: O=<trust domain>.
    name: `O=${trustDomain}, CN=Weft root CA`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + ttlMs),
    keys,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: root.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey), serial: root.serialNumber, notAfter: root.notAfter };
}

async function createSelfSignedRoot(o: AuthorityOptions): Promise<void> {
  const root = await generateRoot(o.trustDomain, o.rootTtlMs);
  // The key first, exclusively: if another process is creating the CA at the same moment, it wins
  // and we read its files.
  if (!writeNewFile(caPath(o.dir, 'caKey'), root.keyPem, KEY_FILE_MODE)) return;
  for (const f of ['caCert', 'rootCert', 'certChain'] as const) fs.writeFileSync(caPath(o.dir, f), root.certPem, { mode: 0o644 });
  o.log(`ca: created a self-signed root in ${o.dir} (serial ${root.serial}, until ${root.notAfter.toISOString()}); key file ${caPath(o.dir, 'caKey')} mode 0600`);
}

function signingAlgorithmOf(key: crypto.KeyObject, file: string): SigningAlgorithm & { hash: string } {
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (!named) throw new Error(`${file}: EC key on curve ${curve}; the CA signs with P-256 or P-384`);
    return { name: 'ECDSA', namedCurve: named, hash: named === 'P-256' ? 'SHA-256' : 'SHA-384' };
  }
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  throw new Error(`${file}: a ${key.asymmetricKeyType} key; the CA signs with EC (P-256, P-384) or RSA keys`);
}

/** The signing certificate must be a CA, match its key, be in date, and chain to the root; returns
 * that chain (signing certificate … root) as PEM. */
async function checkSigningCertificate(cert: X509.X509Certificate, key: crypto.KeyObject, rootsPem: string, chainAbove: string[], file: string): Promise<string[]> {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new Error(`${file}: not a CA certificate (basicConstraints CA:TRUE is required to sign workload certificates)`);
  if (cert.notAfter.getTime() <= Date.now()) throw new Error(`${file}: expired at ${cert.notAfter.toISOString()}`);
  const publicOfKey = crypto.createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (!Buffer.from(cert.publicKey.rawData).equals(publicOfKey)) throw new Error(`${file}: does not match the key in ca-key.pem`);
  const roots = splitPemCertificates(rootsPem);
  if (roots.length === 0) throw new Error(`${file.replace(/ca-cert\.pem$/, 'root-cert.pem')}: no certificate in it`);
  const chain = new x509.X509ChainBuilder({ certificates: [...roots, ...chainAbove].map((p) => new x509.X509Certificate(p)) });
  const built = await chain.build(cert);
  const top = built[built.length - 1];
  if (!roots.some((r) => new x509.X509Certificate(r).equal(top))) throw new Error(`${file}: does not chain to a certificate in root-cert.pem (through cert-chain.pem)`);
  return built.map((c) => c.toString('pem'));
}

function randomSerial(): string {
  const b = crypto.randomBytes(16);
  b[0] &= 0x7f; // a positive INTEGER
  b[0] |= 0x01; // no leading zero byte to strip
  return b.toString('hex');
}
