// Spawning real `weft` processes for end-to-end tests, with cleanup by PID even when a test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { terminate } from '../../src/demo/terminate.js';
import { repoRoot } from './paths.js';

export { repoRoot };
export const weftBin = path.join(repoRoot, 'bin/weft.js');

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

const running = new Set<Proc>();
process.on('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});

/** `env`: variables added to this process's environment for the child. */
export function spawnWeft(name: string, args: string[], env?: Record<string, string>): Proc {
  // Processes of parallel tests would all bind the default telemetry port (15020) and the webhook
  // port (15017): off unless a test asks.
  if (args[0] === 'proxy' && !args.includes('--telemetry-port')) args = [...args, '--telemetry-port', '0'];
  if (args[0] === 'control-plane' && !args.some((a) => a.startsWith('--webhook-port'))) args = [...args, '--webhook-port', '0'];
  const child = spawn(process.execPath, [weftBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : undefined });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const proc: Proc = {
    name,
    child,
    output: () => out,
    stop: () => {
      running.delete(proc);
      return terminate(child);
    },
  };
  running.add(proc);
  return proc;
}

export async function stopAll(procs: Proc[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}

/** An end-to-end test's teardown: its client agent, its processes, its app servers, its config dir. */
export async function stopTestbed(t: { agent: { destroy(): void }; procs: Proc[]; apps: { close(cb: () => void): unknown }[]; dir: string }): Promise<void> {
  t.agent.destroy();
  await stopAll(t.procs);
  await Promise.all(t.apps.map((a) => new Promise<void>((r) => a.close(() => r()))));
  fs.rmSync(t.dir, { recursive: true, force: true });
}

/** Ports that were free a moment ago (bound to :0 and released). */
/** Ports handed to processes started later must not come from the kernel's ephemeral range
 * (32768–60999 here): between our check and the child's bind, any outgoing connection on the
 * machine may take an ephemeral port as its local port (EADDRINUSE). Pick below it instead. */
const PORT_RANGE = { first: 20_000, last: 29_999 };
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  const span = PORT_RANGE.last - PORT_RANGE.first + 1;
  for (let tries = 0; ports.length < n; tries++) {
    if (tries > 50 * n) throw new Error(`freePorts: no ${n} free ports in ${PORT_RANGE.first}-${PORT_RANGE.last}`);
    const port = PORT_RANGE.first + Math.floor(Math.random() * span);
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000, procs: Proc[] = []): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const logs = procs.map((p) => `--- ${p.name} ---\n${p.output().slice(-3000)}`).join('\n');
  throw new Error(`timed out waiting for ${what}${lastErr ? ` (last error: ${lastErr})` : ''}\n${logs}`);
}

export async function httpGetJson<T = unknown>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Resolves once every sidecar (by admin port) reports in /stats that its ADS stream is down: only then
 * does traffic sent "without a control plane" test anything. */
export async function waitForDisconnected(adminPorts: number[], procs: Proc[] = []): Promise<void> {
  const connected = async (port: number) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/stats`)).text();
    return /^control_plane\.connected_state: 1$/m.test(text);
  };
  await waitFor('every proxy to notice the control plane is gone', async () => !(await Promise.all(adminPorts.map(connected))).some(Boolean), 10_000, procs);
}

/** Resolves once the child printed `line`; rejects with its output if it exits first. */
export function waitForLine(child: ChildProcess, line: RegExp, what: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what}: not ready after ${timeoutMs} ms: ${out}`)), timeoutMs);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (line.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code}: ${out}`));
    });
  });
}
