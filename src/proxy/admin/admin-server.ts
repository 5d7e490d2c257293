// The admin endpoint (127.0.0.1 only): /ready, /config_dump, /clusters, /listeners, /stats,
// /stats/prometheus, POST /logging, POST /quitquitquit — named and shaped like Envoy's so the usual
// habits and tools (weft proxy-config) carry over.
import http from 'node:http';
import type { ClusterRuntime } from '../upstream/cluster-manager.js';
import type { UpstreamHost } from '../upstream/host.js';
import { boundPort, listenOn } from '../../api/net-server.js';
import { checkMutation } from './mutation-guard.js';
import { parseLogLevelQuery, renderLogLevels, type Loggers } from '../log.js';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, wantsOpenMetrics } from '../telemetry/registry.js';

export interface AdminSource {
  ready(): boolean;
  configDump(): unknown;
  clusters(): Iterable<ClusterRuntime>;
  listeners(): { name: string; address: string }[];
  stats(): Record<string, number>;
  /** Envoy-style stats and Istio's metrics in Prometheus text (what the telemetry port serves, minus app metrics). */
  prometheus(openMetrics: boolean): string;
  /** The proxy's loggers, whose levels POST /logging changes. */
  loggers: Loggers;
  /** Begin a graceful shutdown (POST /quitquitquit). */
  shutdown(): void;
}

const help = [
  'weft proxy admin',
  '  GET  /ready          200 LIVE once the first CDS and LDS are applied',
  '  GET  /config_dump    applied xDS resources (JSON)',
  '  GET  /clusters       hosts per cluster (text; ?format=json)',
  '  GET  /listeners      listeners and their bound addresses',
  '  GET  /stats          counters (text; ?format=json; ?filter=REGEX)',
  '  GET  /stats/prometheus  counters and Istio metrics in Prometheus text',
  '  POST /logging        list the loggers; ?level=LEVEL sets all, ?NAME=LEVEL one (local callers only)',
  '  POST /quitquitquit   graceful shutdown (local callers only: no foreign Origin or Host, no form content)',
  '',
].join('\n');

/** Paths that change the proxy: every method on them goes through checkMutation first. */
const MUTATIONS = new Set(['/quitquitquit', '/logging']);

export class AdminServer {
  private readonly server: http.Server;
  private host = '127.0.0.1';

  constructor(private readonly source: AdminSource) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  listen(host: string, port: number): Promise<void> {
    this.host = host;
    return listenOn(this.server, host, port);
  }

