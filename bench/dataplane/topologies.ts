// The rows of the data-plane tables. Each row is one topology: how to start it, where the load
// generator sends and in which protocol. All rows share the backend process; rows of one group
// (HTTP/1.1, h2c, gRPC, TCP) form one table, compared with that group's HAProxy pair and with
// the direct row the group names as its baseline. The mTLS rows (`haproxy-tls`, `weft-mtls`, and
// their TCP twins) sit in the HTTP/1.1 and TCP groups: only the hop between the sidecars changes.
import fs from 'node:fs';
import path from 'node:path';
import { start, waitFor, portOpen, httpStatus, type Started } from '../lib/procs.js';
import { freePorts } from '../lib/ports.js';
import { TOOLS, type Tool } from '../lib/tools.js';
import { haproxyConf, nginxProxyConf, type BackendPorts, type HaproxyMode } from './peers.js';
import { startWeftPair, type PairProtocol } from './weft-static.js';
import { probeGrpc, probeH2c } from './h2.js';
import { haproxyTls, negotiatedTls, type MeshCerts } from './mtls.js';
import { CAPTURE_TOPOLOGIES } from './capture-rows.js';
import type { CaptureNet, InPod } from './capture-net.js';

export interface Context {
  /** Scratch directory of this run (configs, logs). */
  dir: string;
  /** The HTTP/1.1 backend (also behind the TCP rows). */
  backendPort: number;
  backendPorts: BackendPorts;
  /** Host header the client sends; a mesh routes on it. */
  host: string;
  tool(name: string): string;
  /** Path of bin/weft.js. */
  weftBin: string;
  /** Extra node flags for Weft processes (e.g. --cpu-prof). */
  nodeArgs: string[];
  /** The mTLS rows' certificates (made with openssl on first use). */
  meshCerts(): MeshCerts;
  /** The capture rows' namespaces, control plane and captures (made on first use, destroyed at the end). */
  captureNet(): Promise<CaptureNet>;
}

export interface Running {
  /** Where the load generator connects. */
  port: number;
  /** The sidecars whose CPU and memory the row reports (empty for the direct row). */
  proxies: Array<{ role: 'client' | 'server'; proc: Started }>;
  /** Everything the row started, to stop afterwards. */
  all: Started[];
  /** TLS rows: what the server hop negotiated (openssl s_client). */
  tls?: string;
  /** Capture rows: the load generator and wrk run inside this pod and connect to `address:port` with this Host. */
  generator?: { pod: InPod; address: string; host: string };
}

/** What the load generator speaks to a row. TCP rows carry HTTP/1.1 as opaque bytes. */
export type RowProtocol = 'http1' | 'h2c' | 'grpc' | 'tcp';
/** A table: a protocol, or `capture` (HTTP/1.1 between pods in network namespaces, per capture mode). */
export type RowGroup = RowProtocol | 'capture';

export interface Topology {
  name: string;
  description: string;
  needs: Tool[];
  /** The table the row belongs to; `--rows <group>` selects all of its rows. */
  group: RowGroup;
  /** The direct row whose latency this row's "added" figures subtract. */
  baseline: string;
  /** Only the open loop (a direct row whose max throughput no figure uses). */
  latencyOnly?: boolean;
  start(ctx: Context): Promise<Running>;
}

async function listening(proc: Started, port: number): Promise<void> {
  await waitFor(`${proc.name} listening on ${port}`, () => portOpen(port), 10_000, proc);
}

