// The dashboard on the control plane's monitor port: `/dashboard` (one page, its script and style)
// and its JSON under `/api/dashboard/*`. Reads only: nothing here changes the mesh.
import type http from 'node:http';
import type { MeshSnapshot } from '../model/snapshot.js';
import type { ProxyNode } from '../model/proxy-node.js';
import { SYNC_TYPES, isSynced, proxyTypeState } from '../xds/sync-state.js';
import type { ProxyStatus } from '../xds/server.js';
import { deriveEdges, type MeshRates, type MetricsSource } from '../observe/edges.js';
import type { ScrapeStatus } from '../observe/scraper.js';
import { layoutGraph } from './graph.js';
import { DASHBOARD_CSS, DASHBOARD_HTML } from './page.js';
import { DASHBOARD_JS } from './page-script.js';
import { listServices, serviceView } from './service-view.js';

export interface DashboardSources {
  metrics: MetricsSource;
  snapshot: () => MeshSnapshot | undefined;
  /** The xDS server's per-proxy status (as /debug/syncz). */
  proxies: () => ProxyStatus[];
  /** Registered proxies (their telemetry ports). */
  registered: () => readonly ProxyNode[];
  configz: () => unknown;
  scrapes?: () => Record<string, ScrapeStatus>;
}

/** Ranges a page may ask for (seconds); the embedded window holds the longest. */
export const RANGES = [30, 60, 300] as const;
const DEFAULT_RANGE = 60;
/** Several open pages polling every 2 s share one read per range and second. */
const READ_REUSE_MS = 1000;

export type DashboardHandler = (req: http.IncomingMessage, res: http.ServerResponse, path: string, query: string) => boolean;

export function dashboardRoutes(src: DashboardSources): DashboardHandler {
  const reads = new Map<number, { at: number; p: Promise<MeshRates> }>();
  const rates = (range: number): Promise<MeshRates> => {
    const now = Date.now();
    const hit = reads.get(range);
    if (hit && now - hit.at < READ_REUSE_MS) return hit.p;
    const p = src.metrics.read(range);
    reads.set(range, { at: now, p });
    return p;
  };
  const rangeOf = (params: URLSearchParams): number => {
    const r = Number(params.get('range'));
    return (RANGES as readonly number[]).includes(r) ? r : DEFAULT_RANGE;
  };

  const graph = async (params: URLSearchParams) => {
    const r = await rates(rangeOf(params));
    const known = src.registered().map((p) => ({ service: p.service, namespace: p.namespace, workload: p.workloadName, version: p.labels.version ?? 'unknown' }));
    return { source: r.source, rangeSeconds: r.rangeSeconds, at: new Date().toISOString(), errors: r.errors, graph: layoutGraph(deriveEdges(r), known) };
  };

  const service = async (params: URLSearchParams) => {
    const r = await rates(rangeOf(params));
    const connected = new Set(src.proxies().map((p) => p.id));
    return serviceView(src.snapshot(), params.get('name') ?? '', params.get('namespace') ?? 'default', { edges: deriveEdges(r), clusters: r.clusters, connected });
  };

  const proxies = () => {
    const registered = new Map(src.registered().map((p) => [p.id, p]));
    const scrapes = src.scrapes?.() ?? {};
    return src.proxies().map((p) => ({
      id: p.id,
      service: p.service,
      namespace: p.namespace,
      address: p.address,
      version: p.labels.version ?? '',
      protocol: p.protocol,
      connectedAt: p.connectedAt,
      synced: isSynced(p),
      types: SYNC_TYPES.map(([t, name]) => ({ type: name, state: proxyTypeState(p, t), nack: p.types[t]?.nack ?? null })),
      telemetryPort: registered.get(p.id)?.telemetryPort ?? null,
      scrape: scrapes[p.id] ?? null,
    }));
  };

  return (req, res, path, query) => {
    if (path !== '/dashboard' && path !== '/dashboard/' && !path.startsWith('/dashboard/') && !path.startsWith('/api/dashboard/')) return false;
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, 'text/plain', 'the dashboard is read-only: GET\n');
      return true;
    }
    const json = (p: Promise<unknown> | unknown) =>
      Promise.resolve(p).then(
        (v) => (v === undefined ? send(404, 'application/json', JSON.stringify({ error: 'not found' })) : send(200, 'application/json', JSON.stringify(v))),
        (err: Error) => send(500, 'application/json', JSON.stringify({ error: err.message })),
      );
    const params = new URLSearchParams(query);
    switch (path) {
      case '/dashboard':
      case '/dashboard/':
        send(200, 'text/html; charset=utf-8', DASHBOARD_HTML);
        return true;
      case '/dashboard/app.js':
        send(200, 'text/javascript; charset=utf-8', DASHBOARD_JS);
        return true;
      case '/dashboard/app.css':
        send(200, 'text/css; charset=utf-8', DASHBOARD_CSS);
        return true;
      case '/api/dashboard/graph':
        void json(graph(params));
        return true;
      case '/api/dashboard/services':
        void json(listServices(src.snapshot()));
        return true;
      case '/api/dashboard/service':
        void json(service(params));
        return true;
      case '/api/dashboard/proxies':
        void json(proxies());
        return true;
      case '/api/dashboard/config':
        void json(src.configz());
        return true;
      default:
        send(404, 'text/plain', 'not found: /dashboard, /api/dashboard/{graph,services,service,proxies,config}\n');
        return true;
    }
  };
}
