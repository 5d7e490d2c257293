// Turns one run's results into the targets verdict and the Markdown that goes to
// bench/results/<date>-<commit>.md and into bench/README.md.
import type { DataplaneResult, RowResult } from './dataplane/run.js';
import type { ControlplaneResult, StepResult } from './controlplane/run.js';
import { mtlsMd } from './report-mtls.js';
import { captureMd } from './report-capture.js';

export interface Target {
  name: string;
  goal: string;
  measured: string;
  status: 'pass' | 'fail' | 'n/a';
}

export interface BenchReport {
  date: string;
  commit: string;
  dirty: boolean;
  quick: boolean;
  machine: { nproc: number; cpuModel: string; memGiB: number; kernel: string; node: string };
  durationSeconds?: number;
  dataplane?: DataplaneResult;
  controlplane?: ControlplaneResult;
  targets: Target[];
  errors?: string[];
}

const f = (v: number | undefined, d = 3): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
/** a / b, or undefined when b is not a positive number (a negative "added" is measurement noise). */
const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0 ? undefined : a / b;
const row = (r: DataplaneResult | undefined, name: string): RowResult | undefined =>
  r?.rows.find((x) => x.name === name && x.status === 'ok');
const maxOf = (vals: number[]): number | undefined => (vals.length ? Math.max(...vals) : undefined);
/** Results saved before Delta existed have no protocol: they were state of the world. */
const protocolOf = (s: StepResult): string => s.protocol ?? 'sotw';
const protocolName = (s: StepResult): string => (protocolOf(s) === 'delta' ? 'Delta' : 'SotW');

export function evaluateTargets(rep: BenchReport): Target[] {
  const out: Target[] = [];
  const judge = (name: string, goal: string, measured: string, ok: boolean | undefined): void => {
    out.push({ name, goal, measured, status: ok === undefined ? 'n/a' : ok ? 'pass' : 'fail' });
  };
  const weft = row(rep.dataplane, 'weft');
  const hap = row(rep.dataplane, 'haproxy');
  const wp99 = weft?.added?.p99;
  const hp99 = hap?.added?.p99;
  // HAProxy's added p99 can be ~0 on a quiet machine; compare against at least 0.05 ms.
  const limit = hp99 === undefined ? undefined : Math.max(1.5 * hp99, 0.05);
  judge(
    'pair added p99 vs HAProxy',
    '≤ 1.5× HAProxy pair',
    `${f(wp99)} ms vs HAProxy ${f(hp99)} ms (${f(ratio(wp99, hp99), 2)}×)`,
    wp99 === undefined || limit === undefined ? undefined : wp99 <= limit,
  );
  judge('pair added p99', '≤ 0.5 ms at 1,000 rps', `${f(wp99)} ms`, wp99 === undefined ? undefined : wp99 <= 0.5);
  const cpu = maxOf(weft?.proxies?.map((p) => p.cpuPer1kAtRate) ?? []);
  judge('CPU per sidecar', '≤ 0.2 vCPU per 1,000 rps', `${f(cpu)} vCPU (busier sidecar)`, cpu === undefined ? undefined : cpu <= 0.2);
  const rss = maxOf(weft?.proxies?.map((p) => p.loadRssMiB) ?? []);
  const priv = maxOf(weft?.proxies?.flatMap((p) => (p.loadPrivateMiB === undefined ? [] : [p.loadPrivateMiB])) ?? []);
  judge(
    'RSS per sidecar',
    '≤ 50 MiB at 1,000 rps',
    `${f(rss, 1)} MiB (larger sidecar${priv === undefined ? '' : `; ${f(priv, 1)} MiB of it private`})`,
    rss === undefined ? undefined : rss <= 50,
  );
  const tput = ratio(weft?.max?.rps, hap?.max?.rps);
  judge(
    'max throughput of the pair',
    '≥ 0.5× HAProxy pair',
    `${f(weft?.max?.rps, 0)} vs ${f(hap?.max?.rps, 0)} req/s (${f(tput, 2)}×)`,
    tput === undefined ? undefined : tput >= 0.5,
  );
  // The targets are judged on Weft's default protocol (Delta); the SotW figure is given alongside.
  const bigSteps = rep.controlplane?.steps.filter((s) => s.plan.proxies === 2000) ?? [];
  const big = bigSteps.find((s) => protocolOf(s) === 'delta');
  const sotw = bigSteps.find((s) => protocolOf(s) === 'sotw');
  const bigOk = big?.status === 'ok' ? big : undefined;
  const rssMax = maxOf(bigSteps.flatMap((s) => (s.rssMiB ? [s.rssMiB.max] : [])));
  judge(
    'control plane RSS, 1,000 services + 2,000 proxies',
    '≤ 1 GiB',
    bigSteps.length ? `${f(rssMax, 0)} MiB max (${bigSteps.map((s) => `${protocolName(s)} ${f(s.rssMiB?.max, 0)}${s.status === 'failed' ? ', step failed' : ''}`).join(', ')})` : 'not run',
    bigSteps.length ? bigSteps.every((s) => s.status === 'ok') && rssMax !== undefined && rssMax <= 1024 : undefined,
  );
  const p99 = bigOk?.configChange?.lastAck.p99;
  const sotwP99 = sotw?.status === 'ok' ? `; SotW ${f(sotw.configChange?.lastAck.p99, 0)} ms` : '';
  judge(
    'config change to every proxy (2,000)',
    '≤ 1 s p99',
    big ? (p99 !== undefined ? `${f(p99, 0)} ms p99 (Delta${sotwP99})` : `step failed: ${big.error?.split('\n')[0] ?? ''}`) : 'not run',
    p99 !== undefined && bigOk?.configChange?.samples.every((s) => !s.timedOut) ? p99 <= 1000 : big ? false : undefined,
  );
  return out;
}

