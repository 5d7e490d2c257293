// `weft demo`: the control plane and one sidecar per workload as real processes, the sample app and a
// traffic generator in this process, and a live table of what the callers see.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOOKINFO, callService, closeApps, startApp, type AppSpec } from './apps.js';
import { render } from './display.js';
import { EdgeLatencyWatch } from './edge-latency.js';
import { EdgeWatch, renderEdges } from './edges.js';
import { prepareDemoIdentity } from './identity.js';
import { Stats } from './stats.js';
import { terminate } from './terminate.js';
import { applyScenario, clearScenarioFiles, destinationRules, SCENARIO_KEYS, type AppKnobs, type Scenario } from './scenarios.js';
import type { ProxyStatus } from '../controlplane/xds/server.js';
import { isSynced } from '../controlplane/xds/sync-state.js';

const weftBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/weft.js');

export interface DemoOptions {
  dir?: string;
  basePort: number;
  rps: number;
  autoSplit: boolean;
  durationSeconds?: number;
  /** A live scenario to switch to once traffic flows (instead of the 90/10 split). */
  scenario?: Scenario;
  out?: NodeJS.WriteStream;
}

interface Workload extends AppSpec {
  appPort: number;
  outboundPort: number;
  inboundPort: number;
  adminPort: number;
  /** /stats/prometheus (Istio's 15020, one per sidecar here since they share the host). */
  telemetryPort: number;
}

export const reviewsSplit = (v1: number, v2: number) => `# Edit the weights (they should add up to 100) and save: the demo's table moves within a second.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - route:
    - destination:
        host: reviews
        subset: v1
      weight: ${v1}
    - destination:
        host: reviews
        subset: v2
      weight: ${v2}
`;

