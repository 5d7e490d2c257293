// The capture rows' topology: one network namespace bridge (bench/lib/netns.ts, 198.18.0.0/24, made by
// the bench), a client pod and a server pod per row, the server app (the same nginx as every row) in
// the server pod, and for the Weft rows one `weft control-plane` in the hub namespace (198.18.0.1)
// feeding every sidecar. Capture is the real thing, inside the pods only: `weft iptables` in a pod's
// namespace, or `weft ebpf install` on cgroups this run makes below its own cgroup directory (never
// the root cgroup). Every process is started through bench/lib/procs.ts (killed by PID), and
// destroy() (also run on exit and Ctrl-C) uninstalls eBPF, removes the cgroups and the namespaces.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { mountPoints } from '../../src/capture/ebpf/preflight.js';
import { TestNet, NETNS_PREFIX, alive, type TestHost } from '../lib/netns.js';
import { TestCgroups } from '../lib/cgroups.js';
import { start, waitFor, type Started } from '../lib/procs.js';
import { backendConf } from './peers.js';

const exec = promisify(execFile);

export const APP_PORT = 8080;
export const PROXY_UID = 1337;
const CP = '198.18.0.1';
const XDS = `${CP}:15010`;
const MONITOR = `${CP}:15014`;
const ADMIN_PORT = 15000;

/** Where a program runs: a pod's namespace, and for eBPF capture the pod cgroup it belongs to. */
export interface InPod {
  ns: string;
  cgroup?: string;
}

/** The command prefix that runs a program inside a pod: `[...podWrap(p), program, ...args]`. The
 * process joins the cgroup before it execs (no window where it runs uncaptured); both steps exec,
 * so the PID is the program's own (its CPU and RSS are read by that PID). */
export function podWrap(p: InPod): string[] {
  return p.cgroup ? ['sh', '-c', `echo $$ > ${p.cgroup}/cgroup.procs && exec ip netns exec ${p.ns} "$0" "$@"`] : ['ip', 'netns', 'exec', p.ns];
}

export type CaptureMode = 'none' | 'explicit' | 'iptables' | 'ebpf';

export interface Pod extends InPod {
  host: TestHost;
  /** eBPF: the pod's proxy cgroup (the sidecar runs there; `cgroup` is the app's). */
  proxyCgroup?: string;
}

const EBPF_DIR_PREFIX = `${NETNS_PREFIX}ebpf-`;

/** An earlier run killed outright (its PID gone) may leave its eBPF dir with a bpffs mounted in it,
 * whose pins keep its programs loaded: unmount and remove it. (Its cgroups and namespaces are swept
 * by TestCgroups and TestNet.) */
