// Every process the benchmark starts goes through here, so each one is killed by its id (and its
// process group, for nginx's and HAProxy's workers) on normal exit, on failure and on Ctrl-C.
import { spawn, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export interface Started {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Last lines of stdout+stderr, for error messages. */
  tail(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const live = new Map<number, Started>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  // Children are spawned detached, so -pid is their own process group and nothing else.
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

let hooksInstalled = false;
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const pid of live.keys()) killGroup(pid, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping ${live.size} process(es)\n`);
      process.exit(130);
    });
  }
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Write the process's output here as well as keeping a tail in memory. */
  logFile?: string;
  /** Use child_process.fork (an IPC channel) for a Node module instead of spawn. */
  ipc?: boolean;
  execArgv?: string[];
  /** With ipc: the program fork runs instead of node (`execPath execArgv module args`), e.g. a wrapper that enters a namespace. */
  execPath?: string;
}

export function start(name: string, command: string, args: string[], opts: StartOptions = {}): Started {
  installHooks();
  const child = opts.ipc
    ? fork(command, args, {
        detached: true,
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        execArgv: opts.execArgv ?? [],
        ...(opts.execPath ? { execPath: opts.execPath } : {}),
      })
    : spawn(command, args, { detached: true, env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`cannot start ${name}: ${command}`);
  const pid = child.pid;
  const lines: string[] = [];
  const log = opts.logFile ? fs.createWriteStream(opts.logFile) : undefined;
  const keep = (chunk: Buffer): void => {
    log?.write(chunk);
    for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(l);
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(pid);
      log?.end();
      resolve(code ?? (signal ? -1 : null));
    });
  });
  const started: Started = {
    name,
    child,
    pid,
    tail: () => lines.join('\n'),
    exited,
    async stop() {
      if (!live.has(pid)) return;
      killGroup(pid, 'SIGTERM');
      const t = setTimeout(() => killGroup(pid, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
      // nginx/HAProxy workers may outlive the master by a moment; they share its group.
      killGroup(pid, 'SIGKILL');
    },
  };
  live.set(pid, started);
  child.on('error', () => live.delete(pid));
  return started;
}

export async function stopAll(list: Iterable<Started | undefined>): Promise<void> {
  await Promise.all([...list].map((s) => s?.stop()));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `check` resolves true, or throw naming what we waited for (with the process's output). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  proc?: Started,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedCode: number | null | undefined;
  void proc?.exited.then((c) => (exitedCode = c));
  for (;;) {
    if (await check().catch(() => false)) return;
    if (exitedCode !== undefined) throw new Error(`${what}: ${proc?.name} exited (${exitedCode})\n${proc?.tail()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${proc ? `\n${proc.tail()}` : ''}`);
    await sleep(100);
  }
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** GET http://127.0.0.1:port/path and return the status (0 on connection error). */
export async function httpStatus(port: number, path: string, host?: string): Promise<number> {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers: host ? { host } : {}, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(2000, () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

export async function httpJson(port: number, path: string): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
  return res.json();
}
