// Hosts in network namespaces a test or a benchmark makes itself (shared by test/ and bench/). A TestNet is a hub namespace holding a bridge,
// and hosts, each its own namespace with `eth0` on that bridge and an address in 198.18.0.0/24 (inside
// the 198.18.0.0/15 benchmark range). Nothing is made in the root namespace: deleting the namespaces
// removes every veth and bridge with them. Names carry the test process's PID, so a later run can tell
// an earlier run's leftovers (its PID is gone) from a concurrent run's, and removes the former first.
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

import { alive } from '../../src/demo/netns/leftovers.js';
import { terminate } from '../../src/demo/terminate.js';

const run = promisify(execFile);
export const NETNS_PREFIX = 'wt-';

export interface TestHost {
  name: string;
  /** The namespace's name for `ip netns` (and its path /run/netns/<ns>). */
  ns: string;
  ip: string;
  ip6?: string;
}

export interface TestNetOptions {
  /** Also give each host an IPv6 address in fd18::/64 (unique local). */
  ipv6?: boolean;
}

export { alive };

/** Deletes namespaces (and their /etc/netns hosts files) left by test processes that are gone. */
export function removeLeftovers(): void {
  let names: string[] = [];
  try {
    names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(NETNS_PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.split('-')[1]);
    if (Number.isInteger(pid) && !alive(pid)) deleteNamespace(n);
  }
}

function deleteNamespace(ns: string): void {
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    /* already gone */
  }
  fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}

const tracked = new Set<ChildProcess>();
const nets = new Set<TestNet>();
process.on('exit', () => {
  for (const c of tracked) c.kill('SIGKILL');
  for (const n of nets) n.destroySync();
});

export class TestNet {
  readonly id: string;
  readonly hub: string;
  private readonly hosts: TestHost[] = [];
  private readonly bare: string[] = [];
  private readonly children = new Set<ChildProcess>();

  private constructor(private readonly opts: TestNetOptions) {
    this.id = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    this.hub = `${NETNS_PREFIX}${this.id}-hub`;
  }

  /** A hub namespace with bridge `br0` (198.18.0.1), after removing earlier runs' leftovers. */
  static async create(opts: TestNetOptions = {}): Promise<TestNet> {
    removeLeftovers();
    const net = new TestNet(opts);
    nets.add(net);
    await run('ip', ['netns', 'add', net.hub]);
    await net.inNs(net.hub, 'ip', ['link', 'set', 'lo', 'up']);
    await net.inNs(net.hub, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
    await net.inNs(net.hub, 'ip', ['addr', 'add', '198.18.0.1/24', 'dev', 'br0']);
    if (opts.ipv6) await net.inNs(net.hub, 'ip', ['addr', 'add', 'fd18::1/64', 'dev', 'br0', 'nodad']);
    await net.inNs(net.hub, 'ip', ['link', 'set', 'br0', 'up']);
    return net;
  }

  /** A host namespace with `lo` up and `eth0` on the bridge at 198.18.0.<n+1>. */
  async addHost(name: string): Promise<TestHost> {
    const n = this.hosts.length + 2;
    if (n > 254) throw new Error('a TestNet holds at most 253 hosts');
    const host: TestHost = { name, ns: `${NETNS_PREFIX}${this.id}-${name}`, ip: `198.18.0.${n}`, ...(this.opts.ipv6 ? { ip6: `fd18::${n.toString(16)}` } : {}) };
    await run('ip', ['netns', 'add', host.ns]);
    this.hosts.push(host);
    const hubEnd = `v${n}`;
    await this.inNs(this.hub, 'ip', ['link', 'add', hubEnd, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns]);
    await this.inNs(this.hub, 'ip', ['link', 'set', hubEnd, 'master', 'br0', 'up']);
    await this.inNs(host.ns, 'ip', ['link', 'set', 'lo', 'up']);
    await this.inNs(host.ns, 'ip', ['addr', 'add', `${host.ip}/24`, 'dev', 'eth0']);
    if (host.ip6) await this.inNs(host.ns, 'ip', ['addr', 'add', `${host.ip6}/64`, 'dev', 'eth0', 'nodad']);
    await this.inNs(host.ns, 'ip', ['link', 'set', 'eth0', 'up']);
    await this.inNs(host.ns, 'ip', ['route', 'add', 'default', 'via', '198.18.0.1']);
    return host;
  }

  /** A bare namespace (only `lo`, down) that the test wires itself, e.g. a CNI "pod"; deleted with the net. */
  async addNamespace(name: string): Promise<string> {
    const ns = `${NETNS_PREFIX}${this.id}-${name}`;
    await run('ip', ['netns', 'add', ns]);
    this.bare.push(ns);
    return ns;
  }

  /** Writes the hosts file `ip netns exec` mounts over /etc/hosts inside the host's namespace. */
  writeHosts(host: TestHost, entries: Record<string, string>): void {
    fs.mkdirSync(`/etc/netns/${host.ns}`, { recursive: true });
    const lines = ['127.0.0.1 localhost', ...Object.entries(entries).map(([name, ip]) => `${ip} ${name}`)];
    fs.writeFileSync(`/etc/netns/${host.ns}/hosts`, `${lines.join('\n')}\n`);
  }

  /** Runs a command inside a namespace to completion; rejects with its stderr on failure. */
  async inNs(ns: string, cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile('ip', ['netns', 'exec', ns, cmd, ...args], { env: opts.env ?? process.env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} in ${ns}: ${stderr || err.message}`));
        else resolve(stdout);
      });
      if (opts.input !== undefined) child.stdin!.end(opts.input);
    });
  }

  /** Starts a long-running process inside a host's namespace (`ip netns exec` execs it: same PID). */
  spawnIn(host: TestHost | string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const ns = typeof host === 'string' ? host : host.ns;
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    tracked.add(child);
    child.once('exit', () => {
      this.children.delete(child);
      tracked.delete(child);
    });
    return child;
  }

  /** Kills this net's processes by PID, then deletes every namespace it made. */
  async destroy(): Promise<void> {
    await Promise.all([...this.children].map((c) => terminate(c, 2000)));
    this.destroySync();
  }

  destroySync(): void {
    for (const c of this.children) c.kill('SIGKILL');
    for (const h of this.hosts) deleteNamespace(h.ns);
    for (const ns of this.bare) deleteNamespace(ns);
    this.bare.length = 0;
    deleteNamespace(this.hub);
    this.hosts.length = 0;
    nets.delete(this);
  }
}
