// A demo-like mesh for the metrics tests, all real processes on loopback:
//  - HTTP with mTLS: a secure `weft control-plane` (its CA) and two sidecars, productpage (v1)
//    calling reviews (v2, and with `reviewsV1` a second workload, reviews v1, for traffic splits), as
//    the zero-trust tests run them, each serving /stats/prometheus;
//  - TCP over mTLS: two sidecars driven by an in-test ADS server with tcp_proxy chains behind the
//    istio.stats network filter and SDS certificates from a test CA, both sides offering the TCP
//    peer exchange (ALPN weft-peer-exchange) as the control plane's chains and clusters do, a client (tcp-client v1) → server (tcp-echo v1) → an app that
//    answers a fixed number of bytes.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { toStruct } from '../../src/api/envoy.js';
import { PEER_EXCHANGE_ALPN } from '../../src/api/peer-metadata.js';
import { ISTIO_STATS_FILTER, ISTIO_STATS_TYPE_URL, ROOT_CA_SECRET, WORKLOAD_SECRET } from '../../src/api/mesh-names.js';
import { caSecret, certSecret, downstreamTls, upstreamTls } from '../proxy/helpers/tls-resources.js';
import { createTestCa, type Leaf } from './certs.js';
import { spawnSecureControlPlane } from './identity.js';
import { freePorts, stopAll, waitFor, type Proc } from './processes.js';
import { pairPorts, spawnPairSidecar, type PairPorts } from './secure-pair.js';
import { startSidecarProcess, type SidecarProcess } from './sidecar.js';
import { parseExposition, type Sample } from './prom-text.js';

export const TCP_RESPONSE_BYTES = 3000;
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const statsNetworkFilter = { name: ISTIO_STATS_FILTER, typed_config: { '@type': ISTIO_STATS_TYPE_URL } };

export interface MetricsMesh {
  p: PairPorts;
  /** Telemetry ports: productpage's, reviews' (v2), the TCP client's and server's; reviews v1's when started. */
  telemetry: Record<'productpage' | 'reviews' | 'tcpClient' | 'tcpServer', number> & { reviewsV1?: number };
  tcpClientPort: number;
  /** Headers the reviews app received, newest last. */
  appHeaders: http.IncomingHttpHeaders[];
  configDir: string;
  /** The mesh's scratch directory and its CA directory (more sidecars: spawnPairSidecar(mesh.p, dir, caDir, …)). */
  dir: string;
  caDir: string;
  procs: Proc[];
  stop(): Promise<void>;
}

