// Open-loop load generator, run in its own process (forked by the harness, driven over IPC).
// Requests follow a fixed schedule (one every 1/rps seconds) whatever the server does, and each
// latency is measured from the request's scheduled send time, so a stall shows up as the latency
// of every request it delayed (no coordinated omission, as in wrk2). A pool of keep-alive
// connections carries the requests; a request waits in a queue only if every connection is busy.
// Three clocks per request: intended (the schedule), enqueued (when the generator woke up to send
// it: the schedule plus this VM's occasional 1-3 ms late wake-up, which is no proxy's doing) and
// written (after any wait for a free connection, which IS the proxies' doing). The headline
// latency runs from enqueued; from intended and from written are kept for comparison.
import { Worker } from 'node:worker_threads';
import { Http1Connection, getRequest, type ConnectionCallbacks, type LoadConnection } from './http1.js';
import { H2SessionPool, H2Slot, h2Request, GRPC_REQUEST_MESSAGE } from './h2.js';
import { grpcFrame } from './peers.js';
import { summarize, type Percentiles } from '../lib/stats.js';

export interface LoadgenJob {
  port: number;
  /** Where to connect (HTTP/1.1 only; default 127.0.0.1): the capture rows call a pod or a service VIP. */
  address?: string;
  host: string;
  rps: number;
  durationMs: number;
  /** Requests in the first warmupMs are sent but not recorded. */
  warmupMs: number;
  /** Request slots (HTTP/1.1: connections; h2: streams in flight at most). */
  connections: number;
  /** Default http1. h2c and grpc multiplex the slots on `h2Sessions` sessions. */
  protocol?: 'http1' | 'h2c' | 'grpc';
  h2Sessions?: number;
}

export interface LoadgenResult {
  sent: number;
  completed: number;
  errors: number;
  non2xx: number;
  /** Latency from the generator's wake-up for the request (schedule + its own lateness), ms. */
  latency: Percentiles;
  /** Latency from the intended send time, ms: includes the generator's own wake-up lateness. */
  fromIntended: Percentiles;
  /** Latency from actual write to response, ms: what a closed-loop tool would report. */
  service: Percentiles;
  /** How late the generator's own wake-up was relative to schedule, ms: it should stay ≪ latency. */
  sendLag: Percentiles;
  /** Time requests waited for a free connection (all busy: the proxy stalled), ms. */
  queueWait: Percentiles;
  maxQueue: number;
  achievedRps: number;
  /** Raw `latency` samples, ms, so several rounds can be merged before taking percentiles. */
  samples: number[];
  /** Raw actual-write latencies, ms (the `service` samples). */
  serviceSamples: number[];
}

const nowNs = (): number => Number(process.hrtime.bigint());