/** Two processes of a classic proxy, client side → server side → backend. */
function pairOf(kind: 'haproxy' | 'nginx'): Topology {
  return {
    name: kind,
    description:
      kind === 'haproxy'
        ? 'HAProxy pair (http mode, nbthread 1, http-reuse always)'
        : 'nginx pair (1 worker, upstream keepalive, proxy_http_version 1.1)',
    needs: [TOOLS[kind]],
    group: 'http1',
    baseline: 'direct',
    async start(ctx) {
      const [outPort, inPort] = await freePorts(2);
      const run = (name: string, listen: number, upstream: number): Started => {
        const bin = ctx.tool(kind);
        if (kind === 'haproxy') {
          return start(name, bin, ['-db', '-f', haproxyConf(ctx.dir, name, listen, upstream)]);
        }
        return start(name, bin, ['-e', path.join(ctx.dir, `${name}.error.log`), '-c', nginxProxyConf(ctx.dir, name, listen, upstream)]);
      };
      const server = run(`${kind}-server`, inPort, ctx.backendPort);
      const client = run(`${kind}-client`, outPort, inPort);
      await listening(server, inPort);
      await listening(client, outPort);
      return {
        port: outPort,
        proxies: [
          { role: 'client', proc: client },
          { role: 'server', proc: server },
        ],
        all: [client, server],
      };
    },
  };
}

const direct: Topology = {
  name: 'direct',
  description: 'no proxy: load generator → backend',
  needs: [],
  group: 'http1',
  baseline: 'direct',
  async start(ctx) {
    return { port: ctx.backendPort, proxies: [], all: [] };
  },
};

/** A Weft pair's variant: Istio's metrics on (the default) or off (`--no-metrics`), tracing every
 * request to an OTLP/HTTP sink, or a JSON access log per request: the cost of each is its row's
 * difference from `weft`. */
type PairVariant = 'weft' | 'weft-metrics-off' | 'weft-tracing' | 'weft-accesslog';
const variantText: Record<PairVariant, string> = {
  weft: '',
  'weft-metrics-off': ', Istio metrics off (--no-metrics)',
  'weft-tracing': ', every request traced (100 % sampling, OTLP/HTTP to a sink on loopback)',
  'weft-accesslog': ', a JSON access-log line per request to a file',
};

/** The OTLP/HTTP sink of the tracing row, a process of its own: it answers every export with 200
 * (what the spans cost is the proxies' part, not the sink's). */
