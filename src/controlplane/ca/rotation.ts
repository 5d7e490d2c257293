// Root rotation without a failed handshake, driven from the CA dir that the control plane watches:
// 1. a new root is added to the trust bundle (root-cert.pem holds both), so every party trusts
//    certificates under either; 2. the new root becomes the signer (ca-key.pem, then ca-cert.pem and
//    cert-chain.pem) and every workload is re-issued under it (proxies re-issue when the bundle file is
//    rewritten); 3. once no live certificate depends on the old root, it leaves the bundle. Each step is
//    confirmed through the control plane's /debug/ca before the next; a step that is not confirmed in
//    time stops the rotation where it is, which is always a safe state (the old root is never removed
//    while a live certificate needs it).
import fs from 'node:fs';
import { splitPemCertificates } from '../../api/pem.js';
import { generateRoot, type IssuedRecord } from './authority.js';
import { caPath, KEY_FILE_MODE } from './ca-files.js';

export interface CaStatus {
  signing: { serial: string };
  roots: Array<{ serial: string }>;
  issued: IssuedRecord[];
}

export interface RotationOptions {
  dir: string;
  trustDomain: string;
  /** Reads the control plane's /debug/ca. */
  status: () => Promise<CaStatus>;
  /** How long each step may take to be confirmed. */
  stepTimeoutMs: number;
  report: (line: string) => void;
}

/** Replace a file in one rename, so a watcher never reads half of it. */
function replaceFile(file: string, content: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

async function until(what: string, o: RotationOptions, ok: (s: CaStatus) => string | true): Promise<void> {
  const deadline = Date.now() + o.stepTimeoutMs;
  let last = '';
  for (;;) {
    const verdict = ok(await o.status());
    if (verdict === true) return;
    last = verdict;
    if (Date.now() > deadline) throw new Error(`${what}: not confirmed within ${o.stepTimeoutMs / 1000} s (${last}); the CA dir is left in this step's safe state`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function rotateRoot(o: RotationOptions): Promise<void> {
  const rootFile = caPath(o.dir, 'rootCert');
  const oldRoots = splitPemCertificates(fs.readFileSync(rootFile, 'utf8'));
  const before = await o.status();
  const oldSigner = before.signing.serial;
  const next = await generateRoot(o.trustDomain);

  replaceFile(rootFile, [...oldRoots, next.certPem].join(''), 0o644);
  await until('step 1', o, (s) => (s.roots.some((r) => r.serial === next.serial) ? true : `the control plane's bundle has ${s.roots.length} root(s), not yet ${next.serial}`));
  // The control plane trusting the new root is not enough: the signer may switch only once every
  // workload does, or its peers' first new-root certificates fail its handshakes (seen under load).
  // A proxy re-issues when its bundle file changes, after taking the new bundle: a new serial for
  // each identity live before this step is that proof.
  const notReissued = (s: CaStatus) => {
    const now = new Map(s.issued.map((i) => [i.spiffeId, i.serial]));
    return before.issued.filter((i) => Date.parse(i.notAfter) > Date.now() && now.get(i.spiffeId) === i.serial);
  };
  await until('step 1 (bundle taken)', o, (s) => (notReissued(s).length === 0 ? true : `not re-issued since the bundle changed: ${notReissued(s).map((i) => i.spiffeId).join(', ')}`));
  o.report(`1/3 trust bundle: root ${next.serial} added beside ${before.roots.map((r) => r.serial).join(', ')}; both are trusted by the control plane and every live workload`);

  // The key first: the control plane reloads when ca-cert.pem changes, and a certificate that does
  // not match its key is refused (the current CA keeps signing) until both are in place.
  replaceFile(caPath(o.dir, 'caKey'), next.keyPem, KEY_FILE_MODE);
  replaceFile(caPath(o.dir, 'certChain'), next.certPem, 0o644);
  replaceFile(caPath(o.dir, 'caCert'), next.certPem, 0o644);
  await until('step 2 (signer)', o, (s) => (s.signing.serial === next.serial ? true : `still signing with ${s.signing.serial}`));
  // Rewriting the bundle (same content) tells every proxy watching it to re-issue now.
  replaceFile(rootFile, [...oldRoots, next.certPem].join(''), 0o644);
  const stale = (s: CaStatus) => s.issued.filter((i) => i.issuerSerial !== next.serial && Date.parse(i.notAfter) > Date.now());
  await until('step 2 (re-issue)', o, (s) => (stale(s).length === 0 ? true : `still under the old root: ${stale(s).map((i) => i.spiffeId).join(', ')}`));
  o.report(`2/3 signer: root ${next.serial} signs; every live workload certificate re-issued under it (was ${oldSigner})`);

  replaceFile(rootFile, next.certPem, 0o644);
  await until('step 3', o, (s) => (s.roots.length === 1 && s.roots[0].serial === next.serial ? true : `bundle still has ${s.roots.length} roots`));
  o.report(`3/3 trust bundle: old root(s) removed; only ${next.serial} is trusted`);
}
