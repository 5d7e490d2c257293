// The demo's workload identities: it is its own operator, so it creates the CA dir (a self-signed
// root) before the control plane starts and issues each sidecar a token for its service account, as
// `weft token create` would. Sidecars then bootstrap with the root and the token, get their
// certificate, and talk xDS over mTLS; no registration is unauthenticated.
import fs from 'node:fs';
import path from 'node:path';
import { CertificateAuthority } from '../controlplane/ca/authority.js';
import { TokenAuthority } from '../controlplane/ca/tokens.js';

export interface DemoIdentity {
  caDir: string;
  rootFile: string;
  /** Write a token for `serviceAccount` and return its file. */
  tokenFile(serviceAccount: string): Promise<string>;
}

export async function prepareDemoIdentity(dir: string): Promise<DemoIdentity> {
  const caDir = path.join(dir, 'ca');
  await CertificateAuthority.open({ dir: caDir, trustDomain: 'cluster.local', log: () => {} });
  const tokens = TokenAuthority.open(caDir, 'cluster.local');
  const tokenDir = path.join(dir, 'tokens');
  fs.mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  return {
    caDir,
    rootFile: path.join(caDir, 'root-cert.pem'),
    tokenFile: async (serviceAccount) => {
      const file = path.join(tokenDir, `${serviceAccount}.token`);
      fs.writeFileSync(file, await tokens.create({ namespace: 'default', serviceAccount, ttlMs: 24 * 3600 * 1000 }), { mode: 0o600 });
      return file;
    },
  };
}
