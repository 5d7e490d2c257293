// The injected command lines are the real programs' flags: the proxy's args (with the kubelet's
// $(VAR) expansion done here) start a real `weft proxy`, and the capture init container's args run
// `weft iptables --dry-run`. Each part skips, saying why, until its command exists in this build.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { injectManifest } from '../../src/inject/manifest.js';
import { defaultInjectOptions } from '../../src/inject/options.js';
import type { Container, PodTemplate } from '../../src/inject/types.js';
import { createTestCa } from '../helpers/certs.js';
import { fixturesDir } from '../helpers/paths.js';
import { freePorts, spawnWeft, stopAll, waitFor, weftBin, type Proc } from '../helpers/processes.js';

const help = (cmd: string) => spawnSync(process.execPath, [weftBin, cmd, '--help'], { encoding: 'utf8' });

function injected(file: string): PodTemplate {
  const text = fs.readFileSync(path.join(fixturesDir, 'istio/inject', file), 'utf8');
  const r = injectManifest(text, file, defaultInjectOptions);
  assert.deepEqual(r.errors, []);
  return parseYaml(r.output).spec.template;
}

const container = (pod: PodTemplate, name: string): Container => [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name)!;

test('the proxy container starts a real weft proxy with its injected flags', async (t) => {
  const usage = help('proxy').stdout;
  const proxy = container(injected('hello-probes.yaml'), 'weft-proxy');
  const missing = [...new Set(proxy.args!.filter((a) => a.startsWith('--')))].filter((flag) => !usage.includes(`${flag} `));
  if (missing.length > 0) {
    // --mode transparent comes with the transparent-proxy part of issue 10.
    t.skip(`weft proxy does not have ${missing.join(', ')} yet`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-sidecar-'));
  const ca = createTestCa('weft-inject');
  const procs: Proc[] = [];
  try {
    // What the volumes give the container in a pod.
    const files: Record<string, string> = { '/var/run/secrets/weft/root-cert.pem': ca.root, '/var/run/secrets/tokens/istio-token': 'a-token' };
    const env: Record<string, string> = { POD_NAMESPACE: 'default', SERVICE_ACCOUNT: 'default', INSTANCE_IP: '127.0.0.1', POD_NAME: 'hello-1' };
    const args = proxy.args!.map((a) => {
      const expanded = a.replace(/\$\(([A-Z_]+)\)/g, (_m, v: string) => env[v] ?? '');
      if (!files[expanded]) return expanded;
      const local = path.join(dir, path.basename(expanded));
      fs.writeFileSync(local, files[expanded]);
      return local;
    });
    // Loopback ports of this run instead of the pod's fixed ones (later flags win).
    const [admin, outbound, inbound, status] = await freePorts(4);
    const overrides = ['--admin-port', String(admin), '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--status-port', String(status), '--xds-address', '127.0.0.1:1'];
    const probers = proxy.env!.find((e) => e.name === 'ISTIO_KUBE_APP_PROBERS')!.value!;
    const p = spawnWeft('sidecar', [...args, ...overrides], { ISTIO_KUBE_APP_PROBERS: probers });
    procs.push(p);
    await waitFor('the proxy to start with the injected flags', async () => /status port \d+: \/healthz\/ready, 3 app probe/.test(p.output()) || (p.child.exitCode !== null && Promise.reject(new Error(p.output()))), 15_000, procs);
    const ready = await fetch(`http://127.0.0.1:${status}/healthz/ready`);
    assert.equal(ready.status, 503, 'not ready without a control plane');
  } finally {
    await stopAll(procs);
    ca.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the capture init container runs weft iptables --dry-run with its injected flags', (t) => {
  // Without the command, commander prints the program's own help (Usage: weft [options] [command]).
  if (!/Usage: weft iptables/.test(help('iptables').stdout)) {
    t.skip('weft iptables is not in this build yet (the capture part of issue 10)');
    return;
  }
  const init = container(injected('traffic-annotations.yaml'), 'weft-init');
  assert.equal(init.args![0], 'iptables');
  const r = spawnSync(process.execPath, [weftBin, ...init.args!, '--dry-run'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /15001/, 'the outbound redirect is in the rules');
  assert.match(r.stdout, /10\.96\.0\.2\/24/, 'an excluded CIDR is in the rules');
});
