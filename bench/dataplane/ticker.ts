// Worker thread that wakes the load generator at each intended send time. Node's timers have
// 1 ms granularity, which at 1,000 rps would smear every sample by up to a millisecond;
// Atomics.wait sleeps with sub-millisecond precision without spinning a core.
import { parentPort, workerData } from 'node:worker_threads';

interface TickerData {
  /** process.hrtime-based start, in ns (as a Number: exact below 2^53). */
  startNs: number;
  intervalNs: number;
  count: number;
}

const { startNs, intervalNs, count } = workerData as TickerData;
const cell = new Int32Array(new SharedArrayBuffer(4));
const nowNs = (): number => Number(process.hrtime.bigint());

for (let i = 0; i < count; i++) {
  const due = startNs + i * intervalNs;
  const waitMs = (due - nowNs()) / 1e6;
  if (waitMs > 0) Atomics.wait(cell, 0, 0, waitMs);
  parentPort?.postMessage(i);
}
parentPort?.postMessage(-1);
