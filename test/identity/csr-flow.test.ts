// The CSR flow and identity-bound registration over real gRPC against a real control plane (in
// process): a workload token for sa/a gets sa/a's certificate and config, and is refused — with
// PERMISSION_DENIED naming claimed and proven identity, and logged — when it asks for sa/b's
// certificate, registers as sa/b, or asks for sa/b's config; the same holds over mTLS with the
// certificate it was issued. Renewal swaps the certificate in the SecretStore.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TokenAuthority } from '../../src/controlplane/ca/tokens.js';
import { IdentityAgent } from '../../src/proxy/identity/agent.js';
import { newWorkloadKey } from '../../src/proxy/identity/csr.js';
import { SecretStore, WORKLOAD_SECRET, ROOT_CA_SECRET, type TlsCertificateSecret } from '../../src/proxy/tls/secret-store.js';
import { adsFirstResponse, bearer, createCertificate, startSecureControlPlane, tlsTo, workload, type SecureControlPlane } from '../helpers/identity.js';
import { TypeUrl } from '../../src/api/envoy.js';

const SA_A = 'spiffe://cluster.local/ns/default/sa/a';
const SA_B = 'spiffe://cluster.local/ns/default/sa/b';
const CONTROL_PLANE_ID = 'spiffe://cluster.local/ns/weft-system/sa/weft-control-plane';
let env: SecureControlPlane;
let tokenA: string;
const agents: IdentityAgent[] = [];

before(async () => {
  env = await startSecureControlPlane();
  tokenA = await TokenAuthority.open(env.caDir, 'cluster.local').create({ namespace: 'default', serviceAccount: 'a', ttlMs: 3600_000 });
});
after(async () => {
  for (const a of agents) a.close();
  await env.close();
});

function agent(token: string | undefined, spiffeId: string, certTtlSeconds = 0): { agent: IdentityAgent; secrets: SecretStore; log: string[] } {
  const secrets = new SecretStore();
  const log: string[] = [];
  const a = new IdentityAgent({ caAddress: env.address, rootCaPem: env.rootPem, token, spiffeId, controlPlaneId: CONTROL_PLANE_ID, secrets, certTtlSeconds, retry: { initialMs: 50, maxMs: 200 }, log: (m) => log.push(m) });
  agents.push(a);
  return { agent: a, secrets, log };
}

test("a token for sa/a gets sa/a's certificate; the key stays in the proxy; SecretStore holds default and ROOTCA", async () => {
  const { agent: a, secrets } = agent(tokenA, SA_A);
  a.start();
  await a.whenReady();
  const cert = secrets.get(WORKLOAD_SECRET) as TlsCertificateSecret;
  assert.equal(cert.kind, 'tls_certificate');
  assert.match(cert.privateKey, /BEGIN PRIVATE KEY/);
  const leaf = new (await import('node:crypto')).X509Certificate(cert.certificateChain);
  assert.equal(leaf.subjectAltName, `URI:${SA_A}`);
  assert.equal(secrets.get(ROOT_CA_SECRET)?.kind, 'validation_context');
  assert.ok(!env.logs.join('\n').includes('PRIVATE KEY'), 'no key in the control plane log');
  assert.ok(env.logs.some((l) => l.includes(`signed CSR`) && l.includes(SA_A) && l.includes('proven by token')), 'the CA action is logged with the identity');
});

test("a token for sa/a asking for sa/b's certificate: PERMISSION_DENIED naming both, logged", async () => {
  const key = await newWorkloadKey(SA_B);
  const r = await createCertificate(env.address, tlsTo(env.rootPem), bearer(tokenA), key.csrPem);
  assert.ok(!r.ok);
  assert.equal(r.code, grpc.status.PERMISSION_DENIED);
  assert.match(r.details, new RegExp(`csr asks for URI:${SA_B} but the caller's credential \\(token\\) proves ${SA_A}.*WEFT_E_IDENTITY_MISMATCH`));
  assert.ok(env.logs.some((l) => l.startsWith('ca: refused CreateCertificate') && l.includes(SA_B) && l.includes(SA_A)));
});

