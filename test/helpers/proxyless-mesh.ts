// A control plane, two versions of a plain gRPC echo service (registered by WorkloadEntry under a
// MESH_INTERNAL ServiceEntry) and a real proxyless gRPC client in a child process, all on loopback.
// No sidecar on the gRPC path: the client's xDS resolver talks to the control plane directly.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { startEchoServer, type EchoServer } from './grpc-echo.js';
import { freePorts, spawnWeft, stopAll, waitFor, weftBin, type Proc } from './processes.js';

export const ECHO_HOST = 'echo.default.svc.cluster.local';
export const ECHO_PORT = 7070;

export interface CallResult {
  counts: Record<string, number>;
  lastError: string;
}

export interface ProxylessMesh {
  dir: string;
  xds: number;
  monitor: number;
  v1: EchoServer;
  v2: EchoServer;
  /** With `weftProxy`: the outbound port of a `weft proxy` client served the same config. */
  proxyOutbound?: number;
  procs: Proc[];
  /** `calls` sequential unary calls to `target` from the proxyless client. */
  call(target: string, calls: number, metadata?: Record<string, string>): Promise<CallResult>;
  /** Replace the routing config file (VirtualService and DestinationRule) and wait until every
   * connected client was sent a new version of some type and acknowledged every type; resolves with the
   * milliseconds from the write to that point. */
  applyRouting(yaml: string): Promise<number>;
  stop(): Promise<void>;
}

/** The service and its two instances; routing comes from `setRouting`. */
export function serviceYaml(v1Port: number, v2Port: number): string {
  const entry = (v: string, port: number) => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-${v}, namespace: default }
spec: { address: 127.0.0.1, ports: { grpc: ${port} }, labels: { app: echo, version: ${v} } }
`;
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: default }
spec:
  hosts: [${ECHO_HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: ${ECHO_PORT}, name: grpc, protocol: GRPC }]
  workloadSelector: { labels: { app: echo } }
---
${entry('v1', v1Port)}---
${entry('v2', v2Port)}`;
}

interface Syncz {
  proxies: Array<{ id: string; types: Record<string, { sent: string | null; acked: string | null } | undefined> }>;
}
export const syncz = async (monitor: number): Promise<Syncz> => (await fetch(`http://127.0.0.1:${monitor}/debug/syncz`)).json() as Promise<Syncz>;
/** Every type the client subscribed to was acknowledged at the version last sent. */
export const synced = (p: Syncz['proxies'][number]): boolean =>
  Object.values(p.types).every((t) => t !== undefined && t.sent !== null && t.sent === t.acked);

export async function startProxylessMesh(routing: string, opts: { weftProxy?: boolean } = {}): Promise<ProxylessMesh> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-proxyless-'));
  const [xds, monitor, p1, p2, outbound, inbound, admin, app] = await freePorts(8);
  fs.writeFileSync(path.join(dir, 'service.yaml'), serviceYaml(p1, p2));
  const routingFile = path.join(dir, 'routing.yaml');
  fs.writeFileSync(routingFile, routing);
  const procs: Proc[] = [];
  const servers: EchoServer[] = [];
  let client: ChildProcess | undefined;
  const stop = async () => {
    client?.kill('SIGKILL');
    await stopAll(procs);
    await Promise.all(servers.map((s) => s.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    procs.push(spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${xds}`, '--monitor-address', `127.0.0.1:${monitor}`, '--debounce-ms', '20', '--startup-grace-ms', '0']));
    servers.push(await startEchoServer('v1', p1), await startEchoServer('v2', p2));
    await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, procs);
    if (opts.weftProxy) {
      procs.push(spawnWeft('proxy client', [
        'proxy', '--xds-address', `127.0.0.1:${xds}`, '--service', 'proxy-client', '--app-port', String(app),
        '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', String(admin),
      ]));
      await waitFor('weft proxy ready', async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).ok, 15_000, procs);
    }
    // What a user runs: `weft bootstrap --proxyless` (Istio's shape, no Weft metadata).
    const bootstrap = execFileSync(process.execPath, [weftBin, 'bootstrap', '--proxyless', '--service', 'echo-client', '--namespace', 'default', '--xds-address', `127.0.0.1:${xds}`], { encoding: 'utf8' });
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'proxyless-client.js');
    // PROXYLESS_CLIENT_LOG=<file> keeps the client's stderr (with GRPC_TRACE=xds_client,… for its xDS view).
    const stderr = process.env.PROXYLESS_CLIENT_LOG ? fs.openSync(process.env.PROXYLESS_CLIENT_LOG, 'w') : 'inherit';
    client = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', stderr], env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: bootstrap } });
  } catch (err) {
    await stop();
    throw err;
  }
  const lines = readline.createInterface({ input: client.stdout! });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (l) => waiting.shift()?.(l));
  const c = client;
  return {
    dir,
    xds,
    monitor,
    v1: servers[0],
    v2: servers[1],
    procs,
    ...(opts.weftProxy ? { proxyOutbound: outbound } : {}),
    call: (target, calls, metadata) =>
      new Promise<CallResult>((resolve, reject) => {
        const onExit = () => reject(new Error('proxyless client exited'));
        c.once('exit', onExit);
        waiting.push((line) => {
          c.off('exit', onExit);
          resolve(JSON.parse(line) as CallResult);
        });
        c.stdin!.write(JSON.stringify({ target, calls, metadata }) + '\n');
      }),
    applyRouting: async (yaml) => {
      const versions = (p: Syncz['proxies'][number]) => JSON.stringify(Object.values(p.types).map((t) => t?.sent));
      const before = new Map((await syncz(monitor)).proxies.map((p) => [p.id, versions(p)]));
      const start = performance.now();
      fs.writeFileSync(routingFile, yaml);
      await waitFor(
        'every client acknowledged the new routing',
        async () => {
          const { proxies } = await syncz(monitor);
          return proxies.length === before.size && proxies.every((p) => versions(p) !== before.get(p.id) && synced(p));
        },
        10_000,
        procs,
      );
      return performance.now() - start;
    },
    stop,
  };
}
