// An open-loop HTTP load for end-to-end tests: requests start on a fixed schedule (rate × elapsed
// time), whether or not earlier ones have answered, so a stall shows up as failures or latency
// instead of silently lowering the rate (a closed loop would just wait). Every request is counted:
// status 200 is a success, anything else (another status, a reset, a timeout) a failure, kept with
// what it was so a failing test can say.
import http from 'node:http';

export interface OpenLoopOptions {
  port: number;
  host: string;
  rps: number;
  /** How many requests in all: the run is bounded by count, not by a clock. */
  count: number;
  /** Every n-th request says `Connection: close`, so connections keep being re-made (0: never). */
  closeEvery: number;
  timeoutMs: number;
  /** Called once with the index of each request as it starts (to act at a point of the run). */
  onStart?: (index: number) => void;
}

export interface OpenLoopResult {
  sent: number;
  ok: number;
  failed: number;
  /** Failure descriptions ("503 UF upstream connect error", "ECONNRESET") with their counts. */
  failures: Map<string, number>;
  /** Index of each failed request, in the order they failed (where in the run the failures fall). */
  failedAt: number[];
  /** When the first request was due: request i was due about i / rps seconds later. */
  startedAt: Date;
  /** The slowest answer (ms) and which request it was: where a stall fell, for the diagnostic line. */
  slowest: { ms: number; index: number };
}

function one(agent: http.Agent, o: OpenLoopOptions, close: boolean): Promise<string | undefined> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { host: o.host };
    if (close) headers.connection = 'close';
    const req = http.request({ host: '127.0.0.1', port: o.port, path: '/', headers, agent, timeout: o.timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 ? undefined : `${res.statusCode} ${res.headers['x-weft-reason'] ?? ''} ${body.slice(0, 120)}`.trim()));
      res.on('error', (err) => resolve(`response: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${o.timeoutMs} ms`)));
    // Whether it went on a kept-alive connection tells a stale-socket race from a mesh failure.
    req.on('error', (err) => resolve(`request${req.reusedSocket ? ' (reused connection)' : ''}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    req.end();
  });
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const result: OpenLoopResult = { sent: 0, ok: 0, failed: 0, failures: new Map(), failedAt: [], startedAt: new Date(), slowest: { ms: 0, index: -1 } };
  const pending: Promise<void>[] = [];
  const start = performance.now();
  try {
    await new Promise<void>((done) => {
      // A 5 ms tick starts every request that is due by now: timers drift under load, the schedule does not.
      const tick = setInterval(() => {
        const due = Math.min(o.count, Math.floor(((performance.now() - start) * o.rps) / 1000));
        while (result.sent < due) {
          const i = result.sent++;
          o.onStart?.(i);
          const t0 = performance.now();
          pending.push(
            one(agent, o, o.closeEvery > 0 && i % o.closeEvery === o.closeEvery - 1).then((failure) => {
              const ms = performance.now() - t0;
              if (ms > result.slowest.ms) result.slowest = { ms: Math.round(ms), index: i };
              if (failure === undefined) return void result.ok++;
              result.failed++;
              result.failedAt.push(i);
              result.failures.set(failure, (result.failures.get(failure) ?? 0) + 1);
            }),
          );
        }
        if (result.sent === o.count) {
          clearInterval(tick);
          done();
        }
      }, 5);
    });
    await Promise.all(pending);
  } finally {
    agent.destroy();
  }
  return result;
}