export async function runLoad(job: LoadgenJob): Promise<LoadgenResult> {
  const protocol = job.protocol ?? 'http1';
  const request = getRequest(job.host);
  const pool = protocol === 'http1' ? undefined : new H2SessionPool(job.port, job.h2Sessions ?? 1);
  const h2req = protocol === 'http1' ? undefined : h2Request(protocol, job.host, grpcFrame(GRPC_REQUEST_MESSAGE));
  const connect = (slot: number, cb: ConnectionCallbacks): LoadConnection =>
    pool && h2req ? new H2Slot(pool, slot % pool.size, h2req, cb) : new Http1Connection(job.port, request, cb, job.address);
  const intervalNs = 1e9 / job.rps;
  const total = Math.round((job.rps * (job.warmupMs + job.durationMs)) / 1000);
  const warmCount = Math.round((job.rps * job.warmupMs) / 1000);
  const intended = new Float64Array(total);
  const written = new Float64Array(total);
  const enqueued = new Float64Array(total);
  const done = new Float64Array(total);
  let completed = 0;
  let errors = 0;
  let non2xx = 0;
  let maxQueue = 0;
  const queue: number[] = []; // indexes of due requests waiting for a free connection
  let qHead = 0;
  let nextDue = 0;
  let finishedTicks = false;

  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => (resolveAll = r));
  const checkDone = (): void => {
    if (finishedTicks && completed + errors >= nextDue) resolveAll();
  };

  const conns: LoadConnection[] = [];
  const inFlight = new Map<LoadConnection, number>();
  const dispatch = (): void => {
    for (const c of conns) {
      if (qHead >= queue.length) break;
      if (!c.idle || !c.isConnected) continue;
      const i = queue[qHead++];
      inFlight.set(c, i);
      written[i] = nowNs();
      c.send();
    }
    if (qHead > 4096 && qHead === queue.length) {
      queue.length = 0;
      qHead = 0;
    }
  };
  const open = (slot: number): void => {
    const c: LoadConnection = connect(slot, {
      onResponse(status) {
        const i = inFlight.get(c)!;
        inFlight.delete(c);
        done[i] = nowNs();
        completed++;
        if (status < 200 || status > 299) non2xx++;
        dispatch();
        checkDone();
      },
      onClose(_err, hadRequest) {
        if (hadRequest) {
          inFlight.delete(c);
          errors++;
        }
        // Replace a closed connection so the pool keeps its size (and the run its schedule).
        if (!stopping) setTimeout(() => open(slot), hadRequest ? 10 : 0);
        checkDone();
      },
    });
    conns[slot] = c;
  };
  let stopping = false;
  for (let s = 0; s < job.connections; s++) open(s);
  // Let the pool connect before the schedule starts.
  const t0 = Date.now();
  while (conns.some((c) => !c.isConnected) && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 5));

  const startNs = nowNs() + 2e6;
  for (let i = 0; i < total; i++) intended[i] = startNs + i * intervalNs;
  const ticker = new Worker(new URL('./ticker.js', import.meta.url), {
    workerData: { startNs, intervalNs, count: total },
  });
  ticker.on('message', (m: number) => {
    if (m < 0) {
      finishedTicks = true;
      checkDone();
      return;
    }
    // Everything due by now (the tick may arrive late if the event loop was busy).
    const now = nowNs();
    while (nextDue < total && intended[nextDue] <= now) {
      enqueued[nextDue] = now;
      queue.push(nextDue++);
    }
    maxQueue = Math.max(maxQueue, queue.length - qHead);
    dispatch();
  });

  const timeout = setTimeout(resolveAll, job.warmupMs + job.durationMs + 10_000);
  await allDone;
  clearTimeout(timeout);
  stopping = true;
  await ticker.terminate();
  for (const c of conns) c.destroy();
  pool?.destroy();

  const lat: number[] = [];
  const fromIntended: number[] = [];
  const svc: number[] = [];
  const lag: number[] = [];
  const wait: number[] = [];
  for (let i = warmCount; i < nextDue; i++) {
    if (!done[i]) continue;
    lat.push((done[i] - enqueued[i]) / 1e6);
    fromIntended.push((done[i] - intended[i]) / 1e6);
    svc.push((done[i] - written[i]) / 1e6);
    lag.push((enqueued[i] - intended[i]) / 1e6);
    wait.push((written[i] - enqueued[i]) / 1e6);
  }
  const measuredSpan = (intended[nextDue - 1] - intended[warmCount]) / 1e9;
  return {
    sent: nextDue,
    completed,
    errors,
    non2xx,
    latency: summarize(lat),
    fromIntended: summarize(fromIntended),
    service: summarize(svc),
    sendLag: summarize(lag),
    queueWait: summarize(wait),
    maxQueue,
    achievedRps: measuredSpan > 0 ? lat.length / measuredSpan : 0,
    samples: lat.map((v) => Math.round(v * 1000) / 1000),
    serviceSamples: svc.map((v) => Math.round(v * 1000) / 1000),
  };
}

// Child-process entry: one job per message, result sent back.
if (process.send) {
  process.on('message', (job: LoadgenJob) => {
    runLoad(job).then(
      (r) => process.send!({ ok: true, result: r }),
      (e: Error) => process.send!({ ok: false, error: String(e?.stack ?? e) }),
    );
  });
  process.send({ ready: true });
}
