// A control plane, two versions of a plain gRPC echo service (registered by WorkloadEntry under a
// MESH_INTERNAL ServiceEntry) and a real proxyless gRPC client in a child process, all on loopback.
// No sidecar on the gRPC path: the client's xDS resolver talks to the control plane directly.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { proxylessBootstrap } from '../../src/api/grpc-bootstrap.js';
import { startEchoServer, type EchoServer } from './grpc-echo.js';
import { freePorts, spawnWeft, stopAll, waitFor, type Proc } from './processes.js';

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
  procs: Proc[];
  /** `calls` sequential unary calls to `target` from the proxyless client. */
  call(target: string, calls: number, metadata?: Record<string, string>): Promise<CallResult>;
  /** Replace the routing config file (VirtualService and DestinationRule). */
  setRouting(yaml: string): void;
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

export async function startProxylessMesh(routing: string): Promise<ProxylessMesh> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-proxyless-'));
  const [xds, monitor, p1, p2] = await freePorts(4);
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
    procs.push(spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', `127.0.0.1:${xds}`, '--monitor-address', `127.0.0.1:${monitor}`, '--debounce-ms', '20']));
    servers.push(await startEchoServer('v1', p1), await startEchoServer('v2', p2));
    await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${monitor}/ready`)).ok, 15_000, procs);
    const bootstrap = proxylessBootstrap({ service: 'echo-client', namespace: 'default', xdsAddress: `127.0.0.1:${xds}` });
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'proxyless-client.js');
    client = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) } });
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
    setRouting: (yaml) => fs.writeFileSync(routingFile, yaml),
    stop,
  };
}
