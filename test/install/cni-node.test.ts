// The CNI node agent on real files: chaining after a network plugin's conflist (twice = once, .conf
// converted, a rewrite by the network plugin repaired), and `weft cni-node` as a process: installs the
// launcher and runtime under a host root, chains, and removes everything on SIGTERM.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chainPlugin, primaryConfigFile, unchainPlugin } from '../../src/install/cni-conflist.js';
import { cniObjects, DEFAULT_CNI_PLUGIN_CONF } from '../../src/install/cni.js';
import { PLUGIN_ENTRY } from '../../src/install/cni-node.js';
import { repoRoot } from '../helpers/paths.js';
import { spawnWeft, waitFor } from '../helpers/processes.js';

const BRIDGE = {
  cniVersion: '1.0.0',
  name: 'cluster',
  plugins: [
    { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', ranges: [[{ subnet: '198.18.0.0/24' }]] } },
    { type: 'portmap', capabilities: { portMappings: true } },
  ],
};
const tmpDir = (t: { after(fn: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cni-node-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};

test('chaining: Weft last after the network plugin, once, and removable to what was there', () => {
  const text = JSON.stringify(BRIDGE);
  const chained = chainPlugin(text, 'a.conflist', DEFAULT_CNI_PLUGIN_CONF);
  assert.deepEqual(chained, { ...BRIDGE, plugins: [...BRIDGE.plugins, DEFAULT_CNI_PLUGIN_CONF] });
  assert.deepEqual(chainPlugin(JSON.stringify(chained), 'a.conflist', DEFAULT_CNI_PLUGIN_CONF), chained, 'twice = once');
  assert.deepEqual(unchainPlugin(JSON.stringify(chained), 'a.conflist'), BRIDGE);
  assert.equal(unchainPlugin(text, 'a.conflist'), undefined, 'nothing to remove');
  const conf = { cniVersion: '0.4.0', name: 'single', type: 'bridge', bridge: 'cni0' };
  assert.deepEqual(chainPlugin(JSON.stringify(conf), 'b.conf', DEFAULT_CNI_PLUGIN_CONF), { cniVersion: '0.4.0', name: 'single', plugins: [{ type: 'bridge', bridge: 'cni0' }, DEFAULT_CNI_PLUGIN_CONF] });
  assert.throws(() => chainPlugin('{', 'c.conflist', DEFAULT_CNI_PLUGIN_CONF), /^Error: c\.conflist: not JSON/);
  assert.throws(() => chainPlugin(JSON.stringify({ plugins: [DEFAULT_CNI_PLUGIN_CONF] }), 'd.conflist', DEFAULT_CNI_PLUGIN_CONF), /d\.conflist: no network plugin to chain after/);
  assert.equal(primaryConfigFile(['99-loopback.conf', '10-calico.conflist', '.hidden.conf', 'README']), '10-calico.conflist');
});

/** The package to install: this repository once it has the weft-cni plugin, else a stand-in plugin
 * that answers VERSION as the CNI spec says (the plugin itself is another part of issue 10). */
function pluginPackage(dir: string): { root: string; real: boolean } {
  if (fs.existsSync(path.join(repoRoot, PLUGIN_ENTRY))) return { root: repoRoot, real: true };
  const root = path.join(dir, 'package');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(root, 'package.json'), '{"type":"module"}\n');
  fs.writeFileSync(path.join(root, PLUGIN_ENTRY), "if (process.env.CNI_COMMAND === 'VERSION') process.stdout.write(JSON.stringify({ cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0'] }));\n");
  return { root, real: false };
}

test('`weft cni-node` installs the plugin and chains it, repairs a rewritten config, and cleans up on SIGTERM', async (t) => {
  const dir = tmpDir(t);
  const host = path.join(dir, 'host');
  const netDir = path.join(host, 'etc/cni/net.d');
  fs.mkdirSync(netDir, { recursive: true });
  fs.writeFileSync(path.join(netDir, '10-cluster.conflist'), JSON.stringify(BRIDGE));
  fs.writeFileSync(path.join(netDir, '99-loopback.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'lo', type: 'loopback' }));
  const pluginConfig = path.join(dir, 'plugin.json');
  fs.writeFileSync(pluginConfig, JSON.stringify(DEFAULT_CNI_PLUGIN_CONF));
  const pkg = pluginPackage(dir);
  t.diagnostic(pkg.real ? 'installing the real weft-cni plugin of this repository' : `no ${PLUGIN_ENTRY} in this repository yet: installing a stand-in that answers VERSION`);

  // The DaemonSet's own command line, its two mounts mapped to this machine.
  const daemonSet = cniObjects({ namespace: 'weft-system', image: 'weft:test', trustDomain: 'cluster.local', cni: true, skipCrds: false }).find((o) => o.kind === 'DaemonSet') as unknown as {
    spec: { template: { spec: { containers: { command: string[]; args: string[] }[] } } };
  };
  const { command, args } = daemonSet.spec.template.spec.containers[0];
  assert.deepEqual(command, ['weft']);
  const local = args.map((a) => a.replace(/^--host-root=.*/, `--host-root=${host}`).replace(/^--plugin-config=.*/, `--plugin-config=${pluginConfig}`));
  const agent = spawnWeft('cni-node', [...local, `--package-root=${pkg.root}`, '--check-interval-ms=100']);
  t.after(() => agent.stop());
  const conflist = path.join(netDir, '10-cluster.conflist');
  const chained = () => (JSON.parse(fs.readFileSync(conflist, 'utf8')) as typeof BRIDGE).plugins.map((p) => p.type);
  await waitFor('the chained config', async () => /chained weft-cni into/.test(agent.output()), 60_000, [agent]);
  assert.deepEqual(chained(), ['bridge', 'portmap', 'weft-cni']);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(netDir, '99-loopback.conf'), 'utf8')).type, 'loopback', 'only the primary file is touched');

  // The runtime runs the launcher on the host, with the CNI variables and config on stdin.
  const launcher = path.join(host, 'opt/cni/bin/weft-cni');
  const script = fs.readFileSync(launcher, 'utf8').replaceAll('/opt/weft/', `${host}/opt/weft/`);
  const r = spawnSync('sh', ['-c', script, 'weft-cni'], { env: { PATH: '/usr/bin:/bin', CNI_COMMAND: 'VERSION' }, input: '{}', encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as { supportedVersions: string[] }).supportedVersions.includes('1.0.0'), r.stdout);

  // The network plugin rewrites its file (an upgrade): the agent chains again.
  fs.writeFileSync(conflist, JSON.stringify(BRIDGE));
  await waitFor('the chain repaired', async () => chained().includes('weft-cni'), 10_000, [agent]);
  assert.deepEqual(chained(), ['bridge', 'portmap', 'weft-cni']);

  agent.child.kill('SIGTERM');
  await waitFor('the agent to exit', async () => agent.child.exitCode !== null, 10_000, [agent]);
  assert.equal(agent.child.exitCode, 0, agent.output());
  assert.deepEqual(chained(), ['bridge', 'portmap']);
  assert.ok(!fs.existsSync(launcher) && !fs.existsSync(path.join(host, 'opt/weft')), 'launcher and runtime removed');
});

test('`weft cni-node` without a plugin in the package fails, naming the file', (t) => {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify(DEFAULT_CNI_PLUGIN_CONF));
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/weft.js'), 'cni-node', `--host-root=${dir}`, `--plugin-config=${dir}/plugin.json`, `--package-root=${dir}`], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`${dir}/bin/weft-cni\\.js: missing`));
  fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify({ type: 'istio-cni' }));
  const bad = spawnSync(process.execPath, [path.join(repoRoot, 'bin/weft.js'), 'cni-node', `--host-root=${dir}`, `--plugin-config=${dir}/plugin.json`], { encoding: 'utf8' });
  assert.match(bad.stderr, /plugin\.json: type must be "weft-cni", got "istio-cni"/);
});
