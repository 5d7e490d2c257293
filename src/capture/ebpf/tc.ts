// Inbound capture's attachment: the two tc programs on the pod's interface (clsact qdisc, ingress and
// egress, direct-action), put there with iproute2's `tc` from their bpffs pins — inside the pod's
// network namespace through `nsenter --net` (not `ip netns exec`, whose fresh /sys would hide a
// bpffs under /sys/fs/bpf). Filters go at one priority of their own, so uninstall removes exactly
// Weft's, and the clsact qdisc only if the install added it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { EbpfError } from './errors.js';

const run = promisify(execFile);

/** The filters' priority on the interface: Weft's own, recognisable as the inbound port. */
export const TC_PREF = 15006;
export type TcDirection = 'ingress' | 'egress';

interface TcFilter {
  pref: number;
  kind: string;
  options?: { prog?: { id: number; name: string } };
}

export class Tc {
  /** netns: a network namespace file (/run/netns/NAME, /proc/PID/ns/net), or this process's own. */
  constructor(readonly netns: string | undefined) {}

  private async run(args: string[]): Promise<string> {
    const [cmd, full] = this.netns ? ['nsenter', [`--net=${this.netns}`, 'tc', ...args]] : ['tc', args];
    try {
      return (await run(cmd, full, { maxBuffer: 16 << 20 })).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string; code?: unknown };
      if (e.code === 'ENOENT') throw new EbpfError('WEFT_E_EBPF_TOOL_MISSING', `not found: ${cmd === 'tc' ? 'tc (Debian package iproute2)' : 'nsenter (Debian package util-linux)'}, needed for --inbound-interface`);
      throw new EbpfError('WEFT_E_EBPF_LOAD', `tc ${args.join(' ')}${this.netns ? ` (in ${this.netns})` : ''}: ${(e.stderr || e.message).trim()}`);
    }
  }

  async hasClsact(dev: string): Promise<boolean> {
    return (JSON.parse((await this.run(['-j', 'qdisc', 'show', 'dev', dev])) || '[]') as { kind: string }[]).some((q) => q.kind === 'clsact');
  }

  async addClsact(dev: string): Promise<void> {
    await this.run(['qdisc', 'add', 'dev', dev, 'clsact']);
  }

  async delClsact(dev: string): Promise<void> {
    await this.run(['qdisc', 'del', 'dev', dev, 'clsact']);
  }

  async attach(dev: string, direction: TcDirection, pin: string): Promise<void> {
    await this.run(['filter', 'add', 'dev', dev, direction, 'pref', String(TC_PREF), 'handle', '1', 'bpf', 'direct-action', 'object-pinned', pin]);
  }

  async detach(dev: string, direction: TcDirection): Promise<void> {
    await this.run(['filter', 'del', 'dev', dev, direction, 'pref', String(TC_PREF)]);
  }

  /** The program at Weft's priority on that hook, or undefined. */
  async attached(dev: string, direction: TcDirection): Promise<{ id: number; name: string } | undefined> {
    let filters: TcFilter[];
    try {
      filters = JSON.parse((await this.run(['-j', 'filter', 'show', 'dev', dev, direction])) || '[]') as TcFilter[];
    } catch {
      return undefined; // no clsact qdisc, no such device, or the namespace is gone
    }
    return filters.find((f) => f.pref === TC_PREF && f.kind === 'bpf' && f.options?.prog)?.options?.prog;
  }
}
