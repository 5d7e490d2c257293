// Pods as network namespaces on a bridge made through the CNI chain: Debian's bridge + host-local +
// loopback (and weft-cni when capture is `cni`), driven as a container runtime drives a conflist. The
// bridge, its gateway address and the veth host ends live in a hub namespace this run made, never in
// the root namespace; each pod has its own cgroup v2 directory below a per-run one (never the root
// cgroup). Capture is per pod by `weft iptables`, by weft-cni in the chain, or by `weft ebpf install`
// on the pod's cgroup. destroy() undoes everything in reverse, and a run first removes what dead
// earlier runs left (leftovers.ts).
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { terminate } from '../terminate.js';
import { CniChain, type ConfList, type PodRef } from './cni-chain.js';
import { CGROUP2_ROOT, deleteNamespace, removeCgroupTree, removeLeftovers, removeRunDir, weftBin } from './leftovers.js';

export const CAPTURE_MODES = ['iptables', 'cni', 'ebpf'] as const;
export type CaptureMode = (typeof CAPTURE_MODES)[number];
export const PROXY_UID = 1337;

/** Ports a pod's capture leaves alone, whatever the mode (Istio's -o and -d). */
export interface CaptureExclusions {
  outboundPorts?: number[];
  inboundPorts?: number[];
}

export interface PodNetOptions {
  /** Prefix of every name this run makes (namespaces, cgroups, its temp dir); the PID follows it. */
  prefix: string;
  capture: CaptureMode;
  /** The pods' subnet (a /24 inside 198.18.0.0/15); the bridge gets .1. */
  subnet?: string;
  log?: (line: string) => void;
}

export interface Pod {
  name: string;
  ns: string;
  /** /run/netns/<ns> */
  netnsPath: string;
  ip: string;
  cgroup: string;
  ref: PodRef;
  /** The conflist this pod was added with, and its ADD result: what DEL gets. */
  list: ConfList;
  result: Record<string, unknown>;
}

const SPAWN_IN_CGROUP = 'echo $$ > "$0/cgroup.procs" && exec "$@"';