const SINK_SCRIPT = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.writeHead(200).end()); }).listen(Number(process.argv[1]), '127.0.0.1')`;

/** The mesh config a variant runs with (its telemetry providers), and what it started for them. */
async function variantMeshConfig(variant: PairVariant, dir: string): Promise<{ yaml?: string; started: Started[] }> {
  if (variant === 'weft-accesslog') return { yaml: `accessLogFile: ${path.join(dir, 'access.log')}\naccessLogEncoding: JSON\n`, started: [] };
  if (variant !== 'weft-tracing') return { started: [] };
  const [port] = await freePorts(1);
  const sink = start('otlp-sink', process.execPath, ['-e', SINK_SCRIPT, String(port)], { logFile: path.join(dir, 'otlp-sink.log') });
  await waitFor('the OTLP sink listening', () => portOpen(port), 10_000, sink);
  const yaml = [
    'extensionProviders:',
    `- { name: sink, opentelemetry: { service: 127.0.0.1, port: ${port}, http: { path: /v1/traces } } }`,
    'defaultProviders: { tracing: [sink] }',
    'defaultConfig: { tracing: { sampling: 100 } }',
    '',
  ].join('\n');
  return { yaml, started: [sink] };
}

/** Weft: a control plane with an empty config dir and two `weft proxy` sidecars, in one of its variants. */
const weftPair = (variant: PairVariant): Topology => ({
  name: variant,
  description: `Weft sidecar pair (weft proxy ×2, configured over ADS by weft control-plane)${variantText[variant]}`,
  needs: [],
  group: 'http1',
  baseline: 'direct',
  async start(ctx) {
    const [xds, monitor, out, inb, adminC, adminS, clientApp, outS, inC] = await freePorts(9);
    const configDir = path.join(ctx.dir, 'weft-config');
    fs.mkdirSync(configDir, { recursive: true });
    const node = (name: string, args: string[]): Started =>
      start(name, process.execPath, [...ctx.nodeArgs, ctx.weftBin, ...args], { logFile: path.join(ctx.dir, `${name}.log`) });
    const { yaml: meshConfig, started: extras } = await variantMeshConfig(variant, ctx.dir);
    const meshFile = path.join(ctx.dir, `${variant}-mesh.yaml`);
    if (meshConfig) fs.writeFileSync(meshFile, meshConfig);
    const cp = node('weft-control-plane', [
      'control-plane',
      ...(meshConfig ? ['--mesh-config', meshFile] : []),
      '--insecure-registration',
      '--config-dir',
      configDir,
      '--xds-address',
      `127.0.0.1:${xds}`,
      '--monitor-address',
      `127.0.0.1:${monitor}`,
    ]);
    const all = [cp, ...extras];
    try {
      await waitFor('weft control plane /ready', async () => (await httpStatus(monitor, '/ready')) === 200, 20_000, cp);
      const proxy = (name: string, service: string, appPort: number, outbound: number, inbound: number, admin: number): Started =>
        node(name, [
          'proxy',
          '--xds-address',
          `127.0.0.1:${xds}`,
          '--service',
          service,
          '--namespace',
          'default',
          '--labels',
          'version=v1',
          '--app-port',
          String(appPort),
          '--address',
          '127.0.0.1',
          '--outbound-port',
          String(outbound),
          '--inbound-port',
          String(inbound),
          '--admin-port',
          String(admin),
          // The harness stops processes within 3 s: no SIGTERM drain period (a --profile is written on exit).
          '--drain-period-ms',
          '0',
          // Two sidecars on one host: no fixed telemetry port (the metrics are kept either way).
          '--telemetry-port',
          '0',
          ...(variant === 'weft-metrics-off' ? ['--no-metrics'] : []),
        ]);
      const server = proxy('weft-server', ctx.host, ctx.backendPort, outS, inb, adminS);
      all.push(server);
      const client = proxy('weft-client', 'bench-client', clientApp, out, inC, adminC);
      all.push(client);
      await waitFor('weft server sidecar /ready', async () => (await httpStatus(adminS, '/ready')) === 200, 20_000, server);
      await waitFor('weft client sidecar /ready', async () => (await httpStatus(adminC, '/ready')) === 200, 20_000, client);
      // Ready means configured; routing to the new server endpoint may take one more push.
      await waitFor(
        `a 200 through the Weft pair (Host: ${ctx.host})`,
        async () => (await httpStatus(out, '/', ctx.host)) === 200,
        20_000,
        client,
      );
      return {
        port: out,
        proxies: [
          { role: 'client', proc: client },
          { role: 'server', proc: server },
        ],
        all,
      };
    } catch (e) {
      await Promise.all(all.map((p) => p.stop()));
      throw e;
    }
  },
});

const backendOf = (ctx: Context, p: PairProtocol): number => (p === 'tcp' ? ctx.backendPort : ctx.backendPorts[p]);
const probes: Record<PairProtocol, (port: number) => Promise<boolean>> = {
  http1: async (port) => (await httpStatus(port, '/', 'bench-server')) === 200,
  h2c: probeH2c,
  grpc: probeGrpc,
  tcp: async (port) => (await httpStatus(port, '/', 'bench-server')) === 200,
};
const protocolName: Record<PairProtocol, string> = { http1: 'HTTP/1.1', h2c: 'h2c', grpc: 'gRPC unary over h2c', tcp: 'opaque TCP' };

/** The load generator straight to the backend's h2c or gRPC port. */
function directOf(p: 'h2c' | 'grpc'): Topology {
  return {
    name: `${p}-direct`,
    description: `no proxy: load generator → backend (${protocolName[p]})`,
    needs: [],
    group: p,
    baseline: `${p}-direct`,
    latencyOnly: true,
    async start(ctx) {
      return { port: ctx.backendPorts[p], proxies: [], all: [] };
    },
  };
}

/** HAProxy pair for h2c (`proto h2` on bind and server: also gRPC) or TCP (`mode tcp`). */
function haproxyOf(p: PairProtocol): Topology {
  const mode: HaproxyMode = p === 'tcp' ? 'tcp' : 'h2c';
  return {
    name: `${p}-haproxy`,
    description: `HAProxy pair, ${p === 'tcp' ? 'mode tcp' : 'mode http, proto h2 on bind and server'}, nbthread 1 (${protocolName[p]})`,
    needs: [TOOLS.haproxy],
    group: p,
    baseline: p === 'tcp' ? 'direct' : `${p}-direct`,
    async start(ctx) {
      const [outPort, inPort] = await freePorts(2);
      const run = (role: string, listen: number, upstream: number): Started =>
        start(`${p}-haproxy-${role}`, ctx.tool('haproxy'), ['-db', '-f', haproxyConf(ctx.dir, `${p}-haproxy-${role}`, listen, upstream, mode)]);
      const server = run('server', inPort, backendOf(ctx, p));
      const client = run('client', outPort, inPort);
      const all = [client, server];
      try {
        await listening(server, inPort);
        await listening(client, outPort);
        await waitFor(`a ${p} request through the HAProxy pair`, () => probes[p](outPort), 10_000, client);
      } catch (e) {
        await Promise.all(all.map((x) => x.stop()));
        throw e;
      }
      return { port: outPort, proxies: [{ role: 'client', proc: client }, { role: 'server', proc: server }], all };
    },
  };
}

/** Weft pair for h2c, gRPC or TCP (`tcp_proxy`), fed by the fixed ADS server (weft-static.ts); for
 * HTTP/1.1 (`weft-static`), the mTLS row's resources without TLS: its plaintext twin. */
function weftOf(p: PairProtocol): Topology {
  const how = p === 'tcp' ? 'tcp_proxy' : p === 'http1' ? 'HCM codec AUTO, HTTP/1.1 upstream clusters' : 'HCM codec AUTO, h2 upstream clusters';
  return {
    name: p === 'http1' ? 'weft-static' : `${p}-weft`,
    description: `Weft sidecar pair, ${how} (${protocolName[p]}; static ADS)`,
    needs: [],
    group: p,
    baseline: p === 'tcp' || p === 'http1' ? 'direct' : `${p}-direct`,
    async start(ctx) {
      const pair = await startWeftPair(p, { dir: ctx.dir, weftBin: ctx.weftBin, nodeArgs: ctx.nodeArgs, backendPort: backendOf(ctx, p), probe: probes[p] });
      return { port: pair.port, proxies: [{ role: 'client', proc: pair.client }, { role: 'server', proc: pair.server }], all: pair.all };
    },
  };
}

/** mTLS between the sidecars (HTTP/1.1 or TCP), HAProxy's TLS on both hops of the pair or Weft's
 * auto mTLS; client → client sidecar and server sidecar → backend stay plaintext, as in a mesh. */
function tlsPairOf(kind: 'haproxy' | 'weft', p: 'http1' | 'tcp'): Topology {
  const prefix = p === 'tcp' ? 'tcp-' : '';
  const how = p === 'tcp' ? (kind === 'haproxy' ? 'mode tcp' : 'tcp_proxy') : kind === 'haproxy' ? 'mode http, http-reuse always' : 'HCM, static ADS';
  return {
    name: `${prefix}${kind}-${kind === 'haproxy' ? 'tls' : 'mtls'}`,
    description:
      kind === 'haproxy'
        ? `HAProxy pair, ${how}, TLS 1.3 between the hops (ECDSA P-256, client certificate verified both ways), nbthread 1`
        : `Weft sidecar pair, ${how}, the control plane's auto mTLS (SPIFFE SAN checked, SDS secrets over ADS)`,
    needs: kind === 'haproxy' ? [TOOLS.haproxy] : [],
    group: p,
    baseline: 'direct',
    async start(ctx) {
      const certs = ctx.meshCerts();
      if (kind === 'weft') {
        const pair = await startWeftPair(p, { dir: ctx.dir, weftBin: ctx.weftBin, nodeArgs: ctx.nodeArgs, backendPort: ctx.backendPort, probe: probes[p], mtls: certs });
        const tls = await negotiatedTls(pair.inboundPort, certs);
        return { port: pair.port, proxies: [{ role: 'client', proc: pair.client }, { role: 'server', proc: pair.server }], all: pair.all, tls };
      }
      const [outPort, inPort] = await freePorts(2);
      const mode: HaproxyMode = p === 'tcp' ? 'tcp' : 'http1';
      const run = (role: 'client' | 'server', listen: number, upstream: number): Started => {
        const name = `${prefix}haproxy-tls-${role}`;
        return start(name, ctx.tool('haproxy'), ['-db', '-f', haproxyConf(ctx.dir, name, listen, upstream, mode, haproxyTls(certs, role, p === 'http1'))]);
      };
      const server = run('server', inPort, ctx.backendPort);
      const client = run('client', outPort, inPort);
      const all = [client, server];
      try {
        await listening(server, inPort);
        await listening(client, outPort);
        await waitFor(`a request through the HAProxy TLS pair (${p})`, () => probes[p](outPort), 10_000, client);
      } catch (e) {
        await Promise.all(all.map((x) => x.stop()));
        throw e;
      }
      const tls = await negotiatedTls(inPort, certs);
      return { port: outPort, proxies: [{ role: 'client', proc: client }, { role: 'server', proc: server }], all, tls };
    },
  };
}

