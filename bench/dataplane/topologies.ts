// The rows of the data-plane table. Each row is one topology: how to start it and where the load
// generator sends. All rows share the backend; a later HTTP/2 or mTLS row is one more entry here.
import fs from 'node:fs';
import path from 'node:path';
import { start, waitFor, portOpen, httpStatus, type Started } from '../lib/procs.js';
import { freePorts } from '../lib/ports.js';
import { TOOLS, type Tool } from '../lib/tools.js';
import { haproxyConf, nginxProxyConf } from './peers.js';

export interface Context {
  /** Scratch directory of this run (configs, logs). */
  dir: string;
  backendPort: number;
  /** Host header the client sends; a mesh routes on it. */
  host: string;
  tool(name: string): string;
  /** Path of bin/weft.js. */
  weftBin: string;
  /** Extra node flags for Weft processes (e.g. --cpu-prof). */
  nodeArgs: string[];
}

export interface Running {
  /** Where the load generator connects. */
  port: number;
  /** The sidecars whose CPU and memory the row reports (empty for the direct row). */
  proxies: Array<{ role: 'client' | 'server'; proc: Started }>;
  /** Everything the row started, to stop afterwards. */
  all: Started[];
}

export interface Topology {
  name: string;
  description: string;
  needs: Tool[];
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
  async start(ctx) {
    return { port: ctx.backendPort, proxies: [], all: [] };
  },
};

/** Weft: a control plane with an empty config dir and two `weft proxy` sidecars. */
const weft: Topology = {
  name: 'weft',
  description: 'Weft sidecar pair (weft proxy ×2, configured over ADS by weft control-plane)',
  needs: [],
  async start(ctx) {
    const [xds, monitor, out, inb, adminC, adminS, clientApp, outS, inC] = await freePorts(9);
    const configDir = path.join(ctx.dir, 'weft-config');
    fs.mkdirSync(configDir, { recursive: true });
    const node = (name: string, args: string[]): Started =>
      start(name, process.execPath, [...ctx.nodeArgs, ctx.weftBin, ...args], { logFile: path.join(ctx.dir, `${name}.log`) });
    const cp = node('weft-control-plane', [
      'control-plane',
      '--config-dir',
      configDir,
      '--xds-address',
      `127.0.0.1:${xds}`,
      '--monitor-address',
      `127.0.0.1:${monitor}`,
    ]);
    const all = [cp];
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
};

/** Every row, in table order. HAProxy first: the other rows are reported as ratios to it. */
export const TOPOLOGIES: Topology[] = [direct, pairOf('haproxy'), pairOf('nginx'), weft];
