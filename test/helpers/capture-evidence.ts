// Evidence of how traffic went in a network namespace: the kernel's own connection tracking (which
// connections were NATed, and to which port) and a packet capture on an interface (who sent SYNs to
// whom). Shows "no direct app-to-app connection" without trusting the proxies' own reports.
import type { ChildProcess } from 'node:child_process';

import type { TestNet } from './netns.js';

/** What starts a process in a namespace by name: a TestNet, or src/demo/netns's PodNet. */
export interface NamespaceSpawner {
  spawnIn(ns: string, cmd: string, args: string[]): ChildProcess;
}

export interface Endpoint {
  ip: string;
  port: number;
}

export interface Flow {
  /** What the connecting side asked for. */
  orig: { src: Endpoint; dst: Endpoint };
  /** Who really answered: differs from orig.dst when NAT (REDIRECT) moved the connection. */
  reply: { src: Endpoint; dst: Endpoint };
  redirected: boolean;
}

const endpoints = (line: string): Endpoint[][] => {
  const pick = (key: string) => [...line.matchAll(new RegExp(`\\b${key}=(\\S+)`, 'g'))].map((m) => m[1]!);
  const [src, dst, sport, dport] = [pick('src'), pick('dst'), pick('sport'), pick('dport')];
  return [0, 1].map((i) => [
    { ip: src[i]!, port: Number(sport[i]) },
    { ip: dst[i]!, port: Number(dport[i]) },
  ]);
};

/** The namespace's TCP conntrack table. */
export async function conntrackFlows(net: TestNet, ns: string): Promise<Flow[]> {
  const out = await net.inNs(ns, 'conntrack', ['-L', '-p', 'tcp']);
  return out
    .split('\n')
    .filter((l) => l.startsWith('tcp'))
    .map((l) => {
      const [[osrc, odst], [rsrc, rdst]] = endpoints(l) as [[Endpoint, Endpoint], [Endpoint, Endpoint]];
      return { orig: { src: osrc, dst: odst }, reply: { src: rsrc, dst: rdst }, redirected: rsrc.ip !== odst.ip || rsrc.port !== odst.port };
    });
}

/** Conntrack flows asked for dst:port (from src, when given). */
export function flowsTo(flows: Flow[], dst: Endpoint, src?: string): Flow[] {
  return flows.filter((f) => f.orig.dst.ip === dst.ip && f.orig.dst.port === dst.port && (src === undefined || f.orig.src.ip === src));
}

export interface Packet {
  src: Endpoint;
  dst: Endpoint;
}

/** tcpdump on one interface of a namespace, from start() until stop(). */
export class PacketCapture {
  private out = '';
  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
  }

  /** Starts tcpdump and resolves once it listens (its "listening on" line); `payloads` keeps each packet's bytes as ASCII (-A) for text(). */
  static async start(net: NamespaceSpawner, ns: string, iface: string, filter = 'tcp', opts: { payloads?: boolean } = {}): Promise<PacketCapture> {
    const child = net.spawnIn(ns, 'tcpdump', ['-i', iface, '-nn', '-l', opts.payloads ? '-A' : '-q', '--immediate-mode', ...filter.split(' ')]);
    const capture = new PacketCapture(child);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (err.includes('listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`tcpdump on ${iface} in ${ns} exited ${code}: ${err}`)));
    });
    return capture;
  }

  /** Stops the capture (SIGINT flushes its output) and returns the packets seen. */
  async stop(): Promise<Packet[]> {
    // 'close', not 'exit': the last lines may still be in the pipe when the process has exited.
    if (this.child.stdout!.readableEnded === false) {
      await new Promise<void>((resolve) => {
        this.child.once('close', () => resolve());
        this.child.kill('SIGINT');
      });
    }
    return this.packets();
  }

  /** Everything tcpdump printed (with `payloads`, the packets' bytes too): read after stop(). */
  text(): string {
    return this.out;
  }

  private packets(): Packet[] {
    const packets: Packet[] = [];
    for (const m of this.out.matchAll(/IP6? (\S+)\.(\d+) > (\S+)\.(\d+):/g))
      packets.push({ src: { ip: m[1]!, port: Number(m[2]) }, dst: { ip: m[3]!, port: Number(m[4]) } });
    return packets;
  }
}

/** Packets between two addresses, either way. */
export const between = (packets: Packet[], a: string, b: string): Packet[] => packets.filter((p) => (p.src.ip === a && p.dst.ip === b) || (p.src.ip === b && p.dst.ip === a));
