// The CA's certificates, checked by openssl (not by the library that made them): URI SAN, lifetime,
// key usage, EKU, not a CA, and the chain to the root — for the self-signed root created on first
// start and for an operator's plug-in CA (root → intermediate, Istio's file names). Key files are 0600.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { x509 } from '../../src/api/x509.js';
import { CertificateAuthority } from '../../src/controlplane/ca/authority.js';
import { caPath } from '../../src/controlplane/ca/ca-files.js';
import { newWorkloadKey } from '../../src/proxy/identity/csr.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-ca-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const logs: string[] = [];
const log = (m: string) => logs.push(m);
const identity = { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'reviews' };
const DAY_MS = 24 * 3600 * 1000;

const openssl = (args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Issue for a fresh proxy-made CSR; write leaf, intermediates and root as files for openssl. */
async function issueToFiles(ca: CertificateAuthority, dir: string, ttlMs = DAY_MS) {
  const key = await newWorkloadKey('spiffe://cluster.local/ns/default/sa/reviews');
  const csr = new x509.Pkcs10CertificateRequest(key.csrPem);
  const issued = await ca.issue({ publicKey: csr.publicKey, identity, ttlMs });
  const files = { leaf: path.join(dir, 'leaf.pem'), untrusted: path.join(dir, 'untrusted.pem'), root: caPath(dir, 'rootCert') };
  fs.writeFileSync(files.leaf, issued.chain[0]);
  fs.writeFileSync(files.untrusted, issued.chain.slice(1, -1).join('') || issued.chain[0]);
  return { issued, files, key };
}

test('first start: a self-signed root in --ca-dir, key file 0600, reused on the next start', async () => {
  const dir = path.join(tmp, 'self');
  const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local', log });
  const mode = fs.statSync(caPath(dir, 'caKey')).mode & 0o777;
  assert.equal(mode.toString(8), '600', 'the CA key file is readable by its owner only');
  const root = openssl(['x509', '-in', caPath(dir, 'rootCert'), '-noout', '-text']);
  assert.match(root, /CA:TRUE/);
  assert.match(root, /Certificate Sign/);
  assert.match(root, /Subject: O\s*=\s*cluster\.local/);
  const again = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local', log });
  assert.equal(again.rootsPem, ca.rootsPem, 'a second start reads the same root');
  assert.ok(!logs.join('\n').includes('PRIVATE KEY'), 'the key is never logged');
});

test('a workload certificate: SPIFFE URI SAN, 24 h, digitalSignature+keyEncipherment, serverAuth+clientAuth, not a CA, verifies to the root', async () => {
  const dir = path.join(tmp, 'self');
  const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local', log });
  const { issued, files } = await issueToFiles(ca, dir);
  assert.equal(issued.chain.length, 2, 'leaf and root');
  assert.match(openssl(['verify', '-CAfile', files.root, files.leaf]), /leaf\.pem: OK/);
  const text = openssl(['x509', '-in', files.leaf, '-noout', '-text']);
  assert.match(text, /X509v3 Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews\s/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\s/);
  assert.match(text, /X509v3 Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication\s/);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /Public Key Algorithm: id-ecPublicKey[\s\S]*NIST CURVE: P-256/);
  const dates = openssl(['x509', '-in', files.leaf, '-noout', '-startdate', '-enddate']);
  const start = Date.parse(/notBefore=(.+)/.exec(dates)![1]);
  const end = Date.parse(/notAfter=(.+)/.exec(dates)![1]);
  assert.equal(end - start, DAY_MS, 'lifetime is --workload-cert-ttl (24 h)');
  // openssl also refuses the leaf as an issuer: it is not a CA.
  assert.throws(() => openssl(['verify', '-CAfile', files.leaf, files.leaf]));
});

test("plug-in CA (Istio's ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem): the full chain leaf → intermediate → root", async () => {
  const dir = path.join(tmp, 'plugin');
  fs.mkdirSync(dir);
  const p = (f: string) => path.join(dir, f);
  // An operator's root (RSA, as Istio's samples/certs) and an intermediate (EC) signed by it, made by openssl.
  fs.writeFileSync(p('root.cnf'), '[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('root-key.pem'), '-out', p('root-cert.pem'), '-days', '30', '-subj', '/O=example/CN=Operator Root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', p('ca-key.pem')]);
  openssl(['req', '-new', '-key', p('ca-key.pem'), '-out', p('ca.csr'), '-subj', '/O=example/CN=Intermediate']);
  openssl(['x509', '-req', '-in', p('ca.csr'), '-CA', p('root-cert.pem'), '-CAkey', p('root-key.pem'), '-CAcreateserial', '-out', p('ca-cert.pem'), '-days', '20', '-extfile', p('root.cnf'), '-extensions', 'v3_ca']);
  fs.writeFileSync(p('cert-chain.pem'), fs.readFileSync(p('ca-cert.pem'), 'utf8') + fs.readFileSync(p('root-cert.pem'), 'utf8'));
  fs.chmodSync(p('ca-key.pem'), 0o644);
  await assert.rejects(CertificateAuthority.open({ dir, trustDomain: 'cluster.local', log }), /ca-key\.pem: key file mode is 0644; it must not be readable by group or others/);
  fs.chmodSync(p('ca-key.pem'), 0o600);
  const ca = await CertificateAuthority.open({ dir, trustDomain: 'cluster.local', log });
  const { issued, files } = await issueToFiles(ca, dir);
  assert.equal(issued.chain.length, 3, 'leaf, intermediate, root');
  assert.match(openssl(['verify', '-CAfile', files.root, '-untrusted', files.untrusted, files.leaf]), /leaf\.pem: OK/);
  assert.throws(() => openssl(['verify', '-CAfile', files.root, files.leaf]), 'without the intermediate the leaf does not verify: the chain is needed');
  const text = openssl(['x509', '-in', files.leaf, '-noout', '-text']);
  assert.match(text, /Issuer: O\s*=\s*example, CN\s*=\s*Intermediate/);
  // The certificate never outlives the intermediate that signs it (20 days), whatever is asked.
  const long = await issueToFiles(ca, dir, 90 * DAY_MS);
  assert.ok(long.issued.notAfter.getTime() <= new x509.X509Certificate(fs.readFileSync(p('ca-cert.pem'), 'utf8')).notAfter.getTime());
});

test('a plug-in CA whose certificate does not match its key is refused, naming the file', async () => {
  const dir = path.join(tmp, 'mismatch');
  fs.cpSync(path.join(tmp, 'plugin'), dir, { recursive: true });
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', path.join(dir, 'ca-key.pem')]);
  fs.chmodSync(path.join(dir, 'ca-key.pem'), 0o600);
  await assert.rejects(CertificateAuthority.open({ dir, trustDomain: 'cluster.local', log }), /ca-cert\.pem: does not match the key in ca-key\.pem/);
});
