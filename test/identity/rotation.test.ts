// `weft ca rotate` against a real control plane and sidecar: the new root joins the trust bundle, the
// sidecar's certificate is re-issued under it, the old root leaves — each step reported — and the
// sidecar ends with ROOTCA = the new root only, a certificate signed by it, and its xDS stream up.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { spawnSecureControlPlane, tokenFile } from '../helpers/identity.js';
import { freePorts, spawnWeft, stopAll, waitFor, weftBin, type Proc } from '../helpers/processes.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-rotate-'));
const caDir = path.join(dir, 'ca');
const procs: Proc[] = [];
let ports: number[];

interface SecretsDump { dynamic_active_secrets: Array<{ name: string; tls_certificate?: { cert_chain: Array<{ serial_number: string }> }; validation_context?: { trusted_ca: Array<{ serial_number: string }> } }> }

async function secrets(admin: number): Promise<SecretsDump> {
  const dump = (await (await fetch(`http://127.0.0.1:${admin}/config_dump`)).json()) as { configs: Array<Record<string, unknown>> };
  return dump.configs.find((c) => c['@type'] === 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump') as unknown as SecretsDump;
}

before(async () => {
  ports = await freePorts(7);
  await spawnSecureControlPlane(dir, caDir, { xds: ports[0], secure: ports[1], monitor: ports[2] }, procs);
  const token = tokenFile(dir, caDir, 'a');
  procs.push(
    spawnWeft('sidecar', [
      'proxy', '--xds-address', `127.0.0.1:${ports[1]}`, '--service', 'reviews', '--service-account', 'a', '--app-port', String(ports[3]),
      '--outbound-port', String(ports[4]), '--inbound-port', String(ports[5]), '--admin-port', String(ports[6]),
      '--token-file', token, '--ca-root-file', path.join(caDir, 'root-cert.pem'),
    ]),
  );
  await waitFor('sidecar ready', async () => (await fetch(`http://127.0.0.1:${ports[6]}/ready`)).ok, 20_000, procs);
});

after(async () => {
  await stopAll(procs);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('weft ca rotate: new root added, workloads re-issued under it, old root removed; the sidecar follows', { timeout: 120_000 }, async () => {
  const oldRoot = new crypto.X509Certificate(fs.readFileSync(path.join(caDir, 'root-cert.pem'))).serialNumber;
  const before = await secrets(ports[6]);
  assert.deepEqual(before.dynamic_active_secrets.find((s) => s.name === 'ROOTCA')!.validation_context!.trusted_ca.map((c) => c.serial_number), [oldRoot]);
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [weftBin, 'ca', 'rotate', '--ca-dir', caDir, '--monitor-address', `127.0.0.1:${ports[2]}`, '--step-timeout', '30s'], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}\n${procs.map((p) => p.output().slice(-2000)).join('\n')}`)) : resolve(stdout),
    ),
  );
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 3, out);
  assert.match(lines[0], /^1\/3 trust bundle: root [0-9a-f]+ added beside /i);
  assert.match(lines[1], /^2\/3 signer: .* every live workload certificate re-issued under it/);
  assert.match(lines[2], /^3\/3 trust bundle: old root\(s\) removed/);
  const newRoot = new crypto.X509Certificate(fs.readFileSync(path.join(caDir, 'root-cert.pem'))).serialNumber;
  assert.notEqual(newRoot, oldRoot);
  assert.equal((fs.statSync(path.join(caDir, 'ca-key.pem')).mode & 0o777).toString(8), '600', 'the new CA key is 0600 too');
  await waitFor('the sidecar trusts only the new root', async () => {
    const s = await secrets(ports[6]);
    const roots = s.dynamic_active_secrets.find((x) => x.name === 'ROOTCA')!.validation_context!.trusted_ca.map((c) => c.serial_number);
    const chain = s.dynamic_active_secrets.find((x) => x.name === 'default')!.tls_certificate!.cert_chain.map((c) => c.serial_number);
    return roots.length === 1 && roots[0] === newRoot && chain[chain.length - 1] === newRoot;
  }, 15_000, procs);
  assert.match((await (await fetch(`http://127.0.0.1:${ports[6]}/stats`)).text()), /^control_plane\.connected_state: 1$/m);
  assert.match(procs[0].output(), /ca: reloaded from .*: 2 root\(s\) in the trust bundle/);
});