export async function runDemo(opts: DemoOptions): Promise<void> {
  const out = opts.out ?? process.stdout;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'weft-demo-'));
  const configDir = path.join(dir, 'config');
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(configDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });
  fs.writeFileSync(path.join(configDir, 'destination-rules.yaml'), destinationRules('none'));
  clearScenarioFiles(configDir);
  const knobs: AppKnobs = { failing: new Set(), burst: 0 };
  const reviewsFile = path.join(configDir, 'reviews.yaml');
  fs.rmSync(reviewsFile, { force: true });

  const xdsPort = opts.basePort;
  const monitorPort = opts.basePort + 1;
  const workloads: Workload[] = [...BOOKINFO, { service: 'loadgen', version: 'v1', calls: ['productpage'] }].map((spec, i) => {
    const p = opts.basePort + 10 + i * 10;
    return { ...spec, appPort: p, outboundPort: p + 1, inboundPort: p + 2, adminPort: p + 3, telemetryPort: p + 4 };
  });

  const children: ChildProcess[] = [];
  const servers: http.Server[] = [];
  const stats = new Stats();
  let message = 'starting…';
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];

  const stop = async (code: number) => {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearInterval(t);
    closeApps(servers);
    await Promise.all(children.map((c) => terminate(c, 2000)));
    out.write(`\nweft demo stopped; every process it started has exited. Logs: ${logDir}\n`);
    process.exitCode = code;
  };
  const onSignal = () => void stop(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const launch = (name: string, args: string[]) => {
    const log = fs.openSync(path.join(logDir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [weftBin, ...args], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    children.push(child);
    child.on('exit', (code, signal) => {
      if (!stopped) message = `${name} exited (${signal ?? code}); see ${path.join(logDir, `${name}.log`)}`;
    });
  };

  try {
    // Every sidecar proves its service account with a token and talks xDS over mTLS (secure port only).
    const identity = await prepareDemoIdentity(dir);
    const secureXdsPort = opts.basePort + 2;
    launch('control-plane', [
      'control-plane', '--config-dir', configDir, '--xds-address', `127.0.0.1:${xdsPort}`, '--monitor-address', `127.0.0.1:${monitorPort}`, '--debounce-ms', '50',
      '--ca-dir', identity.caDir, '--secure-xds-port', String(secureXdsPort), '--plaintext-xds=false', '--webhook-port', '0',
    ]);
    // Sidecars start once the CA answers, so none of them spends the demo's first seconds in backoff.
    await controlPlaneReady(monitorPort, () => stopped);
    for (const w of workloads) {
      if (w.service !== 'loadgen') servers.push(await startApp(w, w.appPort, { mode: 'explicit', outboundPort: w.outboundPort }, stats, knobs));
      const serviceAccount = `bookinfo-${w.service}`;
      launch(`${w.service}-${w.version}`, [
        'proxy', '--xds-address', `127.0.0.1:${secureXdsPort}`, '--service', w.service, '--labels', `app=${w.service},version=${w.version}`,
        '--token-file', await identity.tokenFile(serviceAccount), '--ca-root-file', identity.rootFile,
        '--service-account', serviceAccount, '--app-port', String(w.appPort), '--service-port', '9080',
        '--outbound-port', String(w.outboundPort), '--inbound-port', String(w.inboundPort), '--admin-port', String(w.adminPort),
        '--telemetry-port', String(w.telemetryPort),
      ]);
    }
  } catch (err) {
    out.write(`weft demo: cannot start: ${(err as Error).message} (is port ${opts.basePort} in use? try --base-port)\n`);
    await stop(1);
    return;
  }

  // Traffic starts once every sidecar has ACKed its first config, so the table shows the mesh, not its boot.
  const loadgen = workloads[workloads.length - 1];
  const startedAt = Date.now();
  let counters = '';
  const edges = new EdgeWatch(workloads);
  const latency = new EdgeLatencyWatch(workloads);
  const edgeLines = () => renderEdges(edges.list(), (from, to) => latency.of(from, to));
  const paint = () =>
    out.write(render({ rows: stats.rows(), dir, configDir, monitorPort, message, counters, edges: edgeLines(), uptimeSeconds: (Date.now() - startedAt) / 1000, tty: out.isTTY === true }));
  timers.push(setInterval(paint, 1000));
  if (opts.durationSeconds !== undefined) timers.push(setTimeout(() => void stop(0), opts.durationSeconds * 1000));
  while (!stopped) {
    const synced = await syncedProxies(monitorPort);
    message = `starting: ${synced}/${workloads.length} sidecars have their config…`;
    if (synced === workloads.length) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (stopped) return;
  timers.push(
    setInterval(() => {
      for (let i = 0; i < opts.rps / 10; i++)
        void callService({ mode: 'explicit', outboundPort: loadgen.outboundPort }, 'productpage', '/productpage').then((r) => stats.record('productpage', r.version, r.status));
    }, 100),
  );
  message = `steer it yourself: edit ${reviewsFile}`;
  // Bursts for the breaker scenario, on top of the steady rate.
  timers.push(
    setInterval(() => {
      for (let i = 0; i < knobs.burst; i++)
        void callService({ mode: 'explicit', outboundPort: loadgen.outboundPort }, 'productpage', '/productpage').then((r) => stats.record('productpage', r.version, r.status));
    }, 1000),
  );
  const switchTo = (s: Scenario) => {
    message = applyScenario(s, configDir, knobs, (fn, ms) => timers.push(setTimeout(fn, ms)));
  };
  const productpage = workloads.find((w) => w.service === 'productpage')!;
  timers.push(setInterval(() => void meshCounters(productpage.adminPort).then((c) => (counters = c)), 1000));
  // One poll at a time: a slow sidecar must not stack requests up on a busy machine.
  let polling = false;
  timers.push(
    setInterval(() => {
      if (polling) return;
      polling = true;
      void Promise.all([edges.poll(), latency.poll()]).finally(() => (polling = false));
    }, 1000),
  );
  if (out.isTTY && process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on('data', (d: Buffer) => {
      const key = d.toString();
      if (key === '\u0003') return void stop(0); // Ctrl-C in raw mode
      const s = SCENARIO_KEYS[key];
      if (s) switchTo(s);
    });
  }
  if (opts.scenario) timers.push(setTimeout(() => switchTo(opts.scenario!), 6000));
  else if (opts.autoSplit)
    timers.push(
      setTimeout(() => {
        fs.writeFileSync(reviewsFile, reviewsSplit(90, 10));
        message = `wrote a 90/10 v1/v2 split to ${reviewsFile} — edit its weights and save to steer traffic`;
      }, 6000),
    );
}

/** What productpage's sidecar counted for its calls to reviews: circuit-breaker overflows and ejections. */
async function meshCounters(adminPort: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/stats?format=json`);
    const body = (await res.json()) as { stats: { name: string; value: number }[] };
    let overflow = 0;
    let ejections = 0;
    for (const { name, value } of body.stats) {
      if (!name.includes('reviews')) continue;
      if (name.endsWith('upstream_rq_pending_overflow') || name.endsWith('upstream_cx_overflow')) overflow += value;
      if (name.endsWith('ejections_enforced_total')) ejections += value;
    }
    return `productpage → reviews: ${overflow} circuit-breaker overflows (UO), ${ejections} outlier ejections`;
  } catch {
    return '';
  }
}

/** How many proxies have ACKed every type they were sent, per the control plane's /debug/syncz. */
async function controlPlaneReady(monitorPort: number, stopped: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!stopped()) {
    try {
      if ((await fetch(`http://127.0.0.1:${monitorPort}/ready`)).ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error('the control plane is not ready after 30 s; see its log');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function syncedProxies(monitorPort: number): Promise<number> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/debug/syncz`);
    const body = (await res.json()) as { proxies: ProxyStatus[] };
    return body.proxies.filter(isSynced).length;
  } catch {
    return 0;
  }
}

