// The CA's files in --ca-dir, in Istio's plug-in CA names. An operator may put their own there
// (`ca-cert.pem` and `ca-key.pem` the signing certificate and key, `root-cert.pem` the root,
// `cert-chain.pem` the chain from the signing certificate up to the root); on first start without
// them the control plane writes a self-signed root under the same names. Key files are 0600.
import fs from 'node:fs';
import path from 'node:path';

export const CA_FILES = {
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  rootCert: 'root-cert.pem',
  certChain: 'cert-chain.pem',
  /** ES256 key signing the workload tokens of `weft token create` (universal mode). */
  tokenKey: 'token-signing-key.pem',
} as const;

export const KEY_FILE_MODE = 0o600;

export function caPath(dir: string, file: keyof typeof CA_FILES): string {
  return path.join(dir, CA_FILES[file]);
}

/** Write a new file: a key 0600 from the moment it exists; refuses to replace one (another process
 * may have written it first: the caller reads that one instead). */
export function writeNewFile(file: string, content: string, mode: number): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Read a key file, refusing one that others can read (as ssh does): a leaked CA key is every identity. */
export function readKeyFile(file: string): string {
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) throw new Error(`${file}: key file mode is ${mode.toString(8).padStart(4, '0')}; it must not be readable by group or others (chmod 600)`);
  return fs.readFileSync(file, 'utf8');
}
