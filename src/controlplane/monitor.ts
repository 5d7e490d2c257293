// The control plane's monitoring port: readiness and debug views of what each proxy has.
import http from 'node:http';
import { hostsFile, type ServiceVips } from './vip-view.js';

export interface MonitorSources {
  ready: () => boolean;
  syncz: () => unknown;
  configz: () => unknown;
  registryz: () => unknown;
  /** xDS sets held back by the consistency check, and config-named clusters the mesh lacks. */
  consistencyz?: () => unknown;
  /** The CA's roots, signing certificate and latest certificate per identity (serials only, no keys). */
  ca?: () => unknown;
  /** Service VIPs (captured apps resolve names to them): JSON, or a hosts file for one namespace. */
  vips?: () => ServiceVips;
  /** Prometheus exposition (text 0.0.4, or OpenMetrics when the scraper's Accept asks for it). */
  metrics?: (accept: string | undefined) => Promise<{ contentType: string; body: string }>;
  /** istiod's /debug/config_dump?proxyID=ID: the resources the xDS cache holds for that connected proxy. */
  configDump?: (proxyId: string) => unknown;
  /** The dashboard's pages and JSON (/dashboard, /api/dashboard/*): true when it answered. */
  dashboard?: (req: http.IncomingMessage, res: http.ServerResponse, path: string, query: string) => boolean;
  /** `weft describe`: a service or workload, and a request's route (src/controlplane/describe/query.ts). */
  describe?: (query: URLSearchParams) => { status: number; body: unknown };
}

export function startMonitor(address: string, src: MonitorSources): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const [path, query = ''] = (req.url ?? '/').split('?');
    const json = (v: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v, null, 2));
    };
    switch (path) {
      case '/ready':
        res.writeHead(src.ready() ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(src.ready() ? 'ready\n' : 'not ready\n');
        return;
      case '/debug/syncz':
        return json(src.syncz());
      case '/debug/configz':
        return json(src.configz());
      case '/debug/registryz':
        return json(src.registryz());
      case '/debug/consistencyz':
        if (src.consistencyz) return json(src.consistencyz());
        return notFound();
      case '/debug/config_dump': {
        if (!src.configDump) return notFound();
        const id = new URLSearchParams(query).get('proxyID');
        const dump = id ? src.configDump(id) : undefined;
        if (dump !== undefined) return json(dump);
        res.writeHead(id ? 404 : 400, { 'content-type': 'text/plain' });
        res.end(id ? `no connected proxy ${JSON.stringify(id)} (see /debug/syncz)\n` : 'proxyID is required: /debug/config_dump?proxyID=ID\n');
        return;
      }
      case '/debug/describe': {
        if (!src.describe) return notFound();
        const answer = src.describe(new URLSearchParams(query));
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body, null, 2));
        return;
      }
      case '/debug/ca':
        return json(src.ca?.() ?? { enabled: false });
      case '/debug/vips': {
        if (!src.vips) return notFound();
        const params = new URLSearchParams(query);
        if (params.get('format') !== 'hosts') return json(src.vips());
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(hostsFile(src.vips(), params.get('namespace') ?? undefined));
        return;
      }
      case '/metrics':
      case '/stats/prometheus':
        if (!src.metrics) return notFound();
        src.metrics(req.headers.accept).then(
          (m) => {
            res.writeHead(200, { 'content-type': m.contentType });
            res.end(m.body);
          },
          (err: Error) => {
            res.writeHead(500, { 'content-type': 'text/plain' });
            res.end(`metrics: ${err.message}\n`);
          },
        );
        return;
      default:
        if (src.dashboard?.(req, res, path, query)) return;
        return notFound();
    }
    function notFound() {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /dashboard, /ready, /metrics, /debug/syncz, /debug/configz, /debug/registryz, /debug/consistencyz, /debug/config_dump?proxyID=, /debug/describe?service=NAME, /debug/ca, /debug/vips\n');
    }
  });
  const [host, port] = splitHostPort(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid address "${address}": expected HOST:PORT`);
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), port];
}
