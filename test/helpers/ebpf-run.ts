// One eBPF capture test run: a temp directory (the bpffs mount point the install mounts, its state and
// object cache), the run's cgroups, the capture probe compiled into it, and `weft ebpf` driven through
// the real CLI. Leftovers of earlier runs (their PID gone) are removed first; destroy() undoes
// everything even when the install or a test failed half-way.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { mountPoints } from '../../src/capture/ebpf/preflight.js';
import { TestCgroups } from './cgroups.js';
import { alive, NETNS_PREFIX } from './netns.js';
import { repoRoot, weftBin } from './processes.js';

const run = promisify(execFile);
const RUN_PREFIX = `${NETNS_PREFIX}ebpf-`;

export interface EbpfRun {
  dir: string;
  /** The probe processes still running, killed by PID on destroy. */
  children: Set<ChildProcess>;
  name: string;
  bpffs: string;
  stateDir: string;
  cacheDir: string;
  probe: string;
  cgroups: TestCgroups;
}

const unmountUnder = (dir: string): void => {
  for (const m of mountPoints('bpf').filter((p) => p === dir || p.startsWith(`${dir}/`)).reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      /* not mounted any more */
    }
  }
};

function removeRunLeftovers(): void {
  for (const n of fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(RUN_PREFIX))) {
    const pid = Number(n.slice(RUN_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || alive(pid)) continue;
    const dir = path.join(os.tmpdir(), n);
    unmountUnder(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function createEbpfRun(): Promise<EbpfRun> {
  removeRunLeftovers();
  const id = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${RUN_PREFIX}${id}-`));
  const probe = path.join(dir, 'capture-probe');
  await run('clang', ['-O2', '-Wall', '-o', probe, path.join(repoRoot, 'test/helpers/capture-probe.c')]);
  return { dir, name: `test-${id}`, bpffs: path.join(dir, 'bpffs'), stateDir: path.join(dir, 'state'), cacheDir: path.join(dir, 'cache'), probe, cgroups: TestCgroups.create(), children: new Set() };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `weft ebpf <args>` as a user runs it, with this run's state directory. */
export function weftEbpf(r: EbpfRun, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [weftBin, 'ebpf', ...args, '--state-dir', r.stateDir], { maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export const installArgs = (r: EbpfRun, workload: string, proxy: string, extra: string[] = []): string[] => [
  'install', '--name', r.name, '--workload-cgroup', workload, '--proxy-cgroup', proxy,
  '--bpffs', r.bpffs, '--mount-bpffs', '--cache-dir', r.cacheDir, ...extra,
];

export async function destroyEbpfRun(r: EbpfRun | undefined): Promise<void> {
  if (!r) return;
  if (fs.existsSync(path.join(r.stateDir, `${r.name}.json`))) await weftEbpf(r, ['uninstall', '--name', r.name]);
  for (const c of r.children) c.kill('SIGKILL');
  r.cgroups.destroy();
  unmountUnder(r.dir);
  fs.rmSync(r.dir, { recursive: true, force: true });
}

/** Probe options that put it in a cgroup (first), then a host's network namespace, then a UID. */
export const probeIn = (host: { ns: string }, o: { cgroup?: string; uid?: number } = {}): string[] => [
  ...(o.cgroup ? ['--cgroup', o.cgroup] : []), '--netns', `/run/netns/${host.ns}`, ...(o.uid !== undefined ? ['--uid', String(o.uid)] : []),
];

/** Starts the probe for long; it is killed by PID when the run is destroyed. */
export function spawnProbe(r: EbpfRun, args: string[], stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
  const child = spawn(r.probe, args, { stdio: [stdin, 'pipe', 'pipe'] });
  r.children.add(child);
  child.once('exit', () => r.children.delete(child));
  return child;
}

/** Runs the probe to completion and parses the JSON line it prints; rejects with that line on failure. */
export function runProbe<T>(r: EbpfRun, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(r.probe, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`capture-probe ${args.join(' ')}: ${stdout}${stderr}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

/** Entries of a pinned map, asked of bpftool directly (not through weft ebpf status). */
export async function mapEntries(pin: string): Promise<number> {
  return (JSON.parse((await run('bpftool', ['-j', 'map', 'dump', 'pinned', pin])).stdout) as unknown[]).length;
}

/** Lines a long-running child prints, each parsed as JSON, with a bounded wait for one that matches. */
export class JsonLines {
  readonly lines: Record<string, unknown>[] = [];
  private buf = '';
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (b: Buffer) => {
      this.buf += b.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async waitFor(match: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`no line for ${what} (got ${JSON.stringify(this.lines)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