function dataplaneMd(dp: DataplaneResult): string[] {
  const capture = captureMd(dp);
  // `--rows capture` alone: only its table (its rows run in namespaces, not on loopback).
  if (dp.rows.every((r) => groupOf(r) === 'capture')) return capture;
  const hap = row(dp, 'haproxy');
  const direct = row(dp, 'direct');
  const c = dp.config;
  const lines = [
    '## Data plane',
    '',
    `Client → client-side proxy → server-side proxy → nginx (\`return 200\`, 1 KiB body), HTTP/1.1 keep-alive, loopback. ` +
      `Latency: open loop at ${c.rps} rps over ${c.openLoopConnections} connections, ${c.rounds} × ${c.seconds} s per row (rows interleaved${c.rounds >= 3 ? '; each percentile is the median over rounds' : ''}), ` +
      `measured from each request's scheduled send time (counting any wait for a free connection; see bench/README.md); "added" is the row's percentile minus the direct row's. ` +
      `Max throughput: \`wrk -t 1 -c ${c.wrkConnections} -d ${c.wrkSeconds}s\`${c.rounds > 1 ? `, the median of ${c.rounds} interleaved rounds` : ''}. CPU is utime+stime per 1,000 requests ` +
      `(= vCPU at 1,000 rps); RSS (VmRSS) from /proc/<pid>/status, and in brackets its private part at 1,000 rps (RssAnon: what each further copy of the same program costs; the rest is the executable's pages, shared by every copy on the machine). Ratios are to the HAProxy pair in the same run.`,
    '',
    `Direct (no proxy): p50 ${f(direct?.latency?.p50)} ms, p90 ${f(direct?.latency?.p90)} ms, p99 ${f(direct?.latency?.p99)} ms, max ${f(direct?.max?.rps, 0)} req/s. ` +
      `The generator's own wake-up lateness (p99 up to ${f(maxOf(dp.rows.flatMap((r) => r.openLoop?.map((o) => o.sendLag.p99) ?? [])))} ms in this run) is excluded; ` +
      `the last column gives added p99 measured from the actual write as a cross-check.`,
    '',
    '| pair | added p50 ms | added p90 ms | added p99 ms | p99 vs HAProxy | max req/s | vs HAProxy | CPU s/1k req client / server (at max) | RSS MiB idle → 1k rps [private] → max, client / server | added p99 from write ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |',
  ];
  for (const r of dp.rows) {
    if (r.name === 'direct' || groupOf(r) !== 'http1') continue;
    if (r.status !== 'ok') {
      lines.push(`| ${r.name} | ${r.status}: ${(r.error ?? '').split('\n')[0].replace(/\|/g, '/')} | | | | | | | | |`);
      continue;
    }
    const px = r.proxies ?? [];
    const cpu = px.map((p) => `${f(p.cpuPer1kAtRate)} (${f(p.cpuPer1kAtMax)})`).join(' / ');
    const rss = px
      .map((p) => `${f(p.idleRssMiB, 1)} → ${f(p.loadRssMiB, 1)}${p.loadPrivateMiB === undefined ? '' : ` [${f(p.loadPrivateMiB, 1)}]`} → ${f(p.maxRssMiB, 1)}`)
      .join(' / ');
    lines.push(
      `| ${r.name} | ${f(r.added?.p50)} | ${f(r.added?.p90)} | ${f(r.added?.p99)} | ${f(ratio(r.added?.p99, hap?.added?.p99), 2)}× | ` +
        `${f(r.max?.rps, 0)} | ${f(ratio(r.max?.rps, hap?.max?.rps), 2)}× | ${cpu} | ${rss} | ${f(r.addedService?.p99)} |`,
    );
  }
  const problems = dp.rows.flatMap((r) =>
    (r.openLoop ?? [])
      .filter((o) => o.errors || o.non2xx || o.completed < o.sent)
      .map((o) => `${r.name}: ${o.errors} errors, ${o.non2xx} non-2xx, ${o.sent - o.completed} unanswered of ${o.sent}`),
  );
  const wrkProblems = dp.rows.filter((r) => r.max && (r.max.errors || r.max.non2xx)).map((r) => `${r.name} (${r.group === 'h2c' || r.group === 'grpc' ? 'h2load' : 'wrk'}, median round): ${r.max!.errors} socket errors, ${r.max!.non2xx} non-2xx or short`);
  if (problems.length || wrkProblems.length) lines.push('', 'Warnings: ' + [...problems, ...wrkProblems].join('; '));
  lines.push('', `Peers: ${Object.values(dp.tools).map((t) => t.version).join('; ')}.`);
  if (dp.rows.some((r) => groupOf(r) !== 'http1' && !r.name.endsWith('-direct'))) lines.push('', ...protocolRowsMd(dp));
  const mtls = mtlsMd(dp);
  if (mtls.length) lines.push('', ...mtls);
  if (capture.length) lines.push('', ...capture);
  return lines;
}

