// The data-plane benchmark: every topology row is started once, then measured in interleaved
// rounds (so background noise on this shared machine hits every row alike), then saturated with
// wrk (HTTP/1.1, TCP) or h2load (h2c, gRPC) one row at a time. The h2c, gRPC and TCP rows run
// shorter rounds (`short*` options) so that they add about three minutes to a full run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { start, waitFor, portOpen, sleep, type Started } from '../lib/procs.js';
import { freePorts } from '../lib/ports.js';
import { cpuSeconds, rssBytes, RssSampler } from '../lib/procstat.js';
import { median, summarize, round, type Percentiles } from '../lib/stats.js';
import { requireTools, TOOLS } from '../lib/tools.js';
import { backendConf, GRPC_RESPONSE, grpcFrame } from './peers.js';
import { selectRows, type Context, type Running, type Topology } from './topologies.js';
import { GRPC_REQUEST_MESSAGE } from './h2.js';
import { runH2load } from './h2load.js';
import type { LoadgenJob, LoadgenResult } from './loadgen.js';
import { runWrk, type WrkResult } from './wrk.js';
import { runConnRate, type ConnRateResult } from './conn-rate.js';
import { makeMeshCerts, type MeshCerts } from './mtls.js';
import { CaptureNet, podWrap, type InPod } from './capture-net.js';

export interface DataplaneOptions {
  dir: string;
  weftBin: string;
  /** Extra node flags for Weft processes (e.g. --cpu-prof). */
  nodeArgs: string[];
  rps: number;
  /** Measured seconds per open-loop round (after a warm-up of its own). */
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  wrkSeconds: number;
  wrkConnections: number;
  openLoopConnections: number;
  /** Row or group names to run; each brings the direct row it is measured against. */
  rows?: string[];
  /** Seconds per open-loop round, its warm-up, and per closed-loop round, for the h2c/gRPC/TCP rows. */
  shortSeconds: number;
  shortWarmupSeconds: number;
  shortWrkSeconds: number;
  /** h2c and gRPC: sessions the open-loop slots and h2load's streams are multiplexed on. */
  h2Sessions: number;
  log(msg: string): void;
}

export interface ProxyFigures {
  role: 'client' | 'server';
  idleRssMiB: number;
  loadRssMiB: number;
  /** RssAnon at 1,000 rps: the part not shared with other copies of the same executable. */
  loadPrivateMiB: number;
  /** CPU seconds per 1,000 requests at the fixed rate (= vCPU used per 1,000 rps). */
  cpuPer1kAtRate: number;
  /** CPU seconds per 1,000 requests at saturation. */
  cpuPer1kAtMax: number;
  maxRssMiB: number;
}

export interface RowResult {
  name: string;
  description: string;
  /** Table the row belongs to (absent in results saved before the h2c/gRPC/TCP rows: http1). */
  group?: Topology['group'];
  /** The direct row its "added" figures subtract. */
  baseline?: string;
  status: 'ok' | 'skipped' | 'failed';
  error?: string;
  latency?: Percentiles;
  /** Latency added over the direct row (same percentile), ms. */
  added?: { p50: number; p90: number; p99: number };
  /** Percentiles over all rounds' samples merged (the headline `latency` is the median of rounds). */
  latencyMerged?: Percentiles;
  /** Latency from the actual write (excludes the generator's own wake-up lag; not CO-free). */
  serviceLatency?: Percentiles;
  addedService?: { p50: number; p90: number; p99: number };
  openLoop?: Omit<LoadgenResult, 'samples' | 'serviceSamples'>[];
  /** The median of the closed-loop rounds (by req/s); every round is in maxRounds. */
  max?: WrkResult;
  maxRounds?: WrkResult[];
  proxies?: ProxyFigures[];
  /** TLS rows: protocol, suite, group and key the server hop negotiated (openssl s_client). */
  tls?: string;
  /** New connections per second (wrk, `Connection: close`) and CPU per connection. */
  connRate?: ConnRateResult;
}

export interface DataplaneResult {
  /** The short-round fields are absent in results saved before the h2c/gRPC/TCP rows. */
  config: Omit<DataplaneOptions, 'log' | 'dir' | 'weftBin' | 'nodeArgs' | 'shortSeconds' | 'shortWarmupSeconds' | 'shortWrkSeconds' | 'h2Sessions'> &
    Partial<Pick<DataplaneOptions, 'shortSeconds' | 'shortWarmupSeconds' | 'shortWrkSeconds' | 'h2Sessions'>>;
  tools: Record<string, { path: string; version: string }>;
  rows: RowResult[];
}

const MiB = 1024 * 1024;

