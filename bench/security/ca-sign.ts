// What one workload certificate costs the CA: parse a P-256 CSR, check its signature, sign the
// X.509-SVID (the CreateCertificate path's own steps). `node dist/bench/security/ca-sign.js [N]`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { x509 } from '../../src/api/x509.js';
import { CertificateAuthority } from '../../src/controlplane/ca/authority.js';
import { newWorkloadKey } from '../../src/proxy/identity/csr.js';

const n = Number(process.argv[2] ?? 300);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-ca-bench-'));
try {
  const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local', log: () => {} });
  const identity = { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'bench' };
  const csrs = await Promise.all(Array.from({ length: Math.min(n, 20) }, () => newWorkloadKey('spiffe://cluster.local/ns/default/sa/bench')));
  const one = async (pem: string) => {
    const csr = new x509.Pkcs10CertificateRequest(pem);
    if (!(await csr.verify())) throw new Error('CSR does not verify');
    await ca.issue({ publicKey: csr.publicKey, identity, ttlMs: 24 * 3600_000 });
  };
  for (let i = 0; i < 20; i++) await one(csrs[i % csrs.length].csrPem); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await one(csrs[i % csrs.length].csrPem);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${n} certificates: ${(ms / n).toFixed(2)} ms each (CSR parse + signature check + sign), ${(n / (ms / 1000)).toFixed(0)} per second on one core`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
