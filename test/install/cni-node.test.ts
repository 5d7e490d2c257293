// The CNI node agent on real files: chaining after a network plugin's conflist (twice = once, .conf
// converted, a rewrite by the network plugin repaired), and `weft cni-node` as a process: installs the
// launcher and runtime under a host root, chains, and unchains on SIGTERM; the real weft-cni
// runs through the installed launcher with the entry the agent chained.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chainPlugin, primaryConfigFile, unchainPlugin } from '../../src/install/cni-conflist.js';
import { cniObjects, DEFAULT_CNI_PLUGIN_CONF } from '../../src/install/cni.js';
import { parseConfig, podSettings } from '../../src/cni/config.js';
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

test('`weft cni-node` installs the plugin and chains it, repairs a rewritten config, and unchains on SIGTERM', async (t) => {
  const dir = tmpDir(t);
  const host = path.join(dir, 'host');
  const netDir = path.join(host, 'etc/cni/net.d');
  fs.mkdirSync(netDir, { recursive: true });
  fs.writeFileSync(path.join(netDir, '10-cluster.conflist'), JSON.stringify(BRIDGE));
  fs.writeFileSync(path.join(netDir, '99-loopback.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'lo', type: 'loopback' }));
  const pluginConfig = path.join(dir, 'plugin.json');
  fs.writeFileSync(pluginConfig, JSON.stringify(DEFAULT_CNI_PLUGIN_CONF));

  // The DaemonSet's own command line, its two mounts mapped to this machine.
  const daemonSet = cniObjects({ namespace: 'weft-system', image: 'weft:test', trustDomain: 'cluster.local', cni: true, skipCrds: false }).find((o) => o.kind === 'DaemonSet') as unknown as {
    spec: { template: { spec: { containers: { command: string[]; args: string[] }[] } } };
  };
  const { command, args } = daemonSet.spec.template.spec.containers[0];
  assert.deepEqual(command, ['weft']);
  const local = args.map((a) => a.replace(/^--host-root=.*/, `--host-root=${host}`).replace(/^--plugin-config=.*/, `--plugin-config=${pluginConfig}`));
  const agent = spawnWeft('cni-node', [...local, '--check-interval-ms=100']);
  t.after(() => agent.stop());
  const conflist = path.join(netDir, '10-cluster.conflist');
  const chained = () => (JSON.parse(fs.readFileSync(conflist, 'utf8')) as typeof BRIDGE).plugins.map((p) => p.type);
  await waitFor('the chained config', async () => /chained weft-cni into/.test(agent.output()), 120_000, [agent]);
  assert.deepEqual(chained(), ['bridge', 'portmap', 'weft-cni']);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(netDir, '99-loopback.conf'), 'utf8')).type, 'loopback', 'only the primary file is touched');

  // The runtime runs the launcher on the host (the copied Node and package, not this checkout), with
  // the CNI variables and the chained entry on stdin as libcni builds it: the list's cniVersion and
  // name, and the network plugin's result as prevResult.
  const launcher = path.join(host, 'opt/cni/bin/weft-cni');
  const script = fs.readFileSync(launcher, 'utf8').replaceAll('/opt/weft/', `${host}/opt/weft/`);
  assert.notEqual(script, fs.readFileSync(launcher, 'utf8'), 'the launcher runs the runtime under /opt/weft');
  const runPlugin = (env: Record<string, string>, stdin: string) => spawnSync('sh', ['-c', script, 'weft-cni'], { env: { PATH: '/usr/bin:/bin', ...env }, input: stdin, encoding: 'utf8' });
  const version = runPlugin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
  assert.equal(version.status, 0, version.stderr);
  assert.ok((JSON.parse(version.stdout) as { supportedVersions: string[] }).supportedVersions.includes('1.0.0'), version.stdout);
  const entry = (JSON.parse(fs.readFileSync(conflist, 'utf8')) as { plugins: Record<string, unknown>[] }).plugins[2];
  const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '198.18.0.5/24', interface: 0 }] };
  const add = runPlugin(
    { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/none', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns' },
    JSON.stringify({ cniVersion: BRIDGE.cniVersion, name: BRIDGE.name, ...entry, prevResult }),
  );
  assert.equal(add.status, 0, `${add.stdout}\n${add.stderr}`);
  assert.deepEqual(JSON.parse(add.stdout), prevResult, 'the result passes through');
  assert.match(add.stderr, /ADD pod kube-system\/coredns: skipped \(namespace kube-system is in excludeNamespaces\)/);

  // The network plugin rewrites its file (an upgrade): the agent chains again.
  fs.writeFileSync(conflist, JSON.stringify(BRIDGE));
  await waitFor('the chain repaired', async () => chained().includes('weft-cni'), 10_000, [agent]);
  assert.deepEqual(chained(), ['bridge', 'portmap', 'weft-cni']);

  agent.child.kill('SIGTERM');
  await waitFor('the agent to exit', async () => agent.child.exitCode !== null, 60_000, [agent]);
  assert.equal(agent.child.exitCode, 0, agent.output());
  assert.deepEqual(chained(), ['bridge', 'portmap']);
  // Pods set up before still get their DEL: the plugin stays.
  const del = runPlugin({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns' }, JSON.stringify({ cniVersion: '1.0.0', name: BRIDGE.name, ...entry }));
  assert.equal(del.status, 0, `${del.stdout}\n${del.stderr}`);
});

test('`weft cni-node` without a plugin in the package fails, naming the file', (t) => {
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify(DEFAULT_CNI_PLUGIN_CONF));
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/weft.js'), 'cni-node', `--host-root=${dir}`, `--plugin-config=${dir}/plugin.json`, `--package-root=${dir}`], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`${dir}/bin/weft-cni\\.js: missing`));
  const refused = (entry: unknown) => {
    fs.writeFileSync(path.join(dir, 'plugin.json'), JSON.stringify(entry));
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/weft.js'), 'cni-node', `--host-root=${dir}`, `--plugin-config=${dir}/plugin.json`], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.ok(!fs.existsSync(path.join(dir, 'opt')), 'nothing installed');
    return r.stderr;
  };
  assert.match(refused({ type: 'istio-cni' }), /plugin\.json: type must be "weft-cni", got "istio-cni"/);
  // What weft-cni itself would refuse on every ADD is refused before anything is chained.
  assert.match(refused({ ...DEFAULT_CNI_PLUGIN_CONF, logLevel: 'debug' }), /plugin\.json: WEFT_E_CNI_UNSUPPORTED_FIELD: .*logLevel/);
  assert.match(refused({ ...DEFAULT_CNI_PLUGIN_CONF, capture: { inboundPort: 'abc' } }), /plugin\.json: WEFT_E_CNI_CONFIG: .*capture\.inboundPort/);
});

test("weft-cni's own parser accepts the default entry with the capture settings it names", () => {
  const settings = podSettings(parseConfig({ cniVersion: '1.0.0', name: 'cluster', ...DEFAULT_CNI_PLUGIN_CONF }), {});
  assert.equal(settings.outboundPort, 15001);
  assert.equal(settings.inboundPort, 15006);
  assert.equal(settings.proxyUid, 1337);
});