/** Each percentile as the median over rounds: one round disturbed by a neighbour on this shared
 * 2-core machine does not decide the row. Count, max and mean come from the merged samples. */
function medianOfRounds(rounds: Percentiles[], merged: Percentiles): Percentiles {
  if (rounds.length < 3) return merged;
  const m = (k: 'p50' | 'p90' | 'p99'): number => median(rounds.map((r) => r[k]));
  return { ...merged, p50: m('p50'), p90: m('p90'), p99: m('p99') };
}

class Loadgen {
  private constructor(private readonly proc: Started) {}
  /** `pod`: run it inside a capture row's client pod (its namespace, and cgroup under eBPF). */
  static async start(pod?: InPod): Promise<Loadgen> {
    const wrap = pod ? podWrap(pod) : undefined;
    const proc = start('loadgen', new URL('./loadgen.js', import.meta.url).pathname, [], {
      ipc: true,
      ...(wrap ? { execPath: wrap[0], execArgv: [...wrap.slice(1), process.execPath] } : {}),
    });
    // The generator's timing is the ruler: let it win the CPU when it wakes (we run as root).
    try {
      os.setPriority(proc.pid, -10);
    } catch {
      /* not permitted: the send-lag figure will show it */
    }
    await new Promise<void>((resolve, reject) => {
      proc.child.once('message', () => resolve());
      void proc.exited.then(() => reject(new Error(`loadgen exited:\n${proc.tail()}`)));
    });
    return new Loadgen(proc);
  }
  run(job: LoadgenJob): Promise<LoadgenResult> {
    return new Promise((resolve, reject) => {
      this.proc.child.once('message', (m: { ok: boolean; result?: LoadgenResult; error?: string }) =>
        m.ok ? resolve(m.result!) : reject(new Error(m.error)),
      );
      this.proc.child.send(job);
      // A generator that dies mid-job must fail the row, not hang the run.
      void this.proc.exited.then((code) => reject(new Error(`loadgen exited (${code}):\n${this.proc.tail()}`)));
    });
  }
  stop(): Promise<void> {
    return this.proc.stop();
  }
}

