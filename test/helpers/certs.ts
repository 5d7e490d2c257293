// Test certificates made by the real `openssl` CLI: a root, an intermediate it signs, and SPIFFE
// leaf certificates (URI SAN spiffe://<td>/ns/<ns>/sa/<sa>, ECDSA P-256, server and client auth)
// that the intermediate signs; the chain a workload presents is leaf + intermediate. `verify` runs
// `openssl verify` so a test can show a certificate chains to its root.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Leaf {
  /** PEM: leaf then intermediate. */
  chain: string;
  key: string;
  /** The leaf alone (PEM). */
  cert: string;
  spiffeId: string;
}

export interface TestCa {
  /** The trust bundle (PEM of the root). */
  root: string;
  dir: string;
  /** A workload certificate for spiffe://cluster.local/ns/<ns>/sa/<sa> (and any DNS SANs). */
  leaf(sa: string, o?: { ns?: string; trustDomain?: string; dns?: string[]; days?: number }): Leaf;
  /** `openssl verify` of a leaf chain against this root; returns its output (throws if it fails). */
  verify(leaf: Leaf): string;
  /** The text `openssl x509 -text` prints for a PEM certificate. */
  text(pem: string): string;
  dispose(): void;
}

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ecKey(cwd: string, file: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);
}

/** A fresh root and intermediate in a temporary directory (`name` tells roots apart in subjects). */
export function createTestCa(name = 'weft-test'): TestCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-certs-'));
  ecKey(dir, 'root.key');
  openssl(['req', '-x509', '-new', '-key', 'root.key', '-sha256', '-days', '2', '-subj', `/O=${name}/CN=${name} root`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'root.pem'], dir);
  ecKey(dir, 'int.key');
  openssl(['req', '-new', '-key', 'int.key', '-subj', `/O=${name}/CN=${name} intermediate`, '-out', 'int.csr'], dir);
  fs.writeFileSync(path.join(dir, 'int.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '2', '-sha256', '-extfile', 'int.ext', '-out', 'int.pem'], dir);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  const intermediate = read('int.pem');
  let n = 0;
  return {
    root: read('root.pem'),
    dir,
    leaf(sa, o = {}) {
      const id = `spiffe://${o.trustDomain ?? 'cluster.local'}/ns/${o.ns ?? 'default'}/sa/${sa}`;
      const base = `leaf${++n}`;
      ecKey(dir, `${base}.key`);
      openssl(['req', '-new', '-key', `${base}.key`, '-subj', `/O=${name}`, '-out', `${base}.csr`], dir);
      const sans = [`URI:${id}`, ...(o.dns ?? []).map((d) => `DNS:${d}`)].join(',');
      fs.writeFileSync(
        path.join(dir, `${base}.ext`),
        `subjectAltName=critical,${sans}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n`,
      );
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-days', String(o.days ?? 1), '-sha256', '-extfile', `${base}.ext`, '-out', `${base}.pem`], dir);
      const cert = read(`${base}.pem`);
      return { chain: cert + intermediate, key: read(`${base}.key`), cert, spiffeId: id };
    },
    verify(leaf) {
      const f = path.join(dir, `verify-${++n}.pem`);
      fs.writeFileSync(f, leaf.cert);
      return openssl(['verify', '-CAfile', 'root.pem', '-untrusted', 'int.pem', f], dir);
    },
    text(pem) {
      const f = path.join(dir, `text-${++n}.pem`);
      fs.writeFileSync(f, pem);
      return openssl(['x509', '-in', f, '-noout', '-text'], dir);
    },
    dispose() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
