// The HTTP connection manager: for each request, normalise the path, pick the virtual host and route
// from the current route table, create the stream record and run the filter chain (fault → router,
// with on-demand VHDS a filter like the others). The stream ends in one place, complete(): it seals
// the record, tells every filter (the router lets its upstream go there), counts the outcome and
// hands the record to the HCM's tracer (its `tracing` field), which also saw the request head.
import type { OutgoingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { DownstreamRequest, DownstreamResponse } from './codec.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { HttpConnectionManager, TrafficDirection } from '../xds/model.js';
import { reporterFor, type ProxyTelemetry } from '../telemetry/telemetry.js';
import { runFilters, type HttpFilter, type HttpFilterDeps } from './filter.js';
import { httpFilterTypes } from './filters/registry.js';
import { GrpcFrameCounter } from './grpc-frames.js';
import { createHeaderMap } from './header-map.js';
import { sendLocalReply } from './local-reply.js';
import { normalizePath } from './path-normalize.js';
import { ResponseFlag } from './response-flags.js';
import type { RouteSlot, RouteStore } from './route-store.js';
import { RouteTable } from './route-table.js';
import { HttpStream } from './stream.js';
import { createAccessLoggers, logAll, type AccessLogDeps, type AccessLogger } from '../telemetry/access-log/logger.js';
import type { Logger } from '../log.js';
import { HcmTracer, type TracingDeps } from '../telemetry/tracing/tracer.js';

export interface HcmStats {
  downstream_rq_total: number;
  downstream_rq_active: number;
  downstream_rq_no_route: number;
  downstream_rq_1xx: number;
  downstream_rq_2xx: number;
  downstream_rq_3xx: number;
  downstream_rq_4xx: number;
  downstream_rq_5xx: number;
  /** Streams that ended without a complete response (reset, or the client left). */
  downstream_rq_rx_reset: number;
  downstream_rq_idle_timeout: number;
  downstream_rq_overload: number;
  downstream_rq_path_rejected: number;
  /** Streams that ended with each response flag (`response_flag.UF`, …). */
  [flag: `response_flag.${string}`]: number;
  /** Counters HTTP filters keep under the HCM's prefix (`rbac.allowed`, `jwt_authn.denied`, …), as Envoy names them. */
  [filterStat: `rbac.${string}` | `jwt_authn.${string}`]: number;
}

function newStats(): HcmStats {
  return {
    downstream_rq_total: 0,
    downstream_rq_active: 0,
    downstream_rq_no_route: 0,
    downstream_rq_1xx: 0,
    downstream_rq_2xx: 0,
    downstream_rq_3xx: 0,
    downstream_rq_4xx: 0,
    downstream_rq_5xx: 0,
    downstream_rq_rx_reset: 0,
    downstream_rq_idle_timeout: 0,
    downstream_rq_overload: 0,
    downstream_rq_path_rejected: 0,
  };
}

/** Active requests of one listener, capped by the overload limit. */
export interface ListenerLoad {
  active: number;
  readonly maxActiveRequests: number;
}

export interface HcmDeps {
  routes: RouteStore;
  clusters: ClusterManager;
  random: () => number;
  /** Counters by stat_prefix, shared by every runtime built for that prefix. */
  stats: Map<string, HcmStats>;
  load: ListenerLoad;
  /** The proxy's telemetry (absent: metrics off) and the listener's traffic direction (its reporter). */
  telemetry?: ProxyTelemetry;
  direction?: TrafficDirection;
  /** Where access-log lines go (absent: the HCM's access_log is not run, as in unit tests). */
  accessLogs?: AccessLogDeps;
  /** The `http` logger: one debug line per finished stream when it is at debug. */
  log?: Logger;
  /** What the HCM's `tracing` needs (absent: an HCM with `tracing` only keeps x-request-id). */
  tracing?: TracingDeps;
}

const IDLE_SWEEP_MIN_MS = 250;

/** An HttpConnectionManager ready to serve: its route slot and instantiated filters. */
export class HcmRuntime {
  readonly config: HttpConnectionManager;
  readonly routes: RouteSlot;
  readonly filters: HttpFilter[];
  readonly stats: HcmStats;
  private readonly load: ListenerLoad;
  private readonly accessLoggers: AccessLogger[];
  private readonly log: Logger | undefined;
  private readonly tracer: HcmTracer | undefined;
  /** Streams under way (stream_idle_timeout reads their last activity). */
  private readonly active = new Set<HttpStream>();
  private idleSweep: NodeJS.Timeout | undefined;

  constructor(config: HttpConnectionManager, deps: HcmDeps) {
    this.config = config;
    this.load = deps.load;
    this.log = deps.log;
    this.tracer = config.tracing && deps.tracing ? new HcmTracer(config.tracing, deps.direction ?? 'UNSPECIFIED', deps.tracing) : undefined;
    this.routes =
      config.routes.kind === 'rds'
        ? deps.routes.slot(config.routes.name)
        : { name: config.routes.config.name, table: new RouteTable(config.routes.config) };
    let stats = deps.stats.get(config.statPrefix);
    if (!stats) {
      stats = newStats();
      deps.stats.set(config.statPrefix, stats);
    }
    this.stats = stats;
    this.accessLoggers = createAccessLoggers(config.accessLog, deps.accessLogs);
    const filterDeps: HttpFilterDeps = {
      clusters: deps.clusters,
      random: deps.random,
      routes: this.routes,
      reselectRoute: (s) => this.selectRoute(s),
      stats,
      telemetry: deps.telemetry,
      reporter: reporterFor(deps.direction ?? 'UNSPECIFIED'),
    };
    this.filters = config.httpFilters.map((f) => {
      const type = httpFilterTypes.get(f.typeUrl);
      // Validation admits only registered types; this is a programming error if it happens.
      if (!type) throw new Error(`http filter ${f.name}: type ${f.typeUrl} is not registered`);
      return type.create(f.name, f.config, filterDeps);
    });
  }

  handle(req: DownstreamRequest, res: DownstreamResponse): void {
    const stats = this.stats;
    stats.downstream_rq_total++;
    const stream = new HttpStream(req, res);
    stream.filters = this.filters;
    stream.hcmUpgrades = this.config.upgrades;
    // gRPC message counts (Istio's istio_request/response_messages_total): only gRPC streams pay.
    if (stream.isGrpc) {
      const frames = new GrpcFrameCounter();
      req.onBodyChunk = (c) => (stream.info.requestMessages += frames.push(c));
    }
    stats.downstream_rq_active++;
    this.load.active++;
    this.active.add(stream);
    res.once('close', () => this.complete(stream));
    if (this.config.streamIdleTimeoutMs > 0) this.startIdleSweep();
    if (this.config.maxRequestsPerConnection > 0 && req.requestIndex >= this.config.maxRequestsPerConnection) res.closeConnectionAfter();
    if (this.load.active > this.load.maxActiveRequests) {
      stats.downstream_rq_overload++;
      res.closeConnectionAfter();
      return sendLocalReply(stream, { status: 503, flag: ResponseFlag.overloadManager, details: 'overload_active_requests', body: 'weft: overloaded: too many active requests on this listener' });
    }
    if (!this.normalize(stream)) return;
    if (this.config.generateRequestId && req.headers['x-request-id'] === undefined) req.headers['x-request-id'] = randomUUID();
    const requestId = req.headers['x-request-id'];
    if (requestId !== undefined) stream.info.requestId = Array.isArray(requestId) ? requestId[0] : requestId;
    this.selectRoute(stream);
    this.tracer?.start(stream);
    runFilters(this.filters, stream);
  }

  /** Path normalisation before routing; false when the request was answered instead. */
  private normalize(stream: HttpStream): boolean {
    const o = this.config.path;
    if (!o.normalize && !o.mergeSlashes && o.escapedSlashes === 'KEEP_UNCHANGED') return true;
    if (stream.url.charCodeAt(0) !== 47 /* '/' */) return true;
    const n = normalizePath(stream.path, o);
    if (n.kind === 'ok') {
      if (n.path !== stream.path) stream.setPath(n.path);
      return true;
    }
    this.stats.downstream_rq_path_rejected++;
    if (n.kind === 'reject') {
      sendLocalReply(stream, { status: 400, flag: ResponseFlag.downstreamProtocolError, details: 'path_normalization_failed', body: `weft: ${n.why}` });
      return false;
    }
    const headers: OutgoingHttpHeaders = createHeaderMap();
    const q = stream.url.indexOf('?');
    headers.location = n.path + (q < 0 ? '' : stream.url.slice(q));
    sendLocalReply(stream, { status: 307, details: 'path_unescaped_redirect', body: '', headers });
    return false;
  }

  /** Pick the virtual host and route for the stream (again after on-demand VHDS). */
  selectRoute(stream: HttpStream): void {
    stream.route = stream.vhost = stream.compiledRoute = stream.routeConfig = undefined;
    const table = this.routes.table;
    if (!table) {
      stream.noRouteDetails = `route not found (route configuration "${this.routes.name}" not received yet)`;
      return;
    }
    stream.routeConfig = table.config;
    const vh = table.selectVirtualHost(stream.authority);
    if (!vh) {
      stream.noRouteDetails = `no route for host "${stream.authority}"`;
      return;
    }
    stream.vhost = vh.vhost;
    stream.info.virtualHostName = vh.vhost.name;
    const route = vh.match(stream);
    if (!route) {
      stream.noRouteDetails = 'no route matched';
      return;
    }
    stream.route = route.route;
    stream.compiledRoute = route;
    stream.info.routeName = route.route.name;
    // Envoy records the route's cluster when the route is chosen: a request answered before the
    // router (a fault, an RBAC denial) still logs it. Weighted clusters are picked by the router.
    const action = route.route.action;
    if (action.kind === 'route' && action.cluster.kind === 'cluster') stream.info.clusterName = action.cluster.name;
  }

  /** The one place a stream ends. */
  private complete(stream: HttpStream): void {
    const info = stream.info;
    if (!info.finalize()) return;
    info.bytesReceived = stream.req.bodyBytesReceived;
    this.active.delete(stream);
    this.load.active--;
    const stats = this.stats;
    stats.downstream_rq_active--;
    for (const f of this.filters) f.onStreamComplete?.(stream);
    if (!stream.res.finished) {
      stats.downstream_rq_rx_reset++;
      if (info.responseFlags.length === 0) info.addFlag(ResponseFlag.downstreamConnectionTermination);
    }
    const code = info.responseCode;
    if (code >= 100 && stream.res.finished) stats[`downstream_rq_${Math.floor(code / 100)}xx` as 'downstream_rq_2xx']++;
    if (info.hasFlag(ResponseFlag.noRouteFound) && code === 404) stats.downstream_rq_no_route++;
    for (const f of info.responseFlags) stats[`response_flag.${f}`] = (stats[`response_flag.${f}`] ?? 0) + 1;
    if (this.accessLoggers.length > 0) logAll(this.accessLoggers, stream);
    // Off (the default): one boolean read, no string built.
    if (this.log?.debugOn)
      this.log.debug(`${this.config.statPrefix}: ${stream.method} ${stream.authority}${stream.path} route=${info.routeName || '-'} cluster=${info.clusterName || '-'} upstream=${info.upstreamHost || '-'} code=${code} flags=${info.responseFlags.join(',') || '-'}`);
    this.tracer?.finish(stream);
  }

  private startIdleSweep(): void {
    if (this.idleSweep) return;
    const timeout = this.config.streamIdleTimeoutMs;
    this.idleSweep = setInterval(() => {
      if (this.active.size === 0) {
        clearInterval(this.idleSweep);
        this.idleSweep = undefined;
        return;
      }
      const cutoff = Date.now() - timeout;
      for (const stream of this.active) {
        // Request body bytes count as activity too (the codec counts them).
        const rx = stream.req.bodyBytesReceived;
        if (rx !== stream.bodyBytesSeen) {
          stream.bodyBytesSeen = rx;
          stream.lastActivity = Date.now();
        }
        if (stream.lastActivity > cutoff) continue;
        this.stats.downstream_rq_idle_timeout++;
        // Envoy: 408 when nothing was sent yet, else the stream is reset.
        sendLocalReply(stream, { status: 408, flag: ResponseFlag.streamIdleTimeout, details: 'stream_idle_timeout', body: 'stream timeout' });
        if (!stream.res.finished) stream.res.destroy();
      }
    }, Math.max(IDLE_SWEEP_MIN_MS, Math.min(1000, timeout / 4))).unref();
  }
}
