// The identity flags refuse bad input with an error naming the flag, and exit 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { weftBin } from '../helpers/processes.js';

const weft = (args: string[]) => spawnSync(process.execPath, [weftBin, ...args], { encoding: 'utf8', timeout: 20_000 });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'weft-flags-'));

const cases: Array<{ name: string; args: (dir: string) => string[]; error: RegExp }> = [
  { name: '--plaintext-xds=false without a CA', args: (d) => ['control-plane', '--config-dir', d, '--insecure-registration', '--plaintext-xds=false'], error: /--plaintext-xds: needs --ca-dir/ },
  { name: 'neither a CA nor --insecure-registration', args: (d) => ['control-plane', '--config-dir', d], error: /give --ca-dir DIR .* or --insecure-registration/ },
  { name: 'a bad --workload-cert-ttl', args: (d) => ['control-plane', '--config-dir', d, '--ca-dir', path.join(d, 'ca'), '--workload-cert-ttl', 'soon'], error: /--workload-cert-ttl: must be a duration/ },
  { name: '--kube-api-server over http', args: (d) => ['control-plane', '--config-dir', d, '--ca-dir', path.join(d, 'ca'), '--kube-api-server', 'http://k8s:6443'], error: /--kube-api-server: expected an https:\/\/ URL/ },
  { name: '--kube-api-server without its CA file', args: (d) => ['control-plane', '--config-dir', d, '--ca-dir', path.join(d, 'ca'), '--kube-api-server', 'https://k8s:6443'], error: /--kube-api-server needs --kube-ca-file/ },
  { name: '--kube-token-file without --kube-api-server', args: (d) => ['control-plane', '--config-dir', d, '--ca-dir', path.join(d, 'ca'), '--kube-token-file', '/x'], error: /need --kube-api-server/ },
  { name: 'a bad --webhook-port', args: (d) => ['control-plane', '--config-dir', d, '--ca-dir', path.join(d, 'ca'), '--webhook-port', '99999'], error: /--webhook-port: expected a port number 0\.\.65535 \(0: no webhook\), got "99999"/ },
  { name: 'a bad --plaintext-xds', args: (d) => ['control-plane', '--config-dir', d, '--ca-dir', path.join(d, 'ca'), '--plaintext-xds=maybe'], error: /--plaintext-xds: expected true or false, got "maybe"/ },
  { name: 'token create: a namespace that is not a DNS label', args: (d) => ['token', 'create', '--namespace', 'Bad_NS', '--service-account', 'a', '--ca-dir', d], error: /--namespace: must be a DNS label, got "Bad_NS"/ },
  { name: 'token create: a bad --ttl', args: (d) => ['token', 'create', '--namespace', 'default', '--service-account', 'a', '--ttl', '-1h', '--ca-dir', d], error: /--ttl: duration must not be negative/ },
  { name: 'proxy: a missing --token-file', args: (d) => ['proxy', '--xds-address', '127.0.0.1:1', '--service', 'a', '--app-port', '1', '--admin-port', '0', '--token-file', path.join(d, 'none')], error: /--token-file: cannot read .*none: ENOENT/ },
  { name: 'proxy: a --ca-root-file that holds no certificate', args: (d) => ['proxy', '--xds-address', '127.0.0.1:1', '--service', 'a', '--app-port', '1', '--admin-port', '0', '--ca-root-file', path.join(d, 'junk')], error: /--ca-root-file: .*junk holds no PEM certificate/ },
];

for (const c of cases)
  test(`refused: ${c.name}`, () => {
    const dir = tmp();
    try {
      fs.writeFileSync(path.join(dir, 'junk'), 'not a certificate');
      const r = weft(c.args(dir));
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, c.error);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
