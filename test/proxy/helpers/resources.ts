// Builders for hand-written Envoy v3 resources (plain objects in proto field names), shaped
// like what the Weft control plane emits.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HCM_TYPE_URL, ROUTER_TYPE_URL } from '../../../src/api/envoy.js';

export const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

export const routerFilter = { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE_URL } };
export const faultFilter = { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE } };

export function hcmListener(name: string, port: number, hcm: Record<string, unknown>, host = '127.0.0.1'): object {
  return {
    name,
    address: { socket_address: { address: host, port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: { '@type': HCM_TYPE_URL, stat_prefix: name, http_filters: [faultFilter, routerFilter], ...hcm },
          },
        ],
      },
    ],
  };
}

export function rdsListener(name: string, port: number, routeName = name): object {
  return hcmListener(name, port, { rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } } });
}

export function edsCluster(name: string, extra: Record<string, unknown> = {}): object {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
    connect_timeout: { seconds: 1 },
    lb_policy: 'ROUND_ROBIN',
    ...extra,
  };
}

export function staticCluster(name: string, ports: number[], extra: Record<string, unknown> = {}): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: { seconds: 1 },
    lb_policy: 'ROUND_ROBIN',
    load_assignment: cla(name, ports),
    ...extra,
  };
}

export function cla(name: string, ports: number[], host = '127.0.0.1'): object {
  return {
    cluster_name: name,
    endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: host, port_value: p } } } })) }],
  };
}

export interface Upstream {
  name: string;
  port: number;
  server: http.Server;
  /** Requests seen, newest last. */
  seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** A real HTTP server that echoes what it got as JSON (and says who it is). */
export async function startUpstream(
  name: string,
  handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => boolean | void,
): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      if (handler?.(req, res, body)) return;
      const out = JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': name, 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    server,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request through a keep-alive agent. */
export function request(
  port: number,
  opts: { host?: string; path?: string; method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.host !== undefined) headers.host = opts.host;
    const req = http.request(
      { host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers, agent: opts.agent ?? keepAlive, setHost: opts.host === undefined },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** A free TCP port on 127.0.0.1 (bound then released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
