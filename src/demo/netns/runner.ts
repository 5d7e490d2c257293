// `weft demo --netns [--capture iptables|cni|ebpf]` (root): the bookinfo demo with every workload —
// the load generator too — in its own pod (network namespace and cgroup, src/demo/netns/pods.ts), its
// app calling http://<service>:9080 with no mesh awareness, its `weft proxy --mode transparent` beside
// it, capture by the chosen mode, and the control plane with its CA in the hub namespace. This process
// stays in the root namespace only to orchestrate: it makes no socket there and no rule; it reads the
// pods through processes it starts inside them (their outcome lines, their sidecars' stats).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BOOKINFO, SERVICE_PORT, type AppSpec } from '../apps.js';
import { render } from '../display.js';
import { EdgeWatch, renderEdges, type EdgeEnd, type StatsBody } from '../edges.js';
import { reviewsSplit } from '../runner.js';
import { destinationRules } from '../scenarios.js';
import { Stats } from '../stats.js';
import { ADMIN_PORT, MONITOR_PORT, PodMesh } from './mesh.js';
import { PodNet, type CaptureMode, type Pod } from './pods.js';

export const DEMO_PREFIX = 'weft-nsdemo-';

export interface NetnsDemoOptions {
  capture: CaptureMode;
  rps: number;
  autoSplit: boolean;
  durationSeconds?: number;
  out?: NodeJS.WriteStream;
}

/** What `weft demo --netns` does, for the message when it cannot (not root). */
export const NETNS_DEMO_PLAN =
  'it creates a network namespace per workload on a bridge made by the CNI plugins (198.18.0.0/24), a cgroup per pod, ' +
  'runs the control plane, each app and its sidecar (uid 1337) inside them, and captures traffic with iptables, weft-cni or eBPF';

/** Polls a sidecar's admin stats from inside its pod (outside the pod's cgroup: never captured), one JSON line a second. */
const STATS_WATCHER_JS = `setInterval(() => fetch('http://127.0.0.1:${ADMIN_PORT}/stats?format=json', { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).then((t) => process.stdout.write(JSON.stringify(JSON.parse(t)) + '\\n'), () => {}), 1000);`;

const app = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pod-app.js');

export async function runNetnsDemo(opts: NetnsDemoOptions): Promise<void> {
  const out = opts.out ?? process.stdout;
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-demo-netns-logs-'));
  const stats = new Stats();
  const timers: NodeJS.Timeout[] = [];
  let message = 'starting…';
  let net: PodNet | undefined;
  let stopped = false;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => (finished = resolve));
  const stop = async (code: number) => {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearInterval(t);
    await net?.destroy();
    out.write(`\nweft demo stopped; every process it started has exited and its namespaces, cgroups${opts.capture === 'ebpf' ? ', BPF programs and pins' : ''} are removed. Logs: ${logDir}\n`);
    process.exitCode = code;
    finished();
  };
  const onSignal = () => void stop(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const workloads: AppSpec[] = [...BOOKINFO, { service: 'loadgen', version: 'v1', calls: ['productpage'] }];
  const latest = new Map<string, StatsBody>();
  const ends: (EdgeEnd & { pod: string })[] = [];
  let mesh: PodMesh;
  try {
    net = await PodNet.create({ prefix: DEMO_PREFIX, capture: opts.capture, log: (l) => fs.appendFileSync(path.join(logDir, 'topology.log'), `${l}\n`) });
    const pods: Pod[] = [];
    for (const w of workloads) pods.push(await net.addPod(`${w.service}-${w.version}`));
    mesh = await PodMesh.start(net, { config: { 'destination-rules.yaml': destinationRules('none') }, logDir });
    message = 'starting: sidecars are getting their certificates and config…';
    await Promise.all(workloads.map((w, i) => mesh.sidecar(pods[i]!, { service: w.service, version: w.version, port: SERVICE_PORT })));
    await mesh.writeHosts(pods, [...new Set(workloads.map((w) => w.service))]);
    for (const [i, w] of workloads.entries()) {
      const pod = pods[i]!;
      const child = net.spawnIn(pod, process.execPath, [app, JSON.stringify({ service: w.service, version: w.version, calls: w.calls }), String(opts.rps)]);
      let buf = '';
      child.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) if (l.startsWith('[')) stats.record(...(JSON.parse(l) as [string, string, number]));
      });
      child.stderr!.pipe(fs.createWriteStream(path.join(logDir, `${pod.name}-app.log`)));
      const watcher = net.spawnIn(pod.ns, process.execPath, ['-e', STATS_WATCHER_JS]);
      let wbuf = '';
      watcher.stdout!.on('data', (b: Buffer) => {
        wbuf += b.toString();
        const lines = wbuf.split('\n');
        wbuf = lines.pop()!;
        if (lines.length) latest.set(pod.name, JSON.parse(lines.at(-1)!) as StatsBody);
      });
      ends.push({ service: w.service, calls: w.calls, adminPort: ADMIN_PORT, pod: pod.name });
    }
  } catch (err) {
    out.write(`weft demo --netns: cannot start: ${(err as Error).message}\n`);
    await stop(1);
    return done;
  }

  const startedAt = Date.now();
  const edges = new EdgeWatch(ends, async (end) => latest.get((end as EdgeEnd & { pod: string }).pod));
  const reviewsFile = path.join(mesh.configDir, 'reviews.yaml');
  message = `steer it yourself: edit ${reviewsFile}`;
  const paint = () =>
    out.write(
      render({
        rows: stats.rows(), dir: net.dir, configDir: mesh.configDir, monitorPort: MONITOR_PORT, message, edges: renderEdges(edges.list()),
        uptimeSeconds: (Date.now() - startedAt) / 1000, tty: out.isTTY === true,
        where: `in network namespaces, capture by ${opts.capture}: the apps call http://<service>:9080 and know nothing of the mesh`,
        syncHint: `ip netns exec ${net.hub} curl http://${net.gateway}:${MONITOR_PORT}/debug/syncz`,
      }),
    );
  timers.push(setInterval(paint, 1000));
  timers.push(setInterval(() => void edges.poll(), 1000));
  if (opts.durationSeconds !== undefined) timers.push(setTimeout(() => void stop(0), opts.durationSeconds * 1000));
  if (opts.autoSplit)
    timers.push(
      setTimeout(() => {
        fs.writeFileSync(reviewsFile, reviewsSplit(90, 10));
        message = `wrote a 90/10 v1/v2 split to ${reviewsFile} — edit its weights and save to steer traffic`;
      }, 6000),
    );
  return done;
}
