// The control-plane benchmark: for each step (100, 500, 1,000, 2,000 proxies) and each xDS protocol
// (Delta with VHDS, state of the world) a fresh `weft control-plane` with the step's mesh, simulated
// proxies in worker processes, then: time to sync everyone, config changes (VirtualService written →
// last proxy's ACK of the new routes: RDS on SotW, VHDS on Delta), an endpoint joining and leaving
// (→ last EDS ACK), with the control plane's CPU, RSS and bytes pushed.
import fs from 'node:fs';
import path from 'node:path';
import type { XdsProtocol, XdsType } from '../../src/api/envoy.js';
import { start, waitFor, httpStatus, httpJson, sleep, type Started } from '../lib/procs.js';
import { freePorts } from '../lib/ports.js';
import { cpuSeconds, rssBytes, peakRssBytes, RssSampler } from '../lib/procstat.js';
import { summarize, round, type Percentiles } from '../lib/stats.js';
import { editedHosts, planMesh, proxyIdentity, writeConfigChange, writeMeshConfig, type MeshPlan } from './mesh.js';
import { now } from './sim-proxy.js';
import type { Collected, Progress, WorkerCommand } from './sim-worker.js';

export interface ControlplaneOptions {
  dir: string;
  weftBin: string;
  /** Extra node flags for the control plane (e.g. --cpu-prof). */
  nodeArgs: string[];
  steps: number[];
  /** Each step runs once per protocol, as separate rows. */
  protocols: XdsProtocol[];
  services: number;
  endpoints: number;
  changes: number;
  log(msg: string): void;
}

export interface ChangeResult {
  /** Change → last proxy's ACK, ms. */
  lastAckMs: number;
  /** Change → median proxy's ACK, ms. */
  medianAckMs: number;
  updated: number;
  expected: number;
  /** Sum of encoded DiscoveryResponse sizes the proxies received in the window. */
  bytes: number;
  responses: number;
  /** What was pushed, per xDS type: responses and bytes. */
  byType: Record<string, { responses: number; bytes: number }>;
  cpuSeconds: number;
  timedOut: boolean;
}

export interface StepResult {
  plan: MeshPlan;
  protocol: XdsProtocol;
  status: 'ok' | 'failed';
  error?: string;
  workers: number;
  /** Start of connecting → every proxy ACKed CDS, EDS, LDS and RDS. */
  syncSeconds?: number;
  syncCpuSeconds?: number;
  syncBytes?: number;
  /** A few stream failures seen by the simulated proxies (when sync failed). */
  streamErrors?: string[];
  /** Simulated streams that failed and reconnected (with backoff) during the step. */
  reconnects?: number;
  /** When sync failed: how many proxies had synced. */
  syncedBeforeFailure?: number;
  /** After sync, until no response arrived for 1.5 s. */
  settleSeconds?: number;
  rssMiB?: { idle: number; afterSync: number; max: number; peakHwm: number };
  configChange?: { lastAck: Percentiles; medianAck: Percentiles; samples: ChangeResult[] };
  join?: ChangeResult;
  leave?: ChangeResult & { graceMs: number };
  /** /debug/syncz agreed that every proxy ACKed what it was sent. */
  synczConsistent?: boolean;
  workerCpuSeconds?: number;
}

export interface ControlplaneResult {
  config: Omit<ControlplaneOptions, 'log' | 'dir' | 'weftBin' | 'nodeArgs'> & { debounceMs: number; endpointGraceMs: number };
  steps: StepResult[];
}

const MiB = 1024 * 1024;
const DEBOUNCE_MS = 100; // the control plane's default, passed explicitly so the report can say it
const GRACE_MS = 3000;
const STALL_MS = 45_000;
const SYNC_CAP_MS_BASE = 60_000;
const SYNC_CAP_MS_PER_PROXY = 60;

class Worker {
  private seq = 0;
  private readonly waiting = new Map<number, (b: unknown) => void>();
  private constructor(readonly proc: Started) {
    proc.child.on('message', (m: { id?: number; body?: unknown }) => {
      if (m.id === undefined) return;
      this.waiting.get(m.id)?.(m.body);
      this.waiting.delete(m.id);
    });
  }
  static async start(name: string): Promise<Worker> {
    const proc = start(name, new URL('./sim-worker.js', import.meta.url).pathname, [], {
      ipc: true,
      execArgv: ['--max-old-space-size=4096'],
    });
    await new Promise<void>((resolve, reject) => {
      proc.child.once('message', () => resolve());
      void proc.exited.then(() => reject(new Error(`${name} exited:\n${proc.tail()}`)));
    });
    return new Worker(proc);
  }
  ask<T>(command: WorkerCommand): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (b) => resolve(b as T));
      this.proc.child.send({ id, command }, (err) => err && reject(err));
    });
  }
}

