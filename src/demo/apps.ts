// The demo's sample application: a bookinfo-like set of tiny HTTP services. In explicit mode each
// instance calls its dependencies through its own sidecar's outbound port, naming the destination in
// the Host header; in transparent mode (`weft demo --netns`) it calls http://<service>:9080 like any
// app that knows nothing of a mesh, and capture takes the call to the sidecar.
import http from 'node:http';
import type { Stats } from './stats.js';

export interface AppSpec {
  service: string;
  version: string;
  /** Services this one calls on each request (through the sidecar). */
  calls: string[];
}

export const BOOKINFO: AppSpec[] = [
  { service: 'productpage', version: 'v1', calls: ['details', 'reviews'] },
  { service: 'details', version: 'v1', calls: [] },
  { service: 'reviews', version: 'v1', calls: [] },
  { service: 'reviews', version: 'v2', calls: ['ratings'] },
  { service: 'reviews', version: 'v3', calls: ['ratings'] },
  { service: 'ratings', version: 'v1', calls: [] },
];

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface CallResult {
  status: number;
  version: string;
}

/** How an app reaches its dependencies: through the sidecar's explicit outbound port, or by name. */
export type Caller = { mode: 'explicit'; outboundPort: number } | { mode: 'transparent' };

export const SERVICE_PORT = 9080;

/** What bookinfo's apps copy from an incoming request to the calls it makes (Istio's "apps only
 * forward headers"): the request id, W3C and B3 trace context, and the end user routing reads. */
export const FORWARDED_HEADERS = ['x-request-id', 'traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'end-user'] as const;

export function forwardedHeaders(req: http.IncomingMessage): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const h of FORWARDED_HEADERS) {
    const v = req.headers[h];
    if (v !== undefined) out[h] = v;
  }
  return out;
}

/** One HTTP call to a service; the answering version comes back in a header. */
export function callService(via: Caller, service: string, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<CallResult> {
  const target =
    via.mode === 'explicit' ? { host: '127.0.0.1', port: via.outboundPort, headers: { ...headers, host: `${service}:${SERVICE_PORT}` } } : { host: service, port: SERVICE_PORT, headers };
  return new Promise((resolve) => {
    const req = http.request({ ...target, path, agent, timeout: 5000 }, (res) => {
      res.resume();
      // A reply the mesh made itself has no app version: show its response flag instead (why it failed).
      const flag = /^[A-Z]+/.exec(String(res.headers['x-weft-reason'] ?? ''))?.[0];
      res.on('end', () => resolve({ status: res.statusCode ?? 0, version: String(res.headers['x-app-version'] ?? (flag ? `[${flag}]` : '?')) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, version: '?' }));
    req.end();
  });
}

/** Start one app instance on port (127.0.0.1 in explicit mode, every address of its pod in transparent mode); callers' outcomes are recorded in `stats`. */
export function startApp(spec: AppSpec, port: number, via: Caller, stats: Pick<Stats, 'record'>, knobs?: { failing: Set<string> }): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    if (knobs?.failing.has(`${spec.service} ${spec.version}`)) {
      // A scenario made this instance fail (outlier detection should eject it).
      res.writeHead(503, { 'x-app-version': spec.version, 'content-length': 0 });
      res.end();
      return;
    }
    const forward = forwardedHeaders(req);
    const results = await Promise.all(
      spec.calls.map(async (dep) => {
        const r = await callService(via, dep, `/${dep}/0`, forward);
        stats.record(dep, r.version, r.status);
        return [dep, r] as const;
      }),
    );
    const failed = results.some(([, r]) => r.status === 0 || r.status >= 500);
    const body = JSON.stringify({ service: spec.service, version: spec.version, upstream: Object.fromEntries(results) });
    res.writeHead(failed ? 502 : 200, { 'content-type': 'application/json', 'x-app-version': spec.version, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, via.mode === 'explicit' ? '127.0.0.1' : '0.0.0.0', () => resolve(server));
  });
}

export function closeApps(servers: http.Server[]): void {
  agent.destroy();
  for (const s of servers) {
    s.close();
    s.closeAllConnections();
  }
}
