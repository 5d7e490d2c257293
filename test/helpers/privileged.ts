// Privileged suites (network namespaces, iptables, cgroups, eBPF): outside CI they skip with a printed
// reason when the machine cannot run them; with CI=true a missing capability is a failed test, never a
// silent skip.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, test } from 'node:test';

import { CGROUP2_ROOT } from '../../bench/lib/cgroups.js';

export type Need = 'root' | 'netns' | 'iptables' | 'ip6tables' | 'iptables-legacy' | 'cni' | 'clang' | 'bpftool' | 'cgroup2' | 'tcpdump' | 'conntrack';

export { CGROUP2_ROOT } from '../../bench/lib/cgroups.js';
export const CNI_BIN_DIR = '/usr/lib/cni';

const has = (cmd: string, args: string[] = ['--version']): boolean => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
};

const executable = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const checks: Record<Need, () => string | undefined> = {
  root: () => (process.getuid?.() === 0 ? undefined : 'needs root'),
  netns: () => (has('ip', ['netns', 'list']) ? undefined : 'needs iproute2 (`ip netns`)'),
  iptables: () => (has('iptables-nft', ['--version']) ? undefined : 'needs iptables-nft (Debian package iptables)'),
  ip6tables: () => (has('ip6tables-nft', ['--version']) ? undefined : 'needs ip6tables-nft (Debian package iptables)'),
  'iptables-legacy': () => (has('iptables-legacy', ['--version']) ? undefined : 'needs iptables-legacy (Debian package iptables)'),
  cni: () => (['bridge', 'host-local', 'loopback'].every((p) => executable(`${CNI_BIN_DIR}/${p}`)) ? undefined : `needs the CNI plugins bridge, host-local and loopback in ${CNI_BIN_DIR} (Debian package containernetworking-plugins)`),
  clang: () => (has('clang') ? undefined : 'needs clang'),
  bpftool: () => (has('bpftool', ['version']) ? undefined : 'needs bpftool'),
  cgroup2: () => (fs.existsSync(`${CGROUP2_ROOT}/cgroup.procs`) && fs.existsSync(`${CGROUP2_ROOT}/cgroup.controllers`) ? undefined : `needs cgroup v2 mounted at ${CGROUP2_ROOT}`),
  tcpdump: () => (has('tcpdump') ? undefined : 'needs tcpdump'),
  conntrack: () => (has('conntrack', ['--version']) ? undefined : 'needs conntrack'),
};

/** Why this machine cannot run a suite with these needs, or undefined when it can. */
export function missing(needs: readonly Need[]): string | undefined {
  const reasons = [...new Set(['root', ...needs] as Need[])].map((n) => checks[n]()).filter((r): r is string => r !== undefined);
  return reasons.length ? reasons.join('; ') : undefined;
}

/** `describe` for a privileged suite: skipped with the reason outside CI, failed with it under CI=true. */
export function privilegedSuite(name: string, needs: readonly Need[], body: () => void): void {
  const reason = missing(needs);
  if (reason === undefined) return void describe(name, body);
  if (process.env.CI === 'true') {
    return void test(name, () => {
      throw new Error(`privileged suite cannot run under CI=true: ${reason}`);
    });
  }
  console.log(`# skipping "${name}": ${reason}`);
  describe(name, { skip: reason }, body);
}