function removeEbpfLeftovers(): void {
  for (const n of fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(EBPF_DIR_PREFIX) && e.includes('-bench-'))) {
    const pid = Number(n.slice(EBPF_DIR_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || alive(pid)) continue;
    const dir = path.join(os.tmpdir(), n);
    for (const m of mountPoints('bpf').filter((p) => p.startsWith(`${dir}/`)).reverse()) {
      try {
        execFileSync('umount', [m], { stdio: 'ignore' });
      } catch {
        /* not mounted any more */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface CaptureNetOptions {
  /** Scratch directory (configs, logs). */
  dir: string;
  weftBin: string;
  nodeArgs: string[];
  /** The nginx binary for backend() (a test that brings its own app leaves it out). */
  nginx?: string;
}

export class CaptureNet {
  private readonly procs: Started[] = [];
  private cp?: Started;
  private cgroups?: TestCgroups;
  private ebpfDir?: string;
  private readonly installs: string[] = [];
  private readonly onExit = (): void => this.uninstallAllSync();

  private constructor(
    readonly net: TestNet,
    private readonly o: CaptureNetOptions,
  ) {
    process.on('exit', this.onExit);
  }

  static async create(o: CaptureNetOptions): Promise<CaptureNet> {
    // Under the run's scratch dir (which the loopback backend's config opened to nginx's workers).
    fs.mkdirSync(o.dir, { recursive: true });
    removeEbpfLeftovers();
    return new CaptureNet(await TestNet.create(), o);
  }

  /** Starts a program inside a pod (or the hub); it is stopped by PID on destroy. */
  startIn(where: InPod, name: string, cmd: string, args: string[]): Started {
    const [bin, ...pre] = [...podWrap(where), cmd];
    const p = start(name, bin, [...pre, ...args], { logFile: path.join(this.o.dir, `${name}.log`) });
    this.procs.push(p);
    return p;
  }

  /** A client pod and a server pod for one row; with `ebpf`, each gets an app and a proxy cgroup. */
  async pods(row: string, mode: CaptureMode): Promise<{ client: Pod; server: Pod }> {
    const pod = async (role: string): Promise<Pod> => {
      const host = await this.net.addHost(`${row}-${role}`);
      if (mode !== 'ebpf') return { host, ns: host.ns };
      this.cgroups ??= TestCgroups.create();
      return { host, ns: host.ns, cgroup: this.cgroups.child(`${row}-${role}/app`), proxyCgroup: this.cgroups.child(`${row}-${role}/proxy`) };
    };
    return { client: await pod('c'), server: await pod('s') };
  }

  /** The server app: the rows' nginx (`return 200`, 1 KiB), on every address of the pod, port 8080. */
  async backend(server: Pod, row: string): Promise<Started> {
    const dir = path.join(this.o.dir, `${row}-app`);
    fs.mkdirSync(dir, { recursive: true });
    const conf = backendConf(dir, { http1: APP_PORT, h2c: APP_PORT + 1, grpc: APP_PORT + 2 }, '0.0.0.0');
    if (!this.o.nginx) throw new Error('CaptureNet.backend: no nginx binary given');
    const app = this.startIn(server, `${row}-app`, this.o.nginx, ['-e', path.join(dir, 'backend.error.log'), '-c', conf]);
    await waitFor(`${row} app on ${server.host.ip}:${APP_PORT}`, async () => (await statusIn({ ns: server.ns }, '127.0.0.1', APP_PORT, '/', 'app')) === 200, 10_000, app);
    return app;
  }

  /** `weft control-plane` in the hub namespace, once for every Weft row (plaintext: no CA flags). */
  async controlPlane(): Promise<void> {
    if (this.cp) return;
    const configDir = path.join(this.o.dir, 'cp-config');
    fs.mkdirSync(configDir, { recursive: true });
    this.cp = this.startIn({ ns: this.net.hub }, 'capture-control-plane', process.execPath, [
      ...this.o.nodeArgs, this.o.weftBin, 'control-plane', '--insecure-registration', '--config-dir', configDir,
      '--xds-address', XDS, '--monitor-address', MONITOR, '--service-vip-range', '198.19.0.0/16',
    ]);
    await waitFor('capture control plane /ready', async () => (await statusIn({ ns: this.net.hub }, CP, 15014, '/ready', CP)) === 200, 20_000, this.cp);
  }

  /** The VIP the control plane allocated to `service` (what a pod's resolver would answer). */
  async vip(service: string): Promise<string> {
    const re = new RegExp(`^(\\S+) ${service.replace(/\./g, '\\.')}\\.default\\.svc\\.cluster\\.local `, 'm');
    let found = '';
    await waitFor(`a VIP for ${service}`, async () => {
      const hosts = await fetchIn({ ns: this.net.hub }, `http://${MONITOR}/debug/vips?format=hosts&namespace=default`);
      found = re.exec(hosts)?.[1] ?? '';
      return found !== '';
    }, 20_000, this.cp);
    return found;
  }

  /** Capture in a pod: `weft iptables` in its namespace, or `weft ebpf install` on its cgroups (with
   * inbound by tc on its eth0). Nothing for `none` and `explicit`. */
  async capture(pod: Pod, mode: CaptureMode): Promise<void> {
    if (mode === 'iptables') {
      await exec('ip', ['netns', 'exec', pod.ns, process.execPath, this.o.weftBin, 'iptables', '--proxy-uid', String(PROXY_UID), '--proxy-gid', String(PROXY_UID)]);
    } else if (mode === 'ebpf') {
      this.ebpfDir ??= fs.mkdtempSync(path.join(os.tmpdir(), `${EBPF_DIR_PREFIX}${process.pid}-bench-`));
      const name = `bench-${pod.host.name}-${process.pid}`;
      const d = this.ebpfDir;
      await exec(process.execPath, [
        this.o.weftBin, 'ebpf', 'install', '--name', name, '--workload-cgroup', pod.cgroup!, '--proxy-cgroup', pod.proxyCgroup!,
        '--bpffs', path.join(d, `bpffs-${pod.host.name}`), '--mount-bpffs', '--cache-dir', path.join(d, 'cache'), '--state-dir', path.join(d, 'state'),
        '--inbound-interface', 'eth0', '--pod-netns', `/run/netns/${pod.ns}`,
      ]);
      this.installs.push(name);
    }
  }

  /** A `weft proxy` sidecar in the pod: explicit (the app sends to 127.0.0.1:15001 with a Host), or
   * transparent (uid 1337, Istio's captured layout from the control plane). */
  async sidecar(pod: Pod, o: { name: string; service: string; appPort: number; transparent: boolean }): Promise<Started> {
    await this.controlPlane();
    const where: InPod = { ns: pod.ns, ...(pod.proxyCgroup ? { cgroup: pod.proxyCgroup } : {}) };
    const p = this.startIn(where, o.name, process.execPath, [
      ...this.o.nodeArgs, this.o.weftBin, 'proxy', '--xds-address', XDS, '--xds-protocol', 'sotw', '--id', o.name, '--service', o.service,
      '--namespace', 'default', '--labels', 'version=v1', '--address', pod.host.ip, '--app-port', String(o.appPort), '--admin-port', String(ADMIN_PORT),
      '--drain-period-ms', '0', '--telemetry-port', '0',
      ...(o.transparent ? ['--mode', 'transparent', '--proxy-uid', String(PROXY_UID)] : []),
    ]);
    await waitFor(`${o.name} /ready`, async () => (await statusIn({ ns: pod.ns }, '127.0.0.1', ADMIN_PORT, '/ready', 'admin')) === 200, 20_000, p);
    return p;
  }

  private uninstallAllSync(): void {
    for (const name of this.installs.splice(0).reverse()) {
      try {
        execFileSync(process.execPath, [this.o.weftBin, 'ebpf', 'uninstall', '--name', name, '--state-dir', path.join(this.ebpfDir!, 'state')], { stdio: 'ignore' });
      } catch {
        /* reported by status; the cgroups' removal below detaches the programs anyway */
      }
    }
    this.cgroups?.destroy();
    this.net.destroySync();
    if (this.ebpfDir) fs.rmSync(this.ebpfDir, { recursive: true, force: true });
  }

  async destroy(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop()));
    this.uninstallAllSync();
    process.off('exit', this.onExit);
  }
}

/** A one-shot GET from inside a pod (joining its cgroup, so eBPF captures it like the app): status
 * and body, status 0 on a connection error. */
export async function getIn(where: InPod, address: string, port: number, urlPath: string, host: string): Promise<{ status: number; body: string }> {
  const script = `const r = require('node:http').request({ host: ${JSON.stringify(address)}, port: ${port}, path: ${JSON.stringify(urlPath)}, headers: { host: ${JSON.stringify(host)} }, agent: false },
    (s) => { let b = ''; s.on('data', (d) => (b += d)); s.on('end', () => console.log(JSON.stringify({ status: s.statusCode, body: b }))); });
  r.on('error', () => console.log(JSON.stringify({ status: 0, body: '' }))); r.setTimeout(2000, () => r.destroy()); r.end();`;
  const [bin, ...pre] = podWrap(where);
  const { stdout } = await exec(bin, [...pre, process.execPath, '-e', script], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as { status: number; body: string };
}

export async function statusIn(where: InPod, address: string, port: number, urlPath: string, host: string): Promise<number> {
  return (await getIn(where, address, port, urlPath, host)).status;
}

async function fetchIn(where: InPod, url: string): Promise<string> {
  const [bin, ...pre] = podWrap(where);
  const { stdout } = await exec(bin, [...pre, process.execPath, '-e', `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t))`]);
  return stdout;
}
