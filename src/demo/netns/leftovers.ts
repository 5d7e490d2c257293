// Per-run names for everything a netns topology makes, and the sweep that removes what an earlier run
// left when it crashed. Every name is <prefix><pid>-<rand>[-<pod>]: a run whose PID is gone is dead, a
// live PID is a concurrent run and is left alone.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where cgroup v2 is mounted on this machine kind (the root cgroup itself is never written to but to move a process out). */
export const CGROUP2_ROOT = '/sys/fs/cgroup/unified';
export const weftBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../bin/weft.js');

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const deadRun = (name: string, prefix: string): boolean => {
  if (!name.startsWith(prefix)) return false;
  const pid = Number(name.slice(prefix.length).split('-')[0]);
  return Number.isInteger(pid) && pid > 0 && !alive(pid);
};

const quiet = (cmd: string, args: string[]): void => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  } catch {
    /* already gone */
  }
};

export function deleteNamespace(ns: string): void {
  quiet('ip', ['netns', 'del', ns]);
  fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
}

/** Depth first: a cgroup goes only when it holds neither processes nor children; processes still in it are killed by PID. */
export function removeCgroupTree(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(path.join(dir, e.name));
  let pids: number[] = [];
  try {
    pids = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    /* gone */
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (let i = 0; i < 50; i++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch {
      execFileSync('sleep', ['0.05']);
    }
  }
}

/** Undoes a run directory: eBPF installs recorded in its state dir, its bpffs mount, the directory. */
export function removeRunDir(dir: string): void {
  const stateDir = path.join(dir, 'ebpf-state');
  if (fs.existsSync(stateDir))
    for (const f of fs.readdirSync(stateDir).filter((n) => n.endsWith('.json')))
      quiet(process.execPath, [weftBin, 'ebpf', 'uninstall', '--name', f.slice(0, -5), '--state-dir', stateDir]);
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '');
  for (const m of mounts.filter((p) => p === dir || p.startsWith(`${dir}/`)).reverse()) quiet('umount', [m]);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Removes namespaces, cgroups and run directories of dead runs with this prefix. */
export function removeLeftovers(prefix: string): void {
  for (const n of fs.readdirSync(os.tmpdir()).filter((e) => deadRun(e, prefix))) removeRunDir(path.join(os.tmpdir(), n));
  let names: string[] = [];
  try {
    names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '');
  } catch {
    /* no iproute2: nothing of ours can exist */
  }
  for (const n of names.filter((e) => deadRun(e, prefix))) deleteNamespace(n);
  if (fs.existsSync(CGROUP2_ROOT)) for (const n of fs.readdirSync(CGROUP2_ROOT).filter((e) => deadRun(e, prefix))) removeCgroupTree(path.join(CGROUP2_ROOT, n));
}
