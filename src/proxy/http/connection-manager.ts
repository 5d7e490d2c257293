// The HTTP connection manager: for each request, pick the virtual host and route from the
// current route table, then run the filter chain (fault → router).
import { randomUUID } from 'node:crypto';
import { LocalReplyReason } from '../errors.js';
import type { DownstreamRequest, DownstreamResponse } from '../http1/server.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { HttpConnectionManager } from '../xds/model.js';
import { RequestContext } from './context.js';
import { runFilters, type HttpFilter } from './filter.js';
import { FaultFilter } from './filters/fault.js';
import { awaitVirtualHost } from './filters/on-demand.js';
import { RouterFilter } from './filters/router.js';
import { sendLocalReply } from './headers.js';
import { RouteTable } from './route-table.js';
import type { RouteSlot, RouteStore } from './route-store.js';

export interface HcmStats {
  downstream_rq_total: number;
  downstream_rq_no_route: number;
}

export interface HcmDeps {
  routes: RouteStore;
  clusters: ClusterManager;
  random: () => number;
  /** Counters by stat_prefix, shared by every runtime built for that prefix. */
  stats: Map<string, HcmStats>;
}

/** An HttpConnectionManager ready to serve: its route slot and instantiated filters. */
export class HcmRuntime {
  readonly config: HttpConnectionManager;
  readonly routes: RouteSlot;
  readonly filters: HttpFilter[];
  readonly stats: HcmStats;

  constructor(config: HttpConnectionManager, deps: HcmDeps) {
    this.config = config;
    this.routes =
      config.routes.kind === 'rds'
        ? deps.routes.slot(config.routes.name)
        : { name: config.routes.config.name, table: new RouteTable(config.routes.config) };
    this.filters = config.httpFilters.map((f) =>
      f.kind === 'fault' ? new FaultFilter(f.name, f.config, deps.random) : new RouterFilter({ clusters: deps.clusters, random: deps.random }),
    );
    let stats = deps.stats.get(config.statPrefix);
    if (!stats) {
      stats = { downstream_rq_total: 0, downstream_rq_no_route: 0 };
      deps.stats.set(config.statPrefix, stats);
    }
    this.stats = stats;
  }

  /** `resumed`: the request waited for on-demand VHDS and is served now (counted once, asked once). */
  handle(req: DownstreamRequest, res: DownstreamResponse, resumed = false): void {
    if (!resumed) this.stats.downstream_rq_total++;
    const ctx = new RequestContext(req, res);
    const table = this.routes.table;
    if (!table) return this.noRoute(res, `weft: route not found (route configuration "${this.routes.name}" not received yet)`);
    const vh = table.selectVirtualHost(ctx.authority);
    if (!vh) {
      // envoy.filters.http.on_demand: ask VHDS for the host, then serve the request as it arrived.
      if (!resumed && this.config.onDemandVhds && table.config.vhds) {
        return awaitVirtualHost(this.routes, ctx, () => this.handle(req, res, true), (body) => this.noRoute(res, body));
      }
      return this.noRoute(res, `weft: no route for host "${ctx.authority}"`);
    }
    const route = vh.match(ctx);
    if (!route) return this.noRoute(res, 'weft: no route matched');
    ctx.routeConfig = table.config;
    ctx.vhost = vh.vhost;
    ctx.route = route.route;
    ctx.compiledRoute = route;
    if (this.config.generateRequestId && req.headers['x-request-id'] === undefined) req.headers['x-request-id'] = randomUUID();
    runFilters(this.filters, ctx);
  }

  private noRoute(res: DownstreamResponse, body: string): void {
    this.stats.downstream_rq_no_route++;
    sendLocalReply(res, 404, body, LocalReplyReason.noRoute);
  }
}
