// `weft cni-node`: the CNI node agent (src/install/cni-node.ts) as the DaemonSet runs it: install,
// keep the chain in place (checked every --check-interval-ms), unchain on SIGTERM/SIGINT.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseConfig, podSettings } from '../cni/config.js';
import { CNI_PLUGIN_TYPE, type CniPluginConf } from '../install/cni.js';
import { chainConfig, installPlugin, unchainConfig, type CniNodePaths } from '../install/cni-node.js';

export interface CniNodeFlags {
  hostRoot: string;
  binDir: string;
  netDir: string;
  libDir: string;
  pluginConfig: string;
  packageRoot?: string;
  checkIntervalMs: string;
}

export async function runCniNode(flags: CniNodeFlags): Promise<void> {
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} cni-node: ${msg}\n`);
  const interval = Number(flags.checkIntervalMs);
  if (!Number.isInteger(interval) || interval < 100) fail(`--check-interval-ms: expected an integer ≥ 100, got "${flags.checkIntervalMs}"`);
  const plugin = readPluginConfig(flags.pluginConfig);
  const paths: CniNodePaths = {
    hostRoot: flags.hostRoot,
    binDir: flags.binDir,
    netDir: flags.netDir,
    libDir: flags.libDir,
    packageRoot: flags.packageRoot ?? fileURLToPath(new URL('../../../', import.meta.url)),
    nodeBinary: process.execPath,
  };
  try {
    installPlugin(paths);
  } catch (err) {
    fail(`cannot install the plugin: ${(err as Error).message}`);
  }
  log(`installed ${flags.binDir}/${CNI_PLUGIN_TYPE} (runtime in ${flags.libDir})`);
  let chained: string | undefined;
  const check = () => {
    try {
      const file = chainConfig(paths, plugin);
      if (file !== chained) log(file ? `chained ${CNI_PLUGIN_TYPE} into ${file}` : `no CNI config in ${flags.netDir} yet; waiting for the network plugin`);
      chained = file;
    } catch (err) {
      log(`cannot chain into ${flags.netDir}: ${(err as Error).message}`);
    }
  };
  check();
  const timer = setInterval(check, interval);
  const stop = () => {
    clearInterval(timer);
    try {
      unchainConfig(paths);
      log(`removed the ${CNI_PLUGIN_TYPE} entry from the CNI config (the plugin stays for the DEL of pods it set up)`);
      process.exit(0);
    } catch (err) {
      log(`cleanup failed: ${(err as Error).message}`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function readPluginConfig(file: string): CniPluginConf {
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`--plugin-config: ${file}: ${(err as Error).message}`);
  }
  const type = (v as { type?: unknown } | null)?.type;
  if (type !== CNI_PLUGIN_TYPE) fail(`--plugin-config: ${file}: type must be "${CNI_PLUGIN_TYPE}", got ${JSON.stringify(type)}`);
  // Refuse here, with the plugin's own parser, what the plugin would refuse on every pod's ADD.
  try {
    podSettings(parseConfig({ cniVersion: '1.0.0', name: 'weft-cni-node', ...(v as Record<string, unknown>) }), {});
  } catch (err) {
    fail(`--plugin-config: ${file}: ${(err as Error).message}`);
  }
  return v as CniPluginConf;
}

function fail(msg: string): never {
  process.stderr.write(`weft cni-node: ${msg}\n`);
  process.exit(2);
}