/** GET /stats/prometheus of one sidecar, parsed. */
export async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/stats/prometheus`);
  if (!res.ok) throw new Error(`scrape :${port}: HTTP ${res.status}`);
  return parseExposition(await res.text());
}

function tcpListener(name: string, port: number, direction: string, cluster: string, transport?: object): object {
  const filters = [statsNetworkFilter, { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: name, cluster } }];
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    traffic_direction: direction,
    filter_chains: [{ filters, ...(transport ? { transport_socket: transport } : {}) }],
  };
}

function staticCluster(name: string, port: number, o: { workload?: string; transport?: object } = {}): object {
  const lb = { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } }, ...(o.workload ? { metadata: { filter_metadata: { istio: toStruct({ workload: o.workload }) } } } : {}) };
  return { name, type: 'STATIC', connect_timeout: { seconds: 1 }, load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [lb] }] }, ...(o.transport ? { transport_socket: o.transport } : {}) };
}

/** An app that reads until the client half-closes, then answers TCP_RESPONSE_BYTES and closes. */
function startTcpApp(port: number): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', () => {});
    s.on('end', () => s.end(Buffer.alloc(TCP_RESPONSE_BYTES, 0x61)));
    s.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** An app answering every request with `body`; `seen` collects the request headers. */
function startHttpApp(port: number, body: string, seen: http.IncomingHttpHeaders[]): Promise<http.Server> {
  const app = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => res.end(body));
  });
  return new Promise((resolve) => app.listen(port, '127.0.0.1', () => resolve(app)));
}

/** `meshConfig`: a mesh config (YAML) for the control plane (--mesh-config). */
export async function startMetricsMesh(o: { reviewsV1?: boolean; meshConfig?: string } = {}): Promise<MetricsMesh> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-metrics-'));
  const caDir = path.join(dir, 'ca');
  const procs: Proc[] = [];
  const p = await pairPorts();
  const [ppTel, rvTel, tcTel, tsTel, tcpApp, tcpServerIn, tcpClientOut] = await freePorts(7);
  const appHeaders: http.IncomingHttpHeaders[] = [];
  const apps = [await startHttpApp(p.app, 'reviews v2 says hi', appHeaders)];
  const v1 = o.reviewsV1 ? await freePorts(5) : undefined;
  if (v1) apps.push(await startHttpApp(v1[0], 'reviews v1 says hi', []));
  const tcpAppServer = await startTcpApp(tcpApp);
  const sidecars: SidecarProcess[] = [];
  const ca = createTestCa('weft-metrics');
  const echoLeaf = ca.leaf('tcp-echo');
  const stop = async () => {
    await stopAll(procs);
    await Promise.all(sidecars.map((s) => s.stop()));
    for (const a of apps) a.close();
    tcpAppServer.close();
    ca.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const meshFile = path.join(dir, 'mesh.yaml');
    if (o.meshConfig !== undefined) fs.writeFileSync(meshFile, o.meshConfig);
    await spawnSecureControlPlane(dir, caDir, { xds: p.xds, secure: p.secure, monitor: p.monitor }, procs, o.meshConfig !== undefined ? ['--mesh-config', meshFile] : []);
    procs.push(
      spawnPairSidecar(p, dir, caDir, 'reviews', p.rvOut, p.rvIn, p.rvAdmin, {}, ['--labels', 'app=reviews,version=v2', '--telemetry-port', String(rvTel)]),
      spawnPairSidecar(p, dir, caDir, 'productpage', p.ppOut, p.ppIn, p.ppAdmin, {}, ['--labels', 'app=productpage,version=v1', '--telemetry-port', String(ppTel)]),
    );
    if (v1) procs.push(spawnPairSidecar(p, dir, caDir, 'reviews', v1[1], v1[2], v1[3], { port: v1[0] }, ['--labels', 'app=reviews,version=v1', '--telemetry-port', String(v1[4])]));
    for (const admin of [p.rvAdmin, p.ppAdmin, ...(v1 ? [v1[3]] : [])]) await waitFor('sidecar ready', async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).ok, 30_000, procs);
    const identity = (svc: string) => ['--service', svc, '--labels', `app=${svc},version=v1`];
    const secrets = (leaf: Leaf) => [certSecret(WORKLOAD_SECRET, leaf), caSecret(ROOT_CA_SECRET, ca.root)];
    sidecars.push(
      await startSidecarProcess({
        secrets: secrets(echoLeaf),
        clusters: [staticCluster('inbound|9000||', tcpApp)],
        listeners: [tcpListener('virtualInbound', tcpServerIn, 'INBOUND', 'inbound|9000||', downstreamTls({ cert: WORKLOAD_SECRET, ca: ROOT_CA_SECRET, alpn: [PEER_EXCHANGE_ALPN] }))],
        args: [...identity('tcp-echo'), '--telemetry-port', String(tsTel)],
      }),
    );
    const upstream = upstreamTls({ cert: WORKLOAD_SECRET, ca: ROOT_CA_SECRET, sans: [echoLeaf.spiffeId], alpn: [PEER_EXCHANGE_ALPN] });
    sidecars.push(
      await startSidecarProcess({
        secrets: secrets(ca.leaf('tcp-client')),
        clusters: [staticCluster('outbound|9000||tcp-echo.default.svc.cluster.local', tcpServerIn, { workload: 'tcp-echo-v1;default;tcp-echo;v1;Kubernetes', transport: upstream })],
        listeners: [tcpListener('virtualOutbound', tcpClientOut, 'OUTBOUND', 'outbound|9000||tcp-echo.default.svc.cluster.local')],
        args: [...identity('tcp-client'), '--telemetry-port', String(tcTel)],
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    p,
    telemetry: { productpage: ppTel, reviews: rvTel, tcpClient: tcTel, tcpServer: tsTel, ...(v1 ? { reviewsV1: v1[4] } : {}) },
    tcpClientPort: tcpClientOut,
    appHeaders,
    configDir: path.join(dir, 'config'),
    dir,
    caDir,
    procs,
    stop,
  };
}

/** One TCP connection through the client sidecar: send `bytes`, half-close, read the answer to the end. */
export function tcpExchange(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`tcpExchange: no complete answer after 5 s (${got} bytes)`));
    }, 5000);
    s.on('connect', () => s.end(Buffer.alloc(bytes, 0x62)));
    s.on('data', (d: Buffer) => (got += d.length));
    s.on('end', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export interface Reply {
  status: number;
  /** The response flag from x-weft-reason ('' when none). */
  flags: string;
  headers: http.IncomingHttpHeaders;
}

/** GET reviews through productpage's sidecar (as productpage's app would). */
export function callReviews(mesh: MetricsMesh, agent: http.Agent, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: mesh.p.ppOut, path: '/reviews/1', agent, headers: { host: 'reviews:9080', ...headers }, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, flags: String(res.headers['x-weft-reason'] ?? '').split(' ')[0], headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** A VirtualService aborting every reviews call that carries `x-fault: abort` with a 503; the other
 * calls go to reviews, or with `split` to its subsets v1 and v2 by those weights (and a DestinationRule
 * naming the subsets by version). */
export function writeFaultVirtualService(mesh: MetricsMesh, split?: { v1: number; v2: number }): void {
  const to = (subset?: string) => `{ destination: { host: reviews${subset ? `, subset: ${subset}` : ''} } }`;
  const subsets = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }
---
`;
  const rest = split
    ? `  - route:
    - { destination: { host: reviews, subset: v1 }, weight: ${split.v1} }
    - { destination: { host: reviews, subset: v2 }, weight: ${split.v2} }
`
    : `  - route: [${to()}]
`;
  fs.writeFileSync(
    path.join(mesh.configDir, 'reviews-fault.yaml'),
    `${split ? subsets : ''}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-fault, namespace: default }
spec:
  hosts: [reviews]
  http:
  - match:
    - headers: { x-fault: { exact: abort } }
    fault: { abort: { httpStatus: 503, percentage: { value: 100 } } }
    route: [${to(split ? 'v1' : undefined)}]
${rest}`,
  );
}

/** One resource the control plane refuses (a destination without its host): galley_validation_failed
 * gets a sample. */
export function writeInvalidResource(mesh: MetricsMesh): void {
  fs.writeFileSync(
    path.join(mesh.configDir, 'invalid.yaml'),
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: broken, namespace: default }
spec:
  hosts: [details]
  http:
  - route: [{ destination: { port: { number: 9080 } } }]
`,
  );
}
