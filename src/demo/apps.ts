// The demo's sample application: a bookinfo-like set of tiny HTTP services. Each instance calls its
// dependencies through its own sidecar's outbound port, naming the destination in the Host header.
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

/** One HTTP call through a sidecar's outbound listener; the answering version comes back in a header. */
export function callThroughSidecar(outboundPort: number, service: string, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<CallResult> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: outboundPort, path, agent, headers: { ...headers, host: `${service}:9080` }, timeout: 5000 }, (res) => {
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

/** Start one app instance on 127.0.0.1:port; callers' outcomes are recorded in `stats`. */
export function startApp(spec: AppSpec, port: number, outboundPort: number, stats: Stats, knobs?: { failing: Set<string> }): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    if (knobs?.failing.has(`${spec.service} ${spec.version}`)) {
      // A scenario made this instance fail (outlier detection should eject it).
      res.writeHead(503, { 'x-app-version': spec.version, 'content-length': 0 });
      res.end();
      return;
    }
    const endUser = req.headers['end-user'];
    const results = await Promise.all(
      spec.calls.map(async (dep) => {
        const r = await callThroughSidecar(outboundPort, dep, `/${dep}/0`, endUser ? { 'end-user': endUser } : {});
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
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export function closeApps(servers: http.Server[]): void {
  agent.destroy();
  for (const s of servers) {
    s.close();
    s.closeAllConnections();
  }
}