export async function runDataplane(opts: DataplaneOptions): Promise<DataplaneResult> {
  const rows = selectRows(opts.rows);
  const h2 = (t: Topology): boolean => t.group === 'h2c' || t.group === 'grpc';
  const tools = requireTools([TOOLS.nginx, TOOLS.wrk, ...rows.flatMap((t) => t.needs), ...(rows.some(h2) ? [TOOLS.h2load] : [])]);
  fs.mkdirSync(opts.dir, { recursive: true });
  // The capture group keeps the long rounds: its rows are what its note compares.
  const short = (t: Topology): boolean => t.group !== 'http1' && t.group !== 'capture';

  const [backendPort, h2cPort, grpcPort] = await freePorts(3);
  const backendPorts = { http1: backendPort, h2c: h2cPort, grpc: grpcPort };
  const backend = start('backend', tools.nginx.path, ['-e', path.join(opts.dir, 'backend.error.log'), '-c', backendConf(opts.dir, backendPorts)]);
  const loadgen = await Loadgen.start();
  const running = new Map<Topology, Running>();
  const results = new Map<Topology, RowResult>();
  const samples = new Map<Topology, number[]>();
  const serviceSamples = new Map<Topology, number[]>();
  let certs: MeshCerts | undefined;
  let captureNet: Promise<CaptureNet> | undefined;
  /** Capture rows: a generator of their own inside their client pod. */
  const podLoadgens = new Map<Topology, Loadgen>();
  try {
    for (const port of [backendPort, h2cPort, grpcPort]) await waitFor('backend nginx', () => portOpen(port), 10_000, backend);
    const ctx: Context = {
      dir: opts.dir,
      backendPort,
      backendPorts,
      host: 'bench-server',
      tool: (n) => tools[n].path,
      weftBin: opts.weftBin,
      nodeArgs: opts.nodeArgs,
      meshCerts: () => (certs ??= makeMeshCerts(opts.dir)),
      captureNet: () => (captureNet ??= CaptureNet.create({ dir: path.join(opts.dir, 'capture'), weftBin: opts.weftBin, nodeArgs: opts.nodeArgs, nginx: tools.nginx.path })),
    };

    for (const t of rows) {
      const r: RowResult = { name: t.name, description: t.description, group: t.group, baseline: t.baseline, status: 'ok', openLoop: [], proxies: [] };
      results.set(t, r);
      try {
        opts.log(`dataplane: starting ${t.name}`);
        const run = await t.start(ctx);
        running.set(t, run);
        if (run.generator) podLoadgens.set(t, await Loadgen.start(run.generator.pod));
        if (run.tls) {
          r.tls = run.tls;
          opts.log(`  ${t.name}: server hop negotiates ${run.tls}`);
        }
      } catch (e) {
        r.status = 'failed';
        r.error = String((e as Error).message ?? e).slice(0, 2000);
        opts.log(`dataplane: ${t.name} failed to start: ${r.error.split('\n')[0]}`);
      }
    }
    await sleep(1000);
    const idle = new Map<Topology, number[]>();
    for (const [t, run] of running) idle.set(t, run.proxies.map((p) => rssBytes(p.proc.pid)));

    // Open loop at the fixed rate: rounds interleave the rows.
    const cpuAtRate = new Map<Topology, number[]>();
    const rssAtRate = new Map<Topology, number[]>();
    const privateAtRate = new Map<Topology, number[]>();
    const reqsAtRate = new Map<Topology, number>();
    for (let round = 0; round < opts.rounds; round++) {
      for (const [t, run] of running) {
        opts.log(`dataplane: ${t.name} open loop ${opts.rps} rps, round ${round + 1}/${opts.rounds}`);
        const cpu0 = run.proxies.map((p) => cpuSeconds(p.proc.pid));
        const samplers = run.proxies.map((p) => new RssSampler(p.proc.pid));
        const res = await (podLoadgens.get(t) ?? loadgen).run({
          port: run.port,
          host: run.generator?.host ?? ctx.host,
          ...(run.generator ? { address: run.generator.address } : {}),
          rps: opts.rps,
          durationMs: (short(t) ? opts.shortSeconds : opts.seconds) * 1000,
          warmupMs: (short(t) ? opts.shortWarmupSeconds : opts.warmupSeconds) * 1000,
          connections: opts.openLoopConnections,
          protocol: t.group === 'h2c' || t.group === 'grpc' ? t.group : 'http1',
          h2Sessions: opts.h2Sessions,
        });
        const cpu1 = run.proxies.map((p) => cpuSeconds(p.proc.pid));
        const rss = samplers.map((s) => s.stop());
        const prevPrivate = privateAtRate.get(t) ?? run.proxies.map(() => 0);
        privateAtRate.set(t, prevPrivate.map((m, i) => Math.max(m, samplers[i].maxPrivate)));
        const { samples: raw, serviceSamples: rawSvc, ...rest } = res;
        results.get(t)!.openLoop!.push(rest);
        samples.set(t, [...(samples.get(t) ?? []), ...raw]);
        serviceSamples.set(t, [...(serviceSamples.get(t) ?? []), ...rawSvc]);
        const prevCpu = cpuAtRate.get(t) ?? run.proxies.map(() => 0);
        cpuAtRate.set(t, prevCpu.map((c, i) => c + cpu1[i] - cpu0[i]));
        const prevRss = rssAtRate.get(t) ?? run.proxies.map(() => 0);
        rssAtRate.set(t, prevRss.map((m, i) => Math.max(m, rss[i])));
        reqsAtRate.set(t, (reqsAtRate.get(t) ?? 0) + res.completed);
        opts.log(
          `  p50 ${res.latency.p50.toFixed(3)} p99 ${res.latency.p99.toFixed(3)} ms (from intended p99 ${res.fromIntended.p99.toFixed(3)}, from write p99 ${res.service.p99.toFixed(3)}), ` +
            `generator lag p99 ${res.sendLag.p99.toFixed(3)} ms, queued p99 ${res.queueWait.p99.toFixed(3)} ms, errors ${res.errors}`,
        );
      }
    }

    // Closed loop: one row at a time, in interleaved rounds like the open loop; a row's figure is its
    // median round, so one round disturbed by a neighbour on this VM does not decide it.
    const wrkRounds = new Map<Topology, WrkResult[]>();
    const cpuAtMax = new Map<Topology, number[]>();
    const rssAtMax = new Map<Topology, number[]>();
    for (let round = 0; round < opts.rounds; round++) {
      for (const [t, run] of running) {
        if (t.latencyOnly) continue;
        const seconds = short(t) ? opts.shortWrkSeconds : opts.wrkSeconds;
        const streams = Math.max(1, Math.round(opts.wrkConnections / opts.h2Sessions));
        const tool = h2(t) ? `h2load -c ${opts.h2Sessions} -m ${streams} -t 1 -D ${seconds}` : `wrk -c ${opts.wrkConnections} -t 1 -d ${seconds}s`;
        opts.log(`dataplane: ${t.name} max throughput (${tool}), round ${round + 1}/${opts.rounds}`);
        const cpu0 = run.proxies.map((p) => cpuSeconds(p.proc.pid));
        const samplers = run.proxies.map((p) => new RssSampler(p.proc.pid));
        try {
          const w = h2(t)
            ? await runH2load(tools.h2load.path, {
                port: run.port,
                kind: t.group as 'h2c' | 'grpc',
                sessions: opts.h2Sessions,
                streams,
                seconds,
                dir: opts.dir,
                grpcBody: grpcFrame(GRPC_REQUEST_MESSAGE),
                bodyBytes: t.group === 'grpc' ? GRPC_RESPONSE.length : 1024,
              })
            : await runWrk(tools.wrk.path, {
                port: run.port,
                host: run.generator?.host ?? ctx.host,
                ...(run.generator ? { address: run.generator.address, wrap: podWrap(run.generator.pod) } : {}),
                connections: opts.wrkConnections,
                threads: 1,
                seconds,
              });
          wrkRounds.set(t, [...(wrkRounds.get(t) ?? []), w]);
          opts.log(`  ${w.rps.toFixed(0)} req/s, errors ${w.errors}, non-2xx ${w.non2xx}`);
        } catch (e) {
          results.get(t)!.error = String((e as Error).message ?? e).slice(0, 2000);
        }
        const cpu1 = run.proxies.map((p) => cpuSeconds(p.proc.pid));
        const rss = samplers.map((s) => s.stop());
        const prevCpu = cpuAtMax.get(t) ?? run.proxies.map(() => 0);
        cpuAtMax.set(t, prevCpu.map((c, i) => c + cpu1[i] - cpu0[i]));
        const prevRss = rssAtMax.get(t) ?? run.proxies.map(() => 0);
        rssAtMax.set(t, prevRss.map((m, i) => Math.max(m, rss[i])));
      }
    }
    // New connections per second: after the saturation rounds, as its own phase.
    const connRates = await runConnRate(running, {
      wrkPath: tools.wrk.path,
      host: ctx.host,
      connections: opts.wrkConnections,
      seconds: opts.shortWrkSeconds,
      rounds: opts.rounds,
      log: opts.log,
    });
    for (const [t, c] of connRates) results.get(t)!.connRate = c;
    for (const [t, run] of running) {
      const r = results.get(t)!;
      const rounds = wrkRounds.get(t) ?? [];
      if (rounds.length) {
        r.maxRounds = rounds;
        r.max = [...rounds].sort((a, b) => a.rps - b.rps)[Math.floor((rounds.length - 1) / 2)];
      }
      const requestsAtMax = rounds.reduce((sum, w) => sum + w.requests, 0);
      r.latencyMerged = summarize(samples.get(t) ?? []);
      r.latency = medianOfRounds((r.openLoop ?? []).map((o) => o.latency), r.latencyMerged);
      r.serviceLatency = medianOfRounds((r.openLoop ?? []).map((o) => o.service), summarize(serviceSamples.get(t) ?? []));
      const reqs = reqsAtRate.get(t) ?? 0;
      r.proxies = run.proxies.map((p, i) => ({
        role: p.role,
        idleRssMiB: round(idle.get(t)![i] / MiB, 1),
        loadRssMiB: round(rssAtRate.get(t)![i] / MiB, 1),
        loadPrivateMiB: round(privateAtRate.get(t)![i] / MiB, 1),
        cpuPer1kAtRate: round(cpuAtRate.get(t)![i] / (reqs / 1000), 4),
        cpuPer1kAtMax: requestsAtMax ? round(cpuAtMax.get(t)![i] / (requestsAtMax / 1000), 4) : NaN,
        maxRssMiB: round(rssAtMax.get(t)![i] / MiB, 1),
      }));
    }
    const minus = (a: Percentiles, b: Percentiles) => ({ p50: round(a.p50 - b.p50), p90: round(a.p90 - b.p90), p99: round(a.p99 - b.p99) });
    for (const r of results.values()) {
      const direct = [...results.values()].find((d) => d.name === (r.baseline ?? 'direct'));
      if (!r.latency || !direct?.latency || r.latency.count === 0) continue;
      r.added = minus(r.latency, direct.latency);
      if (r.serviceLatency && direct.serviceLatency) r.addedService = minus(r.serviceLatency, direct.serviceLatency);
    }
  } finally {
    for (const run of running.values()) await Promise.all(run.all.map((p) => p.stop()));
    for (const g of podLoadgens.values()) await g.stop();
    if (captureNet) await (await captureNet.catch(() => undefined))?.destroy();
    await loadgen.stop();
    await backend.stop();
  }
  const { log: _log, dir: _dir, weftBin: _w, nodeArgs: _n, ...config } = opts;
  return { config, tools, rows: [...results.values()] };
}
