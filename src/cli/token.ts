// `weft token create`: sign a workload token with the key in the CA dir and print it.
import { parseDuration } from '../config/duration.js';
import { TokenAuthority } from '../controlplane/ca/tokens.js';

interface TokenFlags {
  namespace: string;
  serviceAccount: string;
  ttl: string;
  caDir: string;
  trustDomain: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export async function runTokenCreate(f: TokenFlags): Promise<number> {
  const errors: string[] = [];
  if (!DNS_LABEL.test(f.namespace)) errors.push(`--namespace: must be a DNS label, got ${JSON.stringify(f.namespace)}`);
  if (!DNS_LABEL.test(f.serviceAccount)) errors.push(`--service-account: must be a DNS label, got ${JSON.stringify(f.serviceAccount)}`);
  const ttl = parseDuration(f.ttl);
  if (!ttl.ok) errors.push(`--ttl: ${ttl.message}`);
  if (errors.length || !ttl.ok) {
    for (const e of errors) process.stderr.write(`weft token create: ${e}\n`);
    return 2;
  }
  try {
    const tokens = TokenAuthority.open(f.caDir, f.trustDomain);
    process.stdout.write(`${await tokens.create({ namespace: f.namespace, serviceAccount: f.serviceAccount, ttlMs: ttl.ms })}\n`);
    process.stderr.write(`weft token create: token for spiffe://${f.trustDomain}/ns/${f.namespace}/sa/${f.serviceAccount}, valid ${f.ttl}; the proxy trusts the control plane with --ca-root-file ${f.caDir}/root-cert.pem\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`weft token create: ${(err as Error).message}\n`);
    return 1;
  }
}
