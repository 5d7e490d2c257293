// What must hold before anything is loaded: root, a recent enough kernel, cgroup v2 directories that
// are not a mount's root, a BPF filesystem for pins, and the tools. Each refusal is an EbpfError whose
// message names the flag or path, so nothing is half-installed because of a missing piece.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { EbpfError } from './errors.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;
const BPF_FS_MAGIC = 0xcafe4a11;
/** cgroup sock_release (5.9) is the newest hook used; 5.10 is the LTS that has them all. */
export const MIN_KERNEL: readonly [number, number] = [5, 10];

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new EbpfError('WEFT_E_EBPF_NOT_PRIVILEGED', `weft ebpf runs as root (uid 0), not uid ${process.getuid?.()}`);
}

/** Refuses a kernel release (uname -r) older than MIN_KERNEL. */
export function checkKernel(release: string = os.release()): void {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) throw new EbpfError('WEFT_E_EBPF_KERNEL', `cannot read a version from kernel release ${JSON.stringify(release)}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MIN_KERNEL[0] || (major === MIN_KERNEL[0] && minor < MIN_KERNEL[1]))
    throw new EbpfError('WEFT_E_EBPF_KERNEL', `kernel ${release} is older than ${MIN_KERNEL.join('.')}: use iptables capture (weft iptables)`);
}

const fsType = (p: string): number | undefined => {
  try {
    return Number(fs.statfsSync(p).type);
  } catch {
    return undefined;
  }
};

/** Mount points of a filesystem type, from /proc/self/mountinfo (octal escapes such as \040 undone). */
export function mountPoints(fstype: string, mountinfo: string = fs.readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right || right.split(' ')[0] !== fstype) continue;
    const point = left.split(' ')[4];
    if (point) points.push(point.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return points;
}

/**
 * The real path of a cgroup v2 directory that capture may attach to. The root of a cgroup v2 mount is
 * refused: programs there would capture every process on the machine.
 */
export function checkCgroup(flag: string, dir: string): string {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    throw new EbpfError('WEFT_E_EBPF_NO_CGROUP2', `${flag} ${dir}: no such directory (create the cgroup first: mkdir under a cgroup v2 mount)`);
  }
  if (!fs.statSync(real).isDirectory() || fsType(real) !== CGROUP2_SUPER_MAGIC)
    throw new EbpfError('WEFT_E_EBPF_NO_CGROUP2', `${flag} ${dir}: not a directory of a cgroup v2 mount${mountPoints('cgroup2').length ? ` (cgroup v2 is mounted at ${mountPoints('cgroup2').join(', ')})` : ' (no cgroup v2 is mounted)'}`);
  // The root cgroup has no cgroup.type; a cgroup namespace's root may, so mount points are checked too.
  if (!fs.existsSync(path.join(real, 'cgroup.type')) || mountPoints('cgroup2').includes(real))
    throw new EbpfError('WEFT_E_EBPF_ROOT_CGROUP', `${flag} ${dir}: is the root cgroup, which holds every process on the machine; give the workload's (or proxy's) own cgroup below it`);
  return real;
}

/** The cgroup v2 directory a process is in (its /proc/PID/cgroup "0::" line, under the unified mount). */
export function cgroupOfPid(pid: number): string {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    throw new EbpfError('WEFT_E_EBPF_BAD_FLAG', `--pod-pid ${pid}: no such process`);
  }
  const rel = text.split('\n').find((l) => l.startsWith('0::'))?.slice(3);
  const mount = mountPoints('cgroup2')[0];
  if (rel === undefined || !mount) throw new EbpfError('WEFT_E_EBPF_NO_CGROUP2', `--pod-pid ${pid}: the process is in no cgroup v2 (no "0::" line in /proc/${pid}/cgroup, or no cgroup v2 mounted)`);
  return path.join(mount, rel);
}

export const isBpffs = (dir: string): boolean => fsType(dir) === BPF_FS_MAGIC;

export function checkBpffs(dir: string): void {
  if (!isBpffs(dir))
    throw new EbpfError('WEFT_E_EBPF_NO_BPFFS', `--bpffs ${dir}: not a BPF filesystem (mount one with \`mount -t bpf bpf ${dir}\`, or pass --mount-bpffs)`);
}

/** Mounts a BPF filesystem at dir (created if absent); true when this call mounted it. */
export function ensureBpffs(dir: string, mount: boolean): boolean {
  if (isBpffs(dir)) return false;
  if (!mount) checkBpffs(dir);
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'bpf', 'bpf', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new EbpfError('WEFT_E_EBPF_NO_BPFFS', `--bpffs ${dir}: mount -t bpf failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
  }
  checkBpffs(dir);
  return true;
}

export interface Toolchain {
  clang: string;
  bpftool: string;
  /** -I directories: the libbpf headers' parent, and the multiarch directory holding asm/types.h. */
  includes: string[];
}

const onPath = (cmd: string): string | undefined => {
  for (const d of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat('/usr/sbin', '/sbin')) {
    const p = path.join(d, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
};

const MULTIARCH: Record<string, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', ppc64: 'powerpc64le-linux-gnu', s390x: 's390x-linux-gnu', riscv64: 'riscv64-linux-gnu' };

export function findBpftool(): string {
  const bpftool = onPath('bpftool');
  if (!bpftool) throw new EbpfError('WEFT_E_EBPF_TOOL_MISSING', 'not found: bpftool (Debian package bpftool)');
  return bpftool;
}

export function findToolchain(): Toolchain {
  const clang = onPath('clang');
  const bpftool = onPath('bpftool');
  const headerRoot = ['/usr/include', '/usr/local/include'].find((d) => fs.existsSync(path.join(d, 'bpf/bpf_helpers.h')));
  const missing = [!clang && 'clang (Debian package clang)', !bpftool && 'bpftool (Debian package bpftool)', !headerRoot && 'bpf/bpf_helpers.h (Debian package libbpf-dev)'].filter(Boolean);
  if (missing.length || !clang || !bpftool || !headerRoot) throw new EbpfError('WEFT_E_EBPF_TOOL_MISSING', `not found: ${missing.join(', ')}`);
  const arch = path.join('/usr/include', MULTIARCH[process.arch] ?? '');
  return { clang, bpftool, includes: [headerRoot, ...(fs.existsSync(path.join(arch, 'asm/types.h')) ? [arch] : [])] };
}
