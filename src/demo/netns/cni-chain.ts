// Runs CNI plugins the way a container runtime does (libcni's shape): CNI_* in the environment, each
// plugin's config on stdin (the list's cniVersion and name, plus prevResult), ADD in list order
// threading prevResult, CHECK in order, DEL in reverse with the final result. The plugins run inside a
// host namespace the caller made (`ip netns exec`), so the bridge and the veth host ends live there,
// never in the root namespace.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where Debian's containernetworking-plugins put bridge, host-local and loopback. */
export const CNI_BIN_DIR = '/usr/lib/cni';

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export interface PodRef {
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS, e.g. K8S_POD_NAMESPACE=default;K8S_POD_NAME=web */
  args?: string;
}

export interface CniRun {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown> | undefined;
}

export class CniFailure extends Error {
  constructor(
    readonly type: string,
    readonly run: CniRun,
  ) {
    super(`CNI plugin ${type} failed (exit ${run.code}): ${run.stdout} ${run.stderr}`);
  }
}

export class CniChain {
  /** A CNI_PATH holding Debian's plugins and the extra ones (by the name a conflist's `type` uses). */
  readonly binDir: string;

  constructor(
    private readonly hostNs: string,
    extraPlugins: Record<string, string>,
    /** The plugin that gets a config without a `type` (VERSION's, undecodable text). */
    private readonly defaultType = 'bridge',
  ) {
    this.binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cni-bin-'));
    for (const p of ['bridge', 'host-local', 'loopback']) fs.symlinkSync(path.join(CNI_BIN_DIR, p), path.join(this.binDir, p));
    for (const [type, file] of Object.entries(extraPlugins)) fs.symlinkSync(file, path.join(this.binDir, type));
  }

  /** One plugin invocation, exactly as the runtime execs it. */
  exec(command: string, pod: Partial<PodRef>, config: Record<string, unknown> | string, env: NodeJS.ProcessEnv = {}): Promise<CniRun> {
    const type = typeof config === 'string' || typeof config.type !== 'string' ? this.defaultType : config.type;
    const cniEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      CNI_COMMAND: command,
      CNI_PATH: this.binDir,
      ...(pod.containerId ? { CNI_CONTAINERID: pod.containerId } : {}),
      ...(pod.netns ? { CNI_NETNS: pod.netns } : {}),
      ...(pod.ifname ? { CNI_IFNAME: pod.ifname } : {}),
      ...(pod.args ? { CNI_ARGS: pod.args } : {}),
      ...env,
    };
    return new Promise((resolve) => {
      const child = execFile('ip', ['netns', 'exec', this.hostNs, path.join(this.binDir, type)], { env: cniEnv }, (err, stdout, stderr) => {
        let json: Record<string, unknown> | undefined;
        try {
          json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr, json });
      });
      child.stdin!.end(typeof config === 'string' ? config : JSON.stringify(config));
    });
  }

  private pluginConfig(list: ConfList, plugin: Record<string, unknown>, prevResult: unknown): Record<string, unknown> {
    return { ...plugin, cniVersion: list.cniVersion, name: list.name, ...(prevResult === undefined ? {} : { prevResult }) };
  }

  /** ADD through the list; returns every plugin's result, the last one being the list's. */
  async add(list: ConfList, pod: PodRef): Promise<Record<string, unknown>[]> {
    const results: Record<string, unknown>[] = [];
    for (const plugin of list.plugins) {
      const r = await this.exec('ADD', pod, this.pluginConfig(list, plugin, results.at(-1)));
      if (r.code !== 0 || !r.json) throw new CniFailure(String(plugin.type), r);
      results.push(r.json);
    }
    return results;
  }

  async check(list: ConfList, pod: PodRef, result: unknown): Promise<void> {
    for (const plugin of list.plugins) {
      const r = await this.exec('CHECK', pod, this.pluginConfig(list, plugin, result));
      if (r.code !== 0) throw new CniFailure(String(plugin.type), r);
    }
  }

  /** DEL in reverse order; every plugin runs even if one fails (the first failure is thrown after). */
  async del(list: ConfList, pod: PodRef, result: unknown): Promise<void> {
    let failure: CniFailure | undefined;
    for (const plugin of [...list.plugins].reverse()) {
      const r = await this.exec('DEL', pod, this.pluginConfig(list, plugin, result));
      if (r.code !== 0) failure ??= new CniFailure(String(plugin.type), r);
    }
    if (failure) throw failure;
  }

  /** The runtime's separate loopback network: without it the pod's lo stays down. */
  async loopback(pod: PodRef, command: 'ADD' | 'DEL'): Promise<void> {
    const r = await this.exec(command, { ...pod, ifname: 'lo' }, { cniVersion: '1.0.0', name: 'cni-loopback', type: 'loopback' });
    if (r.code !== 0) throw new CniFailure('loopback', r);
  }

  remove(): void {
    fs.rmSync(this.binDir, { recursive: true, force: true });
  }
}
