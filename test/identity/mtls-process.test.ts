// xDS over mTLS through real processes: a `weft control-plane` with its CA (plaintext xDS off) and
// `weft proxy` sidecars that bootstrap with a token from `weft token create` and the CA's root.
// A sidecar gets its certificate, then its config over mTLS, and is ready; its admin port shows the
// certificate by serial, SPIFFE ID and expiry, and no key. A sidecar whose token says sa/a and which
// registers as sa/b gets nothing: refused, logged with claimed and proven identity.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { spawnSecureControlPlane, tokenFile } from '../helpers/identity.js';
import { freePorts, httpGetJson, spawnWeft, stopAll, waitFor, type Proc } from '../helpers/processes.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-mtls-'));
const caDir = path.join(dir, 'ca');
const procs: Proc[] = [];
let ports: number[];

interface Syncz { proxies: { id: string; service: string }[] }

const token = (sa: string) => tokenFile(dir, caDir, sa);

const sidecar = (name: string, sa: string, tokenFile: string, [app, outbound, inbound, admin]: number[]) =>
  spawnWeft(name, [
    'proxy', '--xds-address', `127.0.0.1:${ports[1]}`, '--service', 'reviews', '--service-account', sa, '--app-port', String(app),
    '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin),
    '--token-file', tokenFile, '--ca-root-file', path.join(caDir, 'root-cert.pem'),
  ]);

before(async () => {
  ports = await freePorts(11);
  await spawnSecureControlPlane(dir, caDir, { xds: ports[0], secure: ports[1], monitor: ports[2] }, procs);
});

after(async () => {
  await stopAll(procs);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the CA dir: key files 0600; the plaintext xDS port is off', async () => {
  for (const f of ['ca-key.pem', 'token-signing-key.pem']) assert.equal((fs.statSync(path.join(caDir, f)).mode & 0o777).toString(8), '600', f);
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect(ports[0], '127.0.0.1');
    s.on('connect', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(true));
  });
  assert.ok(refused, '--plaintext-xds=false: nothing listens on --xds-address');
});

test('a sidecar with a token gets its certificate, then config over mTLS; /config_dump shows serial, SPIFFE ID, expiry and no key', async () => {
  const admin = ports[6];
  const good = sidecar('reviews-a', 'a', token('a'), ports.slice(3, 7));
  procs.push(good);
  await waitFor('sidecar ready', async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).ok, 20_000, procs);
  const dumpText = await (await fetch(`http://127.0.0.1:${admin}/config_dump`)).text();
  assert.ok(!dumpText.includes('PRIVATE KEY'), 'no key material in /config_dump');
  assert.ok(!dumpText.includes('BEGIN CERTIFICATE'), 'certificates are summarized, not dumped');
  const dump = JSON.parse(dumpText) as { configs: Array<Record<string, unknown>> };
  const secrets = dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump') as {
    dynamic_active_secrets: Array<{ name: string; tls_certificate?: { cert_chain: Array<{ serial_number: string; subject_alt_names: string[]; expiration_time: string }> } }>;
  };
  assert.deepEqual(secrets.dynamic_active_secrets.map((s) => s.name), ['ROOTCA', 'default']);
  const leaf = secrets.dynamic_active_secrets.find((s) => s.name === 'default')!.tls_certificate!.cert_chain[0];
  assert.deepEqual(leaf.subject_alt_names, ['URI:spiffe://cluster.local/ns/default/sa/a']);
  assert.match(leaf.serial_number, /^[0-9A-F]{32}$/);
  const lifetimeH = (Date.parse(leaf.expiration_time) - Date.now()) / 3600_000;
  assert.ok(lifetimeH > 23 && lifetimeH <= 24, `expires in about 24 h (${lifetimeH.toFixed(2)} h)`);
  for (const p of ['/stats', '/clusters', '/listeners']) assert.ok(!(await (await fetch(`http://127.0.0.1:${admin}${p}`)).text()).includes('PRIVATE KEY'), p);
  for (const p of ['/debug/syncz', '/debug/configz', '/debug/registryz', '/debug/ca'])
    assert.ok(!(await (await fetch(`http://127.0.0.1:${ports[2]}${p}`)).text()).includes('PRIVATE KEY'), `monitor ${p}`);
  assert.ok((await httpGetJson<Syncz>(`http://127.0.0.1:${ports[2]}/debug/syncz`)).proxies.some((p) => p.service === 'reviews'));
  assert.match(good.output(), /mTLS as spiffe:\/\/cluster\.local\/ns\/default\/sa\/a/);
  assert.match(good.output(), /ready: certificate obtained, first CDS and LDS applied/);
});

test("a sidecar whose token says sa/a registering as sa/b gets no certificate, no config, no registration", async () => {
  const admin = ports[10];
  const impostor = sidecar('impostor', 'b', token('a'), ports.slice(7, 11));
  procs.push(impostor);
  const cp = procs[0];
  await waitFor('the CA refuses the impostor', async () => /refused CreateCertificate .*sa\/b.*proves spiffe:\/\/cluster\.local\/ns\/default\/sa\/a/.test(cp.output()), 15_000, procs);
  await waitFor('the impostor logs the refusal', async () => /PERMISSION_DENIED: csr asks for URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/b/.test(impostor.output()), 15_000, procs);
  assert.equal((await fetch(`http://127.0.0.1:${admin}/ready`)).status, 503, 'not ready without a certificate');
  const syncz = await httpGetJson<Syncz>(`http://127.0.0.1:${ports[2]}/debug/syncz`);
  assert.equal(syncz.proxies.length, 1, 'only the sidecar with a matching identity is registered');
});
