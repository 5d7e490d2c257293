// The metrics hot path's cost, prom-client against Weft's own registry (src/proxy/telemetry/registry.ts):
// N request records counted (a counter and a histogram, 21 Istio labels, 50 distinct label sets), then one
// exposition of 1,000 series. `node dist/bench/telemetry/registry.js [N]`. Results: docs/observability.md.
import type * as PromClient from 'prom-client';
import { MetricRegistry, observe } from '../../src/proxy/telemetry/registry.js';
import { ISTIO_LABELS, DURATION_BUCKETS_MS } from '../../src/proxy/telemetry/istio-metrics.js';

// prom-client is only the comparison's peer (the proxy does not use it): loaded when the bench runs.
const client: typeof PromClient = await import('prom-client').catch(() => {
  throw new Error('bench/telemetry/registry: prom-client is not installed (npm install prom-client: the peer this bench compares against)');
});
const n = Number(process.argv[2] ?? 1_000_000);
const SETS = 50;
const labelSets = Array.from({ length: SETS }, (_, i) => Object.fromEntries(ISTIO_LABELS.map((l) => [l, `${l}-${i % 7}-${i}`])) as Record<string, string>);
const keys = labelSets.map((_, i) => `outbound|9080|v${i}|reviews|200|-`);

function time(what: string, fn: () => void): number {
  for (let i = 0; i < 3; i++) fn(); // warm-up
  const start = process.hrtime.bigint();
  fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  console.log(`${what}: ${ms.toFixed(1)} ms`);
  return ms;
}

// prom-client: the documented way, labels by object on each call.
const reg = new client.Registry();
const pc = new client.Counter({ name: 'istio_requests_total', help: 'r', labelNames: ISTIO_LABELS, registers: [reg] });
const ph = new client.Histogram({ name: 'istio_request_duration_milliseconds', help: 'd', labelNames: ISTIO_LABELS, buckets: [...DURATION_BUCKETS_MS], registers: [reg] });
const pcPerCall = time(`prom-client, ${n} records, labels per call`, () => {
  for (let i = 0; i < n / 4; i++) {
    const l = labelSets[i % SETS];
    pc.inc(l);
    ph.observe(l, i % 700);
  }
});
// prom-client with children cached (labels() once per set): its fastest form.
const pcChildren = labelSets.map((l) => ({ c: pc.labels(l), h: ph.labels(l) }));
const pcCached = time(`prom-client, ${n} records, cached children`, () => {
  for (let i = 0; i < n; i++) {
    const ch = pcChildren[i % SETS];
    ch.c.inc();
    ch.h.observe(i % 700);
  }
});

const mine = new MetricRegistry();
const wc = mine.counter('istio_requests_total', 'r', ISTIO_LABELS);
const wh = mine.histogram('istio_request_duration_milliseconds', 'd', ISTIO_LABELS, DURATION_BUCKETS_MS);
const cache = new Map<string, { c: ReturnType<typeof wc.child>; h: ReturnType<typeof wh.child> }>();
const weft = time(`weft registry, ${n} records, keyed cache`, () => {
  for (let i = 0; i < n; i++) {
    const k = keys[i % SETS];
    let s = cache.get(k);
    if (!s) {
      const values = ISTIO_LABELS.map((l) => labelSets[i % SETS][l]);
      cache.set(k, (s = { c: wc.child(k, values), h: wh.child(k, values) }));
    }
    s.c.value++;
    observe(wh, s.h, i % 700);
  }
});
console.log(`per record: prom-client labels-per-call ${((pcPerCall * 4 * 1e6) / n).toFixed(0)} ns, prom-client cached ${((pcCached * 1e6) / n).toFixed(0)} ns, weft ${((weft * 1e6) / n).toFixed(0)} ns`);

// Exposition of 1,000 series (counters: 1,000 label sets of one family).
const reg2 = new client.Registry();
const pc2 = new client.Counter({ name: 'istio_tcp_sent_bytes_total', help: 'b', labelNames: ISTIO_LABELS, registers: [reg2] });
const mine2 = new MetricRegistry();
const wc2 = mine2.counter('istio_tcp_sent_bytes_total', 'b', ISTIO_LABELS);
for (let i = 0; i < 1000; i++) {
  const l = Object.fromEntries(ISTIO_LABELS.map((x) => [x, `${x}-${i}`]));
  pc2.inc(l, i);
  wc2.child(String(i), ISTIO_LABELS.map((x) => l[x])).value += i;
}
let pcText = '';
const t0 = process.hrtime.bigint();
for (let i = 0; i < 20; i++) pcText = await reg2.metrics();
const pcExpo = Number(process.hrtime.bigint() - t0) / 1e6 / 20;
const t1 = process.hrtime.bigint();
let weftText = '';
for (let i = 0; i < 20; i++) {
  const out: string[] = [];
  mine2.render(out, false);
  weftText = out.join('');
}
const weftExpo = Number(process.hrtime.bigint() - t1) / 1e6 / 20;
console.log(`exposition of 1000 series: prom-client ${pcExpo.toFixed(2)} ms (${pcText.length} B), weft ${weftExpo.toFixed(2)} ms (${weftText.length} B)`);