test('no credential, a forged token, a bad CSR and an unknown metadata field are refused with their status', async () => {
  const key = await newWorkloadKey(SA_A);
  const none = await createCertificate(env.address, tlsTo(env.rootPem), bearer(undefined), key.csrPem);
  assert.ok(!none.ok && none.code === grpc.status.UNAUTHENTICATED, JSON.stringify(none));
  const forged = await TokenAuthority.open(`${env.dir}/other-ca`, 'cluster.local').create({ namespace: 'default', serviceAccount: 'a', ttlMs: 60_000 });
  const bad = await createCertificate(env.address, tlsTo(env.rootPem), bearer(forged), key.csrPem);
  assert.ok(!bad.ok && bad.code === grpc.status.UNAUTHENTICATED && /token not valid: signature verification failed/.test(bad.details), JSON.stringify(bad));
  const garbage = await createCertificate(env.address, tlsTo(env.rootPem), bearer(tokenA), 'not a csr');
  assert.ok(!garbage.ok && garbage.code === grpc.status.INVALID_ARGUMENT && /^csr: not a PEM PKCS#10 request/.test(garbage.details), JSON.stringify(garbage));
  const tooLong = await createCertificate(env.address, tlsTo(env.rootPem), bearer(tokenA), key.csrPem, 365 * 24 * 3600);
  assert.ok(!tooLong.ok && /^validity_duration: 31536000 s is above the longest lifetime/.test(tooLong.details), JSON.stringify(tooLong));
});

test('a token for sa/a cannot register as sa/b nor get its config (PERMISSION_DENIED, logged); as sa/a it gets config', async () => {
  const plaintext = `127.0.0.1:${env.cp.xdsPort}`;
  const asB = await adsFirstResponse(plaintext, grpc.credentials.createInsecure(), bearer(tokenA), workload('b'));
  assert.ok(!asB.ok);
  assert.equal(asB.code, grpc.status.PERMISSION_DENIED);
  assert.match(asB.details, new RegExp(`registers service "reviews" as ${SA_B} .* but its credential proves ${SA_A} \\(token\\) \\[WEFT_E_IDENTITY_MISMATCH\\]`));
  assert.ok(env.logs.some((l) => l.startsWith('refusing ADS stream') && l.includes(SA_B) && l.includes(SA_A)));
  assert.ok(!env.cp.ads.status().some((p) => p.id.includes('reviews-b')), 'sa/b was never registered');
  const asA = await adsFirstResponse(plaintext, grpc.credentials.createInsecure(), bearer(tokenA), workload('a'));
  assert.ok(asA.ok, JSON.stringify(asA));
  assert.equal(asA.value.type_url, TypeUrl.cluster);
  const anonymous = await adsFirstResponse(plaintext, grpc.credentials.createInsecure(), bearer(undefined), workload('a'));
  assert.ok(!anonymous.ok && anonymous.code === grpc.status.UNAUTHENTICATED, 'without --insecure-registration a credential is required');
});

test("over mTLS the client certificate is the credential: sa/a's certificate cannot register as sa/b nor renew as sa/b", async () => {
  const { agent: a, secrets } = agent(tokenA, SA_A);
  a.start();
  await a.whenReady();
  const cert = secrets.get(WORKLOAD_SECRET) as TlsCertificateSecret;
  const mtls = tlsTo(env.rootPem, { key: cert.privateKey, chain: cert.certificateChain });
  const asB = await adsFirstResponse(env.address, mtls, bearer(undefined), workload('b'));
  assert.ok(!asB.ok && asB.code === grpc.status.PERMISSION_DENIED && asB.details.includes(`proves ${SA_A} (mtls)`), JSON.stringify(asB));
  const asA = await adsFirstResponse(env.address, mtls, bearer(undefined), workload('a'));
  assert.ok(asA.ok, JSON.stringify(asA));
  const renewB = await createCertificate(env.address, mtls, bearer(undefined), (await newWorkloadKey(SA_B)).csrPem);
  assert.ok(!renewB.ok && renewB.code === grpc.status.PERMISSION_DENIED && renewB.details.includes(`(mtls) proves ${SA_A}`), JSON.stringify(renewB));
});

test('renewal at half the lifetime swaps the certificate in the SecretStore (2 s certificates)', async () => {
  const { agent: a, secrets } = agent(tokenA, SA_A, 2);
  const serials: string[] = [];
  const crypto = await import('node:crypto');
  const swapped = new Promise<void>((resolve) =>
    secrets.watch(WORKLOAD_SECRET, (s) => {
      serials.push(new crypto.X509Certificate((s as TlsCertificateSecret).certificateChain).serialNumber);
      if (serials.length === 2) resolve();
    }),
  );
  a.start();
  await swapped;
  assert.notEqual(serials[0], serials[1], 'a new certificate, not the same one set again');
  assert.equal(a.renewals, 1);
  assert.equal(a.generation(), 2, 'the xDS channel will reconnect with the renewed certificate');
});

test('a CA that is unreachable is retried with backoff; the agent is not ready meanwhile', async () => {
  const secrets = new SecretStore();
  const log: string[] = [];
  const a = new IdentityAgent({ caAddress: '127.0.0.1:1', rootCaPem: env.rootPem, token: tokenA, spiffeId: SA_A, controlPlaneId: CONTROL_PLANE_ID, secrets, retry: { initialMs: 10, maxMs: 20 }, log: (m) => log.push(m) });
  agents.push(a);
  a.start();
  const deadline = Date.now() + 10_000;
  while (log.filter((l) => l.includes('retrying in')).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(log.filter((l) => l.includes('certificate request failed')).length >= 3, log.join('\n'));
  assert.equal(a.ready, false);
  assert.equal(secrets.get(WORKLOAD_SECRET), undefined);
});

test("the agent trusts only a server with the control plane's SPIFFE ID, not any certificate under the root", async () => {
  const secrets = new SecretStore();
  const log: string[] = [];
  const wrong = 'spiffe://cluster.local/ns/default/sa/someone-else';
  const a = new IdentityAgent({ caAddress: env.address, rootCaPem: env.rootPem, token: tokenA, spiffeId: SA_A, controlPlaneId: wrong, secrets, retry: { initialMs: 10, maxMs: 20 }, log: (m) => log.push(m) });
  agents.push(a);
  a.start();
  const deadline = Date.now() + 10_000;
  while (!log.some((l) => l.includes('certificate request failed')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  a.close();
  assert.ok(log.some((l) => l.includes(`is for ${CONTROL_PLANE_ID}`) && l.includes(`not ${wrong}`)), log.join('\n'));
  assert.equal(secrets.get(WORKLOAD_SECRET), undefined, 'the token was never handed to that server');
});

test('the admin port binds a loopback address only', async () => {
  const { WeftProxy } = await import('../../src/proxy/proxy.js');
  const p = new WeftProxy({ xdsAddress: '127.0.0.1:1', workload: workload('a'), adminPort: 0, adminHost: '0.0.0.0' });
  await assert.rejects(p.start(), /admin host 0\.0\.0\.0: the admin port binds a loopback address only/);
  p.destroy();
});

test('a sidecar presenting a token on plaintext xDS (no --ca-root-file): as sa/a it gets config; as sa/b it is refused', async () => {
  const { WeftProxy } = await import('../../src/proxy/proxy.js');
  const plaintext = `127.0.0.1:${env.cp.xdsPort}`;
  const logs: string[] = [];
  const impostor = new WeftProxy({ xdsAddress: plaintext, workload: workload('b', 'details'), adminPort: 0, xdsToken: tokenA, xdsBackoff: { initialMs: 20, maxMs: 50 }, log: (m) => logs.push(m) });
  const honest = new WeftProxy({ xdsAddress: plaintext, workload: workload('a', 'details'), adminPort: 0, xdsToken: tokenA });
  try {
    await impostor.start();
    await honest.start();
    await honest.whenReady(10_000);
    const deadline = Date.now() + 10_000;
    while (!logs.some((l) => l.includes('PERMISSION_DENIED')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(logs.some((l) => l.includes('PERMISSION_DENIED') && l.includes(SA_B) && l.includes(SA_A)), logs.join('\n'));
    assert.equal(impostor.ready, false);
    const ids = env.cp.ads.status().map((p) => p.id);
    assert.ok(ids.includes(honest.node.id) && !ids.includes(impostor.node.id), JSON.stringify(ids));
  } finally {
    impostor.destroy();
    honest.destroy();
  }
});