/** Every row, in table order. HAProxy first in each group: the other rows are reported as ratios to it. */
export const TOPOLOGIES: Topology[] = [
  direct,
  pairOf('haproxy'),
  pairOf('nginx'),
  weftPair('weft'),
  weftPair('weft-metrics-off'),
  weftPair('weft-tracing'),
  weftPair('weft-accesslog'),
  weftOf('http1'),
  tlsPairOf('haproxy', 'http1'),
  tlsPairOf('weft', 'http1'),
  directOf('h2c'),
  haproxyOf('h2c'),
  weftOf('h2c'),
  directOf('grpc'),
  haproxyOf('grpc'),
  weftOf('grpc'),
  haproxyOf('tcp'),
  weftOf('tcp'),
  tlsPairOf('haproxy', 'tcp'),
  tlsPairOf('weft', 'tcp'),
  ...CAPTURE_TOPOLOGIES,
];

/** `--rows` names rows or groups (`h2c`, `grpc`, `tcp`, `http1`); each chosen row brings its baseline. */
export function selectRows(names: string[] | undefined): Topology[] {
  // The capture rows need root (namespaces, iptables, cgroups, eBPF): only when asked for.
  if (!names) return TOPOLOGIES.filter((t) => t.group !== 'capture');
  const known = new Set(['mtls', ...TOPOLOGIES.flatMap((t) => [t.name, t.group])]);
  const bad = names.filter((n) => !known.has(n));
  if (bad.length) throw new Error(`--rows: unknown ${bad.join(', ')}; rows: ${TOPOLOGIES.map((t) => t.name).join(', ')}; groups: http1, h2c, grpc, tcp, mtls, capture`);
  // `mtls`: the four TLS rows and the plaintext rows they are compared with.
  const mtls = (t: Topology): boolean => names.includes('mtls') && /^(tcp-)?(haproxy|weft)(-m?tls|-static)?$/.test(t.name);
  const chosen = TOPOLOGIES.filter((t) => names.includes(t.name) || names.includes(t.group) || mtls(t));
  const baselines = new Set(chosen.map((t) => t.baseline));
  return TOPOLOGIES.filter((t) => chosen.includes(t) || baselines.has(t.name));
}