/** Results saved before the h2c/gRPC/TCP rows have no group: they were all HTTP/1.1. */
const groupOf = (r: RowResult): string => r.group ?? 'http1';

const GROUP_TITLES: Record<string, string> = {
  h2c: 'HTTP/2 (h2c) on every hop',
  grpc: 'gRPC unary over h2c on every hop',
  tcp: 'TCP (`tcp_proxy` / HAProxy `mode tcp`) carrying the HTTP/1.1 rows\' traffic',
};

/** One table per protocol group, each row against that group's HAProxy pair and direct baseline. */
function protocolRowsMd(dp: DataplaneResult): string[] {
  const c = dp.config;
  const s = c.shortSeconds ?? c.seconds;
  const sessions = c.h2Sessions ?? 4;
  const streams = Math.max(1, Math.round(c.wrkConnections / sessions));
  const lines = [
    '## Data plane: h2c, gRPC, TCP',
    '',
    `Same chain, backend and open loop as above (${c.rps} rps, ${c.openLoopConnections} requests in flight at most, measured from the scheduled send; ${c.rounds} × ${s} s per row after ${c.shortWarmupSeconds ?? c.warmupSeconds} s of warm-up, rows interleaved), ` +
      `in shorter rounds so the three groups add about three minutes to a run. h2c and gRPC: the generator's slots are streams multiplexed on ${sessions} node:http2 sessions; ` +
      `max throughput \`h2load -t 1 -c ${sessions} -m ${streams} -D ${c.shortWrkSeconds ?? c.wrkSeconds}\` (${streams * sessions} streams in flight, as wrk's ${c.wrkConnections} connections). ` +
      'The backend is the same nginx, on an h2c port (`return 200`, 1 KiB) and a gRPC port (a unary method answering a 1 KiB frame, `grpc-status: 0` in trailers; each row is first checked with a real `@grpc/grpc-js` call). ' +
      'The gRPC request is a 64-byte message, POST with `content-type: application/grpc` and `te: trailers`; the generator counts a call as failed unless `grpc-status` is 0. ' +
      'TCP rows carry the HTTP/1.1 requests as opaque bytes (one upstream connection per downstream connection), driven by the HTTP/1.1 tools and measured against the HTTP/1.1 direct row. ' +
      'The Weft pairs here take their listeners and clusters from a fixed ADS server (`bench/dataplane/static-xds.ts`), not the control plane. Ratios are to the HAProxy pair of the same group in the same run.',
  ];
  for (const group of ['h2c', 'grpc', 'tcp']) {
    const rows = dp.rows.filter((r) => groupOf(r) === group);
    if (!rows.length) continue;
    const hap = row(dp, `${group}-haproxy`);
    const base = row(dp, rows[0].baseline ?? 'direct');
    lines.push(
      '',
      `### ${GROUP_TITLES[group]}`,
      '',
      `Direct (\`${base?.name ?? '?'}\`): p50 ${f(base?.latency?.p50)} ms, p90 ${f(base?.latency?.p90)} ms, p99 ${f(base?.latency?.p99)} ms.`,
      '',
      '| pair | added p50 ms | added p90 ms | added p99 ms | p99 vs HAProxy | max req/s | vs HAProxy | CPU s/1k req client / server (at max) | RSS MiB at 1k rps → max, client / server |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    );
    for (const r of rows) {
      if (r.name.endsWith('-direct')) continue;
      if (r.status !== 'ok') {
        lines.push(`| ${r.name} | ${r.status}: ${(r.error ?? '').split('\n')[0].replace(/\|/g, '/')} | | | | | | | |`);
        continue;
      }
      const px = r.proxies ?? [];
      lines.push(
        `| ${r.name} | ${f(r.added?.p50)} | ${f(r.added?.p90)} | ${f(r.added?.p99)} | ${f(ratio(r.added?.p99, hap?.added?.p99), 2)}× | ` +
          `${f(r.max?.rps, 0)} | ${f(ratio(r.max?.rps, hap?.max?.rps), 2)}× | ${px.map((p) => `${f(p.cpuPer1kAtRate)} (${f(p.cpuPer1kAtMax)})`).join(' / ')} | ` +
          `${px.map((p) => `${f(p.loadRssMiB, 1)} → ${f(p.maxRssMiB, 1)}`).join(' / ')} |`,
      );
    }
  }
  return lines;
}

function stepCells(s: StepResult): string {
  const cc = s.configChange;
  const mib = (b: number | undefined): string => (b === undefined ? '—' : (b / 1024 / 1024).toFixed(1));
  const avgBytes = cc ? cc.samples.reduce((a, x) => a + x.bytes, 0) / cc.samples.length : undefined;
  const avgCpu = cc ? cc.samples.reduce((a, x) => a + x.cpuSeconds, 0) / cc.samples.length : undefined;
  const complete = (x: { updated: number; expected: number } | undefined): string => (x && x.updated < x.expected ? ` (${x.updated}/${x.expected})` : '');
  return [
    s.plan.proxies,
    protocolName(s),
    s.plan.services,
    s.plan.endpoints,
    s.status === 'ok' ? f(s.syncSeconds, 1) : `failed: ${(s.error ?? '').split('\n')[0].replace(/\|/g, '/')}`,
    f(s.syncCpuSeconds, 1),
    cc ? `${f(cc.lastAck.p50, 0)} / ${f(cc.lastAck.p99, 0)}${cc.samples.some((x) => x.updated < x.expected) ? ' (incomplete)' : ''}` : '—',
    cc ? f(cc.medianAck.p50, 0) : '—',
    mib(avgBytes),
    f(avgCpu, 2),
    s.join ? `${f(s.join.lastAckMs, 0)}${complete(s.join)}` : '—',
    mib(s.join?.bytes),
    s.leave ? `${f(s.leave.lastAckMs - s.leave.graceMs, 0)}${complete(s.leave)}` : '—',
    s.rssMiB ? `${f(s.rssMiB.afterSync, 0)} / ${f(s.rssMiB.max, 0)}` : '—',
  ].join(' | ');
}

function controlplaneMd(cp: ControlplaneResult): string[] {
  return [
    '## Control plane',
    '',
    `Simulated proxies: real gRPC ADS streams (one HTTP/2 connection each) in ${cp.steps[0]?.workers ?? 1}–2 worker processes, ` +
      `wildcard CDS+LDS, then EDS/RDS for the names they reference, ACKing every response; on Delta (Weft's default) also VHDS for ` +
      `the route configuration and, on demand, the hosts each proxy calls (every service a change edits plus 9 random others). Each step has ` +
      `${cp.config.services} services and ${cp.config.endpoints} endpoints: proxies register P/4 services (4 instances each, P endpoints), ` +
      `the rest are ServiceEntries (MESH_INTERNAL, STATIC, inline endpoints). Config change: a new VirtualService file → ` +
      `the last proxy's ACK of the edited routes, RDS on SotW, VHDS on Delta (${cp.config.changes} changes per step; includes file watch and the ${cp.config.debounceMs} ms debounce). ` +
      `Endpoint join/leave: a proxy connects / disconnects → the last other proxy's EDS ACK (leave minus the ${cp.config.endpointGraceMs} ms grace period). ` +
      `Bytes: encoded (Delta)DiscoveryResponse sizes received by all proxies per change.`,
    '',
    '| proxies | xDS | services | endpoints | sync all s | sync CPU s | config change → last ACK ms p50 / p99 | → median proxy ms | MiB pushed / change | CPU s / change | endpoint join → last EDS ACK ms | MiB pushed / join | leave → last EDS ACK ms (after grace) | RSS MiB after sync / max |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...cp.steps.map((s) => `| ${stepCells(s)} |`),
    '',
    ...cp.steps.filter((s) => s.status === 'ok' && s.synczConsistent === false).map((s) => `Warning: /debug/syncz did not show every proxy ACKed at ${s.plan.proxies} proxies (${protocolName(s)}).`),
  ];
}

export function renderMarkdown(rep: BenchReport): string {
  const m = rep.machine;
  const lines = [
    `# Weft benchmark ${rep.date.slice(0, 10)} (${rep.commit}${rep.dirty && rep.commit !== 'uncommitted' ? ', uncommitted changes' : ''}${rep.quick ? ', --quick' : ''})`,
    '',
    `Machine: ${m.nproc} × ${m.cpuModel}, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}. Run took ${rep.durationSeconds ?? '?'} s.`,
    '',
  ];
  // A run of rows no target reads (e.g. `--rows capture`) has no Targets table.
  if (rep.targets.some((t) => t.status !== 'n/a')) {
    lines.push(
      '## Targets',
      '',
      '| target | goal | measured | |',
      '| --- | --- | --- | --- |',
      ...rep.targets.map((t) => `| ${t.name} | ${t.goal} | ${t.measured} | ${t.status === 'pass' ? 'PASS' : t.status === 'fail' ? 'FAIL' : 'n/a'} |`),
      '',
    );
  }
  if (rep.dataplane) lines.push(...dataplaneMd(rep.dataplane), '');
  if (rep.controlplane) lines.push(...controlplaneMd(rep.controlplane), '');
  if (rep.errors?.length) lines.push('## Errors', '', ...rep.errors.map((e) => `- ${e.split('\n')[0]}`), '');
  return lines.join('\n');
}