export class PodNet {
  readonly id: string;
  readonly hub: string;
  readonly gateway: string;
  /** This run's temp dir: CNI leases, eBPF state and bpffs, anything the caller puts there. */
  readonly dir: string;
  readonly cgroupRoot: string;
  private readonly pods: Pod[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly ebpfInstalls: string[] = [];
  private readonly cni: CniChain;
  private readonly list: ConfList;
  private readonly log: (line: string) => void;
  private destroyed = false;

  private constructor(readonly opts: PodNetOptions) {
    this.id = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    this.hub = `${opts.prefix}${this.id}-hub`;
    this.log = opts.log ?? (() => {});
    const subnet = opts.subnet ?? '198.18.0.0/24';
    this.gateway = subnet.replace(/\.0\/24$/, '.1');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.prefix}${this.id}-`));
    this.cgroupRoot = path.join(CGROUP2_ROOT, `${opts.prefix}${this.id}`);
    this.cni = new CniChain(this.hub, { 'weft-cni': path.join(path.dirname(weftBin), 'weft-cni.js') });
    const bridge = {
      type: 'bridge', bridge: 'weft0', isGateway: true, ipMasq: false,
      ipam: { type: 'host-local', ranges: [[{ subnet, gateway: this.gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(this.dir, 'leases') },
    };
    this.list = { cniVersion: '1.0.0', name: `${opts.prefix}${this.id}`, plugins: [bridge] };
  }

  /** The hub namespace (lo up) after removing dead runs' leftovers; the bridge appears with the first pod. */
  static async create(opts: PodNetOptions): Promise<PodNet> {
    removeLeftovers(opts.prefix);
    const net = new PodNet(opts);
    live.add(net);
    try {
      await run('ip', ['netns', 'add', net.hub]);
      await net.exec(net.hub, 'ip', ['link', 'set', 'lo', 'up']);
      fs.mkdirSync(net.cgroupRoot);
      if (opts.capture === 'ebpf') {
        fs.mkdirSync(path.join(net.dir, 'bpffs'));
        await run('mount', ['-t', 'bpf', 'bpf', path.join(net.dir, 'bpffs')]);
      }
    } catch (err) {
      await net.destroy();
      throw err;
    }
    return net;
  }

  /** A pod: namespace, loopback and bridge through the CNI chain, its cgroup, and its capture (iptables/ebpf after `capture()`). */
  async addPod(name: string, exclude: CaptureExclusions = {}): Promise<Pod> {
    const ns = `${this.opts.prefix}${this.id}-${name}`;
    await run('ip', ['netns', 'add', ns]);
    const ref: PodRef = { containerId: ns, netns: `/run/netns/${ns}`, ifname: 'eth0', args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}` };
    const cgroup = path.join(this.cgroupRoot, name);
    fs.mkdirSync(cgroup);
    const list = this.listFor(exclude);
    const pod: Pod = { name, ns, netnsPath: ref.netns, ip: '', cgroup, ref, list, result: {} };
    this.pods.push(pod);
    await this.cni.loopback(ref, 'ADD');
    const results = await this.cni.add(list, ref);
    pod.result = results.at(-1)!;
    const ip = /"address":"(\d+\.\d+\.\d+\.\d+)\/\d+"/.exec(JSON.stringify(pod.result))?.[1];
    if (!ip) throw new Error(`CNI ADD for pod ${name}: no IPv4 address in the result ${JSON.stringify(pod.result)}`);
    pod.ip = ip;
    if (this.opts.capture === 'iptables') await this.weft(['iptables', '--netns', ref.netns, '--proxy-uid', `${PROXY_UID}`, '--proxy-gid', `${PROXY_UID}`, ...this.flags(exclude)]);
    if (this.opts.capture === 'ebpf') {
      const installName = `${this.id}-${name}`;
      this.ebpfInstalls.push(installName);
      await this.weft([
        'ebpf', 'install', '--name', installName, '--workload-cgroup', cgroup, '--proxy-uid', `${PROXY_UID}`, '--bpffs', path.join(this.dir, 'bpffs'),
        '--state-dir', this.stateDir, '--inbound-interface', 'eth0', '--pod-netns', ref.netns, ...this.flags(exclude),
      ]);
    }
    this.log(`pod ${name}: ${ns} at ${ip}, capture by ${this.opts.capture}`);
    return pod;
  }

  private get stateDir(): string {
    return path.join(this.dir, 'ebpf-state');
  }

  private flags(x: CaptureExclusions): string[] {
    return [...(x.outboundPorts?.length ? ['--exclude-outbound-ports', x.outboundPorts.join(',')] : []), ...(x.inboundPorts?.length ? ['--exclude-inbound-ports', x.inboundPorts.join(',')] : [])];
  }

  /** The conflist for a pod: bridge, then weft-cni with the pod's exclusions when capture is `cni`. */
  private listFor(x: CaptureExclusions): ConfList {
    if (this.opts.capture !== 'cni') return this.list;
    const capture = { proxyUid: PROXY_UID, proxyGid: PROXY_UID, excludeOutboundPorts: (x.outboundPorts ?? []).join(','), excludeInboundPorts: (x.inboundPorts ?? []).join(',') };
    return { ...this.list, plugins: [...this.list.plugins, { type: 'weft-cni', capture, excludeNamespaces: [] }] };
  }

  private async weft(args: string[]): Promise<string> {
    return run(process.execPath, [weftBin, ...args]);
  }

  /** Runs a command in a namespace to completion; rejects with its stderr. */
  exec(ns: string, cmd: string, args: string[]): Promise<string> {
    return run('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  /** The pod's hosts file, which `ip netns exec` mounts over /etc/hosts (rewritten in place, so running processes see changes). */
  writeHosts(pod: Pod, text: string): void {
    fs.mkdirSync(`/etc/netns/${pod.ns}`, { recursive: true });
    fs.writeFileSync(`/etc/netns/${pod.ns}/hosts`, `127.0.0.1 localhost\n${text}`);
  }

  /** Runs a command in a pod's namespace and cgroup (as its app would) to completion; rejects with its stderr. */
  runInPod(pod: Pod, cmd: string, args: string[]): Promise<string> {
    return run('sh', ['-c', SPAWN_IN_CGROUP, pod.cgroup, 'ip', 'netns', 'exec', pod.ns, cmd, ...args]);
  }

  /**
   * Starts a long-running process in a pod's namespace and cgroup, or in a namespace by name ('hub' for
   * the hub's): a shell moves itself into the cgroup, then execs `ip netns exec`, which execs the
   * command — one PID, killed by it on destroy.
   */
  spawnIn(where: Pod | string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child =
      typeof where === 'string'
        ? spawn('ip', ['netns', 'exec', where === 'hub' ? this.hub : where, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts })
        : spawn('sh', ['-c', SPAWN_IN_CGROUP, where.cgroup, 'ip', 'netns', 'exec', where.ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Stops processes by PID (TERM, then KILL), undoes capture and the CNI chain in reverse, deletes namespaces, cgroups and the run dir. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.children].map(terminate));
    for (const name of this.ebpfInstalls.reverse()) await this.weft(['ebpf', 'uninstall', '--name', name, '--state-dir', this.stateDir]).catch((e: Error) => this.log(`ebpf uninstall ${name}: ${e.message}`));
    for (const pod of [...this.pods].reverse()) {
      await this.cni.del(pod.list, pod.ref, pod.result).catch((e: Error) => this.log(`CNI DEL ${pod.name}: ${e.message}`));
      await this.cni.loopback(pod.ref, 'DEL').catch(() => {});
      deleteNamespace(pod.ns);
    }
    deleteNamespace(this.hub);
    removeCgroupTree(this.cgroupRoot);
    removeRunDir(this.dir);
    this.cni.remove();
    live.delete(this);
  }

  /** For a process exit handler: no awaiting, best effort, the same order. */
  destroySync(): void {
    for (const c of this.children) c.kill('SIGKILL');
    removeRunDir(this.dir);
    for (const pod of this.pods) deleteNamespace(pod.ns);
    deleteNamespace(this.hub);
    removeCgroupTree(this.cgroupRoot);
    this.cni.remove();
    live.delete(this);
  }
}

const live = new Set<PodNet>();
process.on('exit', () => {
  for (const n of live) n.destroySync();
});

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout))),
  );
}