async function all<T>(workers: Worker[], command: WorkerCommand): Promise<T[]> {
  return Promise.all(workers.map((w) => w.ask<T>(command)));
}

/** Wait until `expected` proxies ACKed `type` since the mark and the stream has been quiet a moment. */
async function awaitPropagation(
  workers: Worker[],
  type: XdsType,
  expected: number,
  exclude: number[],
  t0: number,
  timeoutMs: number,
): Promise<{ collected: Collected[]; timedOut: boolean }> {
  const quietMs = 400;
  const deadline = Date.now() + timeoutMs;
  let timedOut = false;
  for (;;) {
    const ps = await all<Progress>(workers, { cmd: 'progress', type, exclude });
    const updated = ps.reduce((a, p) => a + p.updated, 0);
    const last = Math.max(t0, ...ps.map((p) => p.lastResponseAt));
    if (updated >= expected && now() - last >= quietMs) break;
    if (Date.now() > deadline) {
      timedOut = true;
      break;
    }
    await sleep(100);
  }
  return { collected: await all<Collected>(workers, { cmd: 'collect', type, exclude }), timedOut };
}

function changeResult(collected: Collected[], t0: number, expected: number, cpu: number, timedOut: boolean): ChangeResult {
  const times = collected.flatMap((c) => c.ackTimes).map((t) => t - t0);
  const s = summarize(times);
  const byType: ChangeResult['byType'] = {};
  for (const c of collected)
    for (const [t, v] of Object.entries(c.byType)) {
      const acc = (byType[t] ??= { responses: 0, bytes: 0 });
      acc.responses += v?.responses ?? 0;
      acc.bytes += v?.bytes ?? 0;
    }
  return {
    lastAckMs: round(s.max, 1),
    medianAckMs: round(s.p50, 1),
    updated: times.length,
    expected,
    bytes: collected.reduce((a, c) => a + c.bytes, 0),
    responses: collected.reduce((a, c) => a + c.responses, 0),
    byType,
    cpuSeconds: round(cpu, 3),
    timedOut,
  };
}

