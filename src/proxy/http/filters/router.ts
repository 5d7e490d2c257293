// envoy.filters.http.router: the terminal filter. Direct responses and redirects are answered
// here; forwarding picks the cluster (weighted if configured) and hands over to Forward.
import { LocalReplyReason } from '../../errors.js';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { RedirectAction } from '../../xds/model.js';
import type { RequestContext } from '../context.js';
import { STOP, type FilterStatus, type HttpFilter } from '../filter.js';
import { Forward } from '../forward.js';
import { sendLocalReply } from '../headers.js';

export interface RouterDeps {
  clusters: ClusterManager;
  random: () => number;
}

export class RouterFilter implements HttpFilter {
  readonly name = 'envoy.filters.http.router';
  constructor(private readonly deps: RouterDeps) {}

  onRequest(ctx: RequestContext): FilterStatus {
    const route = ctx.route!;
    const a = route.action;
    switch (a.kind) {
      case 'direct_response':
        sendLocalReply(ctx.res, a.status, a.body, undefined);
        return STOP;
      case 'redirect':
        ctx.res.writeHead(a.status, { location: redirectLocation(ctx, a, route.match.path), 'content-length': 0 });
        ctx.res.end();
        return STOP;
      case 'route': {
        const name = ctx.compiledRoute!.pickCluster(this.deps.random);
        const cluster = this.deps.clusters.get(name);
        if (!cluster) {
          sendLocalReply(ctx.res, a.clusterNotFoundStatus, `weft: cluster "${name}" not found`, LocalReplyReason.clusterNotFound);
          return STOP;
        }
        // Circuit breakers are checked per attempt in Forward (retries count too).
        new Forward(ctx, a, cluster, this.deps.random).start();
        return STOP;
      }
    }
  }
}

export function redirectLocation(ctx: RequestContext, a: RedirectAction, match: { kind: string; value?: string }): string {
  const authority = ctx.authority;
  const colon = authority.lastIndexOf(':');
  const hasPort = colon > 0 && !authority.endsWith(']') && /^\d+$/.test(authority.slice(colon + 1));
  const origHost = hasPort ? authority.slice(0, colon) : authority;
  const origPort = hasPort ? authority.slice(colon) : '';
  const scheme = a.scheme ?? 'http';
  const host = a.host ?? origHost;
  // Keep the request's port unless the redirect names a host, a port or another scheme.
  const port = a.port ? `:${a.port}` : a.host || a.scheme ? '' : origPort;
  const url = ctx.url;
  const q = url.indexOf('?');
  const query = a.stripQuery || q < 0 ? '' : url.slice(q);
  let path: string;
  if (a.path !== undefined) path = a.path.includes('?') ? a.path : a.path + query;
  else if (a.prefixRewrite !== undefined && (match.kind === 'prefix' || match.kind === 'separated_prefix') && match.value !== undefined) {
    path = a.prefixRewrite + ctx.path.slice(match.value.length) + query;
  } else path = ctx.path + query;
  return `${scheme}://${host}${port}${path}`;
}