  get port(): number {
    return boundPort(this.server);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  destroy(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://admin');
    const json = url.searchParams.get('format') === 'json';
    const log = this.source.loggers.get('admin');
    if (log.debugOn) log.debug(`${req.method} ${url.pathname}${url.search}`);
    if (MUTATIONS.has(url.pathname)) {
      const verdict = checkMutation(req, this.host);
      if (!verdict.ok) {
        if (verdict.status === 405) res.setHeader('allow', 'POST');
        return text(res, verdict.status, `${url.pathname}: ${verdict.reason}\n`);
      }
    }
    try {
      switch (`${req.method} ${url.pathname}`) {
        case 'GET /':
          return text(res, 200, help);
        case 'GET /ready':
          return this.source.ready() ? text(res, 200, 'LIVE\n') : text(res, 503, 'PRE_INITIALIZING\n');
        case 'GET /config_dump':
          return sendJson(res, this.source.configDump());
        case 'GET /clusters':
          return json ? sendJson(res, clustersJson(this.source.clusters())) : text(res, 200, clustersText(this.source.clusters()));
        case 'GET /listeners':
          return json
            ? sendJson(res, { listener_statuses: this.source.listeners() })
            : text(res, 200, this.source.listeners().map((l) => `${l.name}::${l.address}\n`).join(''));
        case 'GET /stats': {
          const stats = statsMatching(this.source.stats(), url.searchParams.get('filter'));
          if (stats === undefined) return text(res, 400, `/stats: invalid filter regex ${JSON.stringify(url.searchParams.get('filter'))}\n`);
          if (json) return sendJson(res, { stats: Object.entries(stats).map(([name, value]) => ({ name, value })) });
          return text(res, 200, Object.entries(stats).map(([k, v]) => `${k}: ${v}\n`).join(''));
        }
        case 'GET /stats/prometheus': {
          const openMetrics = wantsOpenMetrics(req.headers.accept);
          const body = this.source.prometheus(openMetrics);
          res.writeHead(200, { 'content-type': openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
          return void res.end(body);
        }
        case 'POST /logging': {
          const parsed = parseLogLevelQuery(url.searchParams);
          if (!parsed.ok) return text(res, 400, `/logging: ${parsed.error}\n\n${renderLogLevels(this.source.loggers.levels())}`);
          if (parsed.change) this.source.loggers.apply(parsed.change);
          return text(res, 200, renderLogLevels(this.source.loggers.levels()));
        }
        case 'POST /quitquitquit':
          text(res, 200, 'OK\n');
          setImmediate(() => this.source.shutdown());
          return;
        default:
          return text(res, 404, `unknown admin path ${url.pathname}\n\n${help}`);
      }
    } catch (err) {
      text(res, 500, `admin error: ${(err as Error).message}\n`);
    }
  }
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: http.ServerResponse, value: unknown): void {
  const body = JSON.stringify(value, null, 2);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Envoy's ?filter: the stats whose name the regex finds (undefined: the regex does not compile). */
function statsMatching(stats: Record<string, number>, filter: string | null): Record<string, number> | undefined {
  if (!filter) return stats;
  let re: RegExp;
  try {
    re = new RegExp(filter);
  } catch {
    return undefined;
  }
  return Object.fromEntries(Object.entries(stats).filter(([k]) => re.test(k)));
}

function healthFlags(h: UpstreamHost): string {
  switch (h.health) {
    case 'HEALTHY':
    case 'UNKNOWN':
      return 'healthy';
    case 'DRAINING':
      return '/eds_status_draining';
    case 'DEGRADED':
      return '/degraded_eds_health';
    default:
      return '/failed_eds_health';
  }
}

function sorted(clusters: Iterable<ClusterRuntime>): ClusterRuntime[] {
  return [...clusters].sort((a, b) => a.name.localeCompare(b.name));
}

export function clustersText(clusters: Iterable<ClusterRuntime>): string {
  const lines: string[] = [];
  for (const c of sorted(clusters)) {
    const cb = c.config.circuitBreakers;
    lines.push(`${c.name}::default_priority::max_connections::${cb.maxConnections}`);
    lines.push(`${c.name}::default_priority::max_pending_requests::${cb.maxPendingRequests}`);
    lines.push(`${c.name}::default_priority::max_requests::${cb.maxRequests}`);
    lines.push(`${c.name}::default_priority::max_retries::${cb.maxRetries}`);
    lines.push(`${c.name}::added_via_api::true`);
    for (const h of c.hosts) {
      const p = `${c.name}::${h.key}`;
      lines.push(`${p}::cx_active::${h.connections}`);
      lines.push(`${p}::cx_connect_fail::${h.connectFailures}`);
      lines.push(`${p}::rq_active::${h.active}`);
      lines.push(`${p}::rq_error::${h.errors}`);
      lines.push(`${p}::rq_total::${h.total}`);
      lines.push(`${p}::hostname::${h.hostname}`);
      const od = c.outlier?.view(h.key);
      lines.push(`${p}::health_flags::${od?.ejected ? '/failed_outlier_check' : healthFlags(h)}`);
      if (od) lines.push(`${p}::outlier_ejected::${od.ejected}`, `${p}::outlier_ejections::${od.ejections}`);
      lines.push(`${p}::weight::${h.weight}`);
      lines.push(`${p}::priority::${h.priority}`);
      // Envoy prints the host's locality as region / zone / sub_zone lines.
      if (h.locality) h.locality.split('/').forEach((v, i) => lines.push(`${p}::${['region', 'zone', 'sub_zone'][i]}::${v}`));
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function localityJson(l: string): Record<string, string> {
  const [region, zone, subZone] = l.split('/');
  return { region, zone, sub_zone: subZone };
}

function clustersJson(clusters: Iterable<ClusterRuntime>): unknown {
  return {
    cluster_statuses: sorted(clusters).map((c) => ({
      name: c.name,
      added_via_api: true,
      host_statuses: c.hosts.map((h) => ({
        address: { socket_address: { address: h.ip, port_value: h.port } },
        hostname: h.hostname,
        stats: { cx_active: h.connections, rq_active: h.active, rq_error: h.errors, rq_total: h.total },
        health_status: { eds_health_status: h.health, ...(c.outlier?.isEjected(h.key) ? { failed_outlier_check: true } : {}) },
        ...(c.outlier ? { outlier: c.outlier.view(h.key) } : {}),
        weight: h.weight,
        priority: h.priority,
        ...(h.locality ? { locality: localityJson(h.locality) } : {}),
      })),
    })),
  };
}