/** The gist of a grpc-js stream error: "read ECONNRESET" out of "14 UNAVAILABLE: ... Last error: read ECONNRESET (...)". */
function shortError(e: string): string {
  const msg = e.slice(e.indexOf(': ') + 2);
  const last = /Last error: (?:Error: )?([^(]+)/.exec(msg)?.[1]?.trim();
  return (last ?? msg).slice(0, 80);
}

/** "route 100, endpoint 100" — which types a change pushed, for the log. */
export function pushedTypes(c: ChangeResult): string {
  return Object.entries(c.byType)
    .map(([t, v]) => `${t} ×${v.responses} ${(v.bytes / MiB).toFixed(1)} MiB`)
    .join(', ');
}

interface SynczEntry {
  id: string;
  types?: Record<string, { sent?: string | null; acked?: string | null; nack?: unknown }>;
}

async function synczConsistent(monitor: number, expected: number): Promise<boolean> {
  const body = (await httpJson(monitor, '/debug/syncz')) as { proxies?: SynczEntry[] } | SynczEntry[];
  const list = Array.isArray(body) ? body : (body.proxies ?? []);
  if (list.length !== expected) return false;
  return list.every((p) => Object.values(p.types ?? {}).every((t) => t.sent === t.acked && !t.nack));
}

/** The type whose ACK says a proxy runs a config change: on Delta the edited virtual host comes over VHDS. */
const routesType = (protocol: XdsProtocol): XdsType => (protocol === 'delta' ? 'virtualHost' : 'route');

async function runStep(opts: ControlplaneOptions, proxies: number, protocol: XdsProtocol): Promise<StepResult> {
  const plan = planMesh(proxies, opts.services, opts.endpoints);
  const edited = editedHosts(plan, opts.changes);
  const dir = path.join(opts.dir, `step-${proxies}-${protocol}`);
  const configDir = path.join(dir, 'config');
  writeMeshConfig(configDir, plan);
  const [xds, monitor] = await freePorts(2);
  const workerCount = proxies >= 200 ? 2 : 1;
  const result: StepResult = { plan, protocol, status: 'ok', workers: workerCount };
  const cp = start(
    'weft-control-plane',
    process.execPath,
    [
      ...opts.nodeArgs,
      opts.weftBin,
      'control-plane',
      '--insecure-registration',
      '--config-dir',
      configDir,
      '--xds-address',
      `127.0.0.1:${xds}`,
      '--monitor-address',
      `127.0.0.1:${monitor}`,
      '--debounce-ms',
      String(DEBOUNCE_MS),
      '--endpoint-grace-ms',
      String(GRACE_MS),
      // Every simulated proxy connects from 127.0.0.1: one peer host, many registrations.
      '--max-registrations-per-peer',
      '0',
    ],
    { logFile: path.join(dir, 'control-plane.log') },
  );
  const workers: Worker[] = [];
  let sampler: RssSampler | undefined;
  let cpuAtConnect: number | undefined;
  try {
    await waitFor('weft control-plane /ready', async () => (await httpStatus(monitor, '/ready')) === 200, 30_000, cp);
    await sleep(500);
    const idleRss = rssBytes(cp.pid);
    sampler = new RssSampler(cp.pid, 200);
    for (let w = 0; w < workerCount; w++) workers.push(await Worker.start(`sim-worker-${w}`));

    // 1. Everyone connects and syncs.
    opts.log(`controlplane (${protocol}): ${proxies} proxies, ${plan.services} services, ${plan.endpoints} endpoints: connecting`);
    await all(workers, { cmd: 'mark' });
    const cpu0 = cpuSeconds(cp.pid);
    cpuAtConnect = cpu0;
    const t0 = now();
    await Promise.all(
      workers.map((w, wi) =>
        w.ask({
          cmd: 'connect',
          xds: `127.0.0.1:${xds}`,
          protocol,
          proxies: Array.from({ length: proxies }, (_, i) => i)
            .filter((i) => i % workerCount === wi)
            .map((i) => proxyIdentity(plan, i, edited)),
          perBatch: 25,
          batchEveryMs: 100,
        }),
      ),
    );
    // Give up when no further proxy has synced for STALL_MS, or at the overall cap.
    const syncCap = Date.now() + SYNC_CAP_MS_BASE + proxies * SYNC_CAP_MS_PER_PROXY;
    let lastSynced = -1;
    let lastProgressAt = Date.now();
    for (;;) {
      const ps = await all<Progress>(workers, { cmd: 'progress', type: 'route', exclude: [] });
      const synced = ps.reduce((a, p) => a + p.synced, 0);
      result.reconnects = ps.reduce((a, p) => a + p.reconnects, 0);
      if (synced >= proxies) break;
      if (synced > lastSynced) {
        lastSynced = synced;
        lastProgressAt = Date.now();
      }
      const errors = ps.flatMap((p) => p.errors);
      const stalled = Date.now() - lastProgressAt > STALL_MS;
      if (stalled || Date.now() > syncCap || cp.child.exitCode !== null) {
        result.syncedBeforeFailure = synced;
        result.streamErrors = errors;
        throw new Error(
          `only ${synced}/${proxies} proxies synced after ${Math.round((now() - t0) / 1000)} s` +
            `${stalled ? ` (none for ${STALL_MS / 1000} s)` : ''}, ${result.reconnects} stream reconnects` +
            `${errors.length ? `, failing with "${shortError(errors[0])}"` : ''}`,
        );
      }
      await sleep(200);
    }
    result.syncSeconds = round((now() - t0) / 1000, 2);
    const syncCollected = await all<Collected>(workers, { cmd: 'collect', type: 'route', exclude: [] });
    result.syncBytes = syncCollected.reduce((a, c) => a + c.bytes, 0);
    result.syncCpuSeconds = round(cpuSeconds(cp.pid) - cpu0, 2);
    // Registrations keep triggering pushes for a while after the last proxy synced; measure
    // changes only once the control plane has gone quiet.
    const settleDeadline = Date.now() + 60_000;
    for (;;) {
      const ps = await all<Progress>(workers, { cmd: 'progress', type: 'route', exclude: [] });
      if (now() - Math.max(...ps.map((p) => p.lastResponseAt)) > 1500 || Date.now() > settleDeadline) break;
      await sleep(250);
    }
    result.settleSeconds = round((now() - t0) / 1000 - result.syncSeconds, 2);
    const afterSync = rssBytes(cp.pid);
    opts.log(
      `  synced in ${result.syncSeconds} s${result.reconnects ? ` (${result.reconnects} reconnects)` : ''} (quiet ${result.settleSeconds} s later), control plane CPU ${result.syncCpuSeconds} s, RSS ${(afterSync / MiB).toFixed(0)} MiB, ` +
        `workers CPU ${workers.reduce((a, w) => a + cpuSeconds(w.proc.pid), 0).toFixed(1)} s`,
    );

    // 2. Config changes: a VirtualService appears → every proxy ACKs new routes.
    const samples: ChangeResult[] = [];
    for (let n = 0; n < opts.changes; n++) {
      await all(workers, { cmd: 'mark' });
      const c0 = cpuSeconds(cp.pid);
      const tc = now();
      writeConfigChange(configDir, plan, n);
      const { collected, timedOut } = await awaitPropagation(workers, routesType(protocol), proxies, [], tc, 30_000 + proxies * 20);
      samples.push(changeResult(collected, tc, proxies, cpuSeconds(cp.pid) - c0, timedOut));
      const s = samples[samples.length - 1];
      opts.log(
        `  config change ${n + 1}/${opts.changes}: last ACK ${s.lastAckMs} ms, median ${s.medianAckMs} ms, ${s.updated}/${proxies} proxies, ${(s.bytes / MiB).toFixed(1)} MiB (${pushedTypes(s)}), CPU ${s.cpuSeconds} s`,
      );
      await sleep(300);
    }
    result.configChange = {
      lastAck: summarize(samples.map((s) => s.lastAckMs)),
      medianAck: summarize(samples.map((s) => s.medianAckMs)),
      samples,
    };

    // 3. An endpoint joins (a new instance of svc-0), then leaves.
    const joiner = proxyIdentity(plan, proxies, edited);
    await all(workers, { cmd: 'mark' });
    let c0 = cpuSeconds(cp.pid);
    let tc = now();
    await workers[0].ask({ cmd: 'connect', xds: `127.0.0.1:${xds}`, protocol, proxies: [joiner], perBatch: 1, batchEveryMs: 0 });
    let r = await awaitPropagation(workers, 'endpoint', proxies, [joiner.index], tc, 30_000 + proxies * 20);
    result.join = changeResult(r.collected, tc, proxies, cpuSeconds(cp.pid) - c0, r.timedOut);
    opts.log(
      `  endpoint join: last EDS ACK ${result.join.lastAckMs} ms, ${result.join.updated}/${proxies}, ${(result.join.bytes / MiB).toFixed(1)} MiB (${pushedTypes(result.join)}), CPU ${result.join.cpuSeconds} s`,
    );
    await sleep(500);
    await all(workers, { cmd: 'mark' });
    c0 = cpuSeconds(cp.pid);
    tc = now();
    await workers[0].ask({ cmd: 'leave', index: joiner.index });
    r = await awaitPropagation(workers, 'endpoint', proxies, [joiner.index], tc, GRACE_MS + 30_000 + proxies * 20);
    result.leave = { ...changeResult(r.collected, tc, proxies, cpuSeconds(cp.pid) - c0, r.timedOut), graceMs: GRACE_MS };
    opts.log(`  endpoint leave: last EDS ACK ${result.leave.lastAckMs} ms (incl. ${GRACE_MS} ms grace), ${result.leave.updated}/${proxies}`);

    await sleep(500);
    const final = await all<Progress>(workers, { cmd: 'progress', type: 'route', exclude: [] });
    result.reconnects = final.reduce((a, p) => a + p.reconnects, 0);
    result.synczConsistent = await synczConsistent(monitor, proxies).catch(() => false);
    result.rssMiB = {
      idle: round(idleRss / MiB, 1),
      afterSync: round(afterSync / MiB, 1),
      max: round(sampler.stop() / MiB, 1),
      peakHwm: round(peakRssBytes(cp.pid) / MiB, 1),
    };
    result.workerCpuSeconds = round(workers.reduce((a, w) => a + cpuSeconds(w.proc.pid), 0), 1);
  } catch (e) {
    result.status = 'failed';
    result.error = String((e as Error).message ?? e).slice(0, 2000);
    if (cp.child.exitCode !== null) result.error += `\ncontrol plane exited: ${cp.tail().slice(-1500)}`;
    if (cpuAtConnect !== undefined && result.syncCpuSeconds === undefined) result.syncCpuSeconds = round(cpuSeconds(cp.pid) - cpuAtConnect, 2);
    if (sampler) result.rssMiB = { idle: NaN, afterSync: NaN, max: round(sampler.stop() / MiB, 1), peakHwm: round(peakRssBytes(cp.pid) / MiB, 1) };
    opts.log(`  step ${proxies} (${protocol}) failed: ${result.error.split('\n')[0]}`);
  } finally {
    sampler?.stop();
    await Promise.all(workers.map((w) => Promise.race([w.ask({ cmd: 'close' }), sleep(2000)]).then(() => w.proc.stop())));
    await cp.stop();
  }
  return result;
}

export async function runControlplane(opts: ControlplaneOptions): Promise<ControlplaneResult> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const steps: StepResult[] = [];
  const failed = new Set<XdsProtocol>();
  for (const p of opts.steps) {
    for (const protocol of opts.protocols) {
      if (failed.has(protocol)) continue;
      const r = await runStep(opts, p, protocol);
      steps.push(r);
      // A larger step cannot succeed where a smaller one failed; keep the run bounded.
      if (r.status === 'failed') {
        opts.log(`controlplane (${protocol}): skipping steps above ${p} proxies`);
        failed.add(protocol);
      }
    }
  }
  const { log: _l, dir: _d, weftBin: _w, nodeArgs: _n, ...config } = opts;
  return { config: { ...config, debounceMs: DEBOUNCE_MS, endpointGraceMs: GRACE_MS }, steps };
}
