// envoy.filters.http.router: the terminal filter. No route → 404 (NR); direct responses and
// redirects are answered here; forwarding picks the cluster (weighted if configured) and hands the
// stream to Forward, which the stream's completion ends on every path.
import { ROUTER_TYPE_URL } from '../../../api/envoy.js';
import type { RedirectAction } from '../../xds/model.js';
import { has, join } from '../../xds/validate-common.js';
import { STOP, type FilterStatus, type HttpFilter, type HttpFilterDeps, type HttpFilterType } from '../filter.js';
import { Forward } from '../forward.js';
import { createHeaderMap } from '../header-map.js';
import { sendLocalReply } from '../local-reply.js';
import { ResponseFlag } from '../response-flags.js';
import type { HttpStream } from '../stream.js';

/** Router fields that would change behaviour and are not implemented. */
const unsupportedRouterFields = ['upstream_http_filters', 'strict_check_headers', 'respect_expected_rq_timeout', 'suppress_grpc_request_failure_code_stats'];

export const routerFilterType: HttpFilterType<null> = {
  typeUrl: ROUTER_TYPE_URL,
  terminal: true,
  parse(raw, path, p) {
    for (const f of unsupportedRouterFields) if (has(raw, f)) p.add(join(path, f), 'not supported');
    return null;
  },
  create: (_name, _config, deps) => new RouterFilter(deps),
};

export class RouterFilter implements HttpFilter {
  readonly name = 'envoy.filters.http.router';
  constructor(private readonly deps: HttpFilterDeps) {}

  onRequest(stream: HttpStream): FilterStatus {
    const route = stream.route;
    if (!route) {
      sendLocalReply(stream, { status: 404, flag: ResponseFlag.noRouteFound, details: 'no_route', body: `weft: ${stream.noRouteDetails || 'no route matched'}` });
      return STOP;
    }
    const a = route.action;
    switch (a.kind) {
      case 'direct_response': {
        stream.info.details = 'direct_response';
        const headers = createHeaderMap();
        headers['content-type'] = 'text/plain; charset=utf-8';
        headers['content-length'] = String(Buffer.byteLength(a.body));
        stream.respond(a.status, headers);
        stream.res.end(a.body);
        return STOP;
      }
      case 'redirect': {
        stream.info.details = 'redirect';
        const headers = createHeaderMap();
        headers.location = redirectLocation(stream, a, route.match.path);
        headers['content-length'] = '0';
        stream.respond(a.status, headers);
        stream.res.end();
        return STOP;
      }
      case 'route': {
        const name = stream.compiledRoute!.pickCluster(this.deps.random);
        stream.info.clusterName = name;
        const cluster = this.deps.clusters.get(name);
        if (!cluster) {
          sendLocalReply(stream, { status: a.clusterNotFoundStatus, flag: ResponseFlag.noClusterFound, details: 'cluster_not_found', body: `weft: cluster "${name}" not found` });
          return STOP;
        }
        // Circuit breakers are checked per attempt in Forward (retries count too).
        const upgrade = stream.requestedUpgrade;
        if (upgrade !== undefined) {
          // Envoy: an upgrade neither the route nor the HCM allows is refused with 403.
          if (!(a.upgrades[upgrade] ?? stream.hcmUpgrades.has(upgrade))) {
            sendLocalReply(stream, { status: 403, details: 'upgrade_failed', body: `weft: upgrade to "${upgrade}" is not enabled for this route` });
            return STOP;
          }
          stream.upgradeType = upgrade;
        }
        const fwd = new Forward(stream, a, cluster, this.deps.random, this.deps.clusters);
        stream.upstream = fwd;
        fwd.start();
        return STOP;
      }
    }
  }

  /** The one place an upstream request is let go: answered, reset, timed out or the client left. */
  onStreamComplete(stream: HttpStream): void {
    stream.upstream?.onStreamComplete();
    stream.upstream = undefined;
  }
}

export function redirectLocation(stream: HttpStream, a: RedirectAction, match: { kind: string; value?: string }): string {
  const authority = stream.authority;
  const colon = authority.lastIndexOf(':');
  const hasPort = colon > 0 && !authority.endsWith(']') && /^\d+$/.test(authority.slice(colon + 1));
  const origHost = hasPort ? authority.slice(0, colon) : authority;
  const origPort = hasPort ? authority.slice(colon) : '';
  const scheme = a.scheme ?? 'http';
  const host = a.host ?? origHost;
  // Keep the request's port unless the redirect names a host, a port or another scheme.
  const port = a.port ? `:${a.port}` : a.host || a.scheme ? '' : origPort;
  const url = stream.url;
  const q = url.indexOf('?');
  const query = a.stripQuery || q < 0 ? '' : url.slice(q);
  let path: string;
  if (a.path !== undefined) path = a.path.includes('?') ? a.path : a.path + query;
  else if (a.prefixRewrite !== undefined && (match.kind === 'prefix' || match.kind === 'separated_prefix') && match.value !== undefined) {
    path = a.prefixRewrite + stream.path.slice(match.value.length) + query;
  } else path = stream.path + query;
  return `${scheme}://${host}${port}${path}`;
}
