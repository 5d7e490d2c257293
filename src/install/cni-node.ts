// The CNI node agent (`weft cni-node`, the DaemonSet of `weft install --cni`; istio-cni's
// install-cni): puts the weft-cni plugin on the host and chains its entry into the node's CNI config,
// keeps it there while the cluster's network plugin may rewrite that file, and on SIGTERM takes the
// entry out again (as install-cni cleans up), so pods started without the agent are not captured by
// a plugin nobody maintains. The plugin itself stays: the runtime runs DEL for pods set up earlier
// with the config it cached at ADD, and a missing plugin would leave their teardown failing.
// The plugin is this package's Node program, so the host gets a Node binary and the package beside a
// launcher in the CNI bin dir: the runtime runs it on the host, outside any container.
import fs from 'node:fs';
import path from 'node:path';
import { chainPlugin, primaryConfigFile, unchainPlugin } from './cni-conflist.js';
import { CNI_PLUGIN_TYPE, type CniPluginConf } from './cni.js';

export interface CniNodePaths {
  /** Where the host's root is mounted in this container ("" when run on the host itself). */
  hostRoot: string;
  /** Host paths: the CNI bin and config dirs, and where the plugin's runtime goes. */
  binDir: string;
  netDir: string;
  libDir: string;
  /** This package (holding bin/weft-cni.js) and the Node binary to copy. */
  packageRoot: string;
  nodeBinary: string;
}

/** What the plugin needs of the package at run time. */
const PACKAGE_PARTS = ['package.json', 'bin', 'dist/src', 'node_modules'];
export const PLUGIN_ENTRY = 'bin/weft-cni.js';

const onHost = (p: CniNodePaths, hostPath: string): string => path.join(p.hostRoot || '/', hostPath);

/** Copy the runtime and write the launcher; both replace what was there in one rename each. */
export function installPlugin(p: CniNodePaths): void {
  if (!fs.existsSync(path.join(p.packageRoot, PLUGIN_ENTRY))) throw new Error(`${path.join(p.packageRoot, PLUGIN_ENTRY)}: missing; this package has no weft-cni plugin to install`);
  const lib = onHost(p, p.libDir);
  const staging = `${lib}.new-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.join(staging, 'package'), { recursive: true });
  fs.copyFileSync(p.nodeBinary, path.join(staging, 'node'));
  fs.chmodSync(path.join(staging, 'node'), 0o755);
  for (const part of PACKAGE_PARTS) {
    const from = path.join(p.packageRoot, part);
    if (part === 'node_modules') for (const dep of runtimeModules(p.packageRoot)) fs.cpSync(path.join(p.packageRoot, dep), path.join(staging, 'package', dep), { recursive: true, dereference: true });
    else if (fs.existsSync(from)) fs.cpSync(from, path.join(staging, 'package', part), { recursive: true, dereference: true });
  }
  const old = `${lib}.old-${process.pid}`;
  if (fs.existsSync(lib)) fs.renameSync(lib, old);
  fs.renameSync(staging, lib);
  fs.rmSync(old, { recursive: true, force: true });
  const launcher = path.join(onHost(p, p.binDir), CNI_PLUGIN_TYPE);
  fs.mkdirSync(path.dirname(launcher), { recursive: true });
  writeAtomic(launcher, `#!/bin/sh\n# Weft's CNI plugin, installed by weft cni-node.\nexec ${path.join(p.libDir, 'node')} ${path.join(p.libDir, 'package', PLUGIN_ENTRY)} "$@"\n`, 0o755);
}

/** The package's installed modules minus those its lockfile marks dev-only (a checkout has its test
 * tools there; an image built with `npm ci --omit=dev` has none): every top-level module dir. */
function runtimeModules(root: string): string[] {
  const dir = path.join(root, 'node_modules');
  if (!fs.existsSync(dir)) return [];
  let lock: { packages?: Record<string, { dev?: boolean }> } = {};
  try {
    lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as typeof lock;
  } catch {
    // No lockfile: copy everything installed.
  }
  const devOnly = new Set(Object.entries(lock.packages ?? {}).filter(([, v]) => v.dev === true).map(([k]) => k));
  const tops = fs.readdirSync(dir).flatMap((n) => (n.startsWith('@') ? fs.readdirSync(path.join(dir, n)).map((m) => `${n}/${m}`) : n.startsWith('.') ? [] : [n]));
  return tops.map((n) => `node_modules/${n}`).filter((k) => !devOnly.has(k));
}

/** Chain Weft's entry into the primary config file; returns that file, or undefined if the net dir
 * has none yet (the cluster's network plugin has not written it: try again later). */
export function chainConfig(p: CniNodePaths, plugin: CniPluginConf): string | undefined {
  const dir = onHost(p, p.netDir);
  const primary = primaryConfigFile(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
  if (!primary) return undefined;
  const file = path.join(dir, primary);
  const text = fs.readFileSync(file, 'utf8');
  const next = `${JSON.stringify(chainPlugin(text, file, plugin), null, 2)}\n`;
  const target = file.replace(/\.(conf|json)$/, '.conflist');
  if (target === file && next === text) return file;
  writeAtomic(target, next, 0o644);
  if (target !== file) fs.rmSync(file);
  return target;
}

/** Weft's entry out of every config file; the launcher and runtime stay for earlier pods' DEL. */
export function unchainConfig(p: CniNodePaths): void {
  const dir = onHost(p, p.netDir);
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const file = path.join(dir, name);
    if (!/\.conflist$/.test(name) || !fs.statSync(file).isFile()) continue;
    const rest = unchainPlugin(fs.readFileSync(file, 'utf8'), file);
    if (rest) writeAtomic(file, `${JSON.stringify(rest, null, 2)}\n`, 0o644);
  }
}

function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.weft-tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}
