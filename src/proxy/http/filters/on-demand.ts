// envoy.filters.http.on_demand (VHDS): a request whose host has no virtual host in a VHDS route
// table waits while the proxy subscribes to `<route configuration name>/<host>`; then its route is
// picked again and the chain goes on (the router answers 404 if the host does not exist), or it
// gets a retriable 503 if the control plane did not answer in time or its answer was NACKed.
// https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/on_demand_updates_filter
import { ON_DEMAND_TYPE_URL } from '../../../api/envoy.js';
import { has, join, obj } from '../../xds/validate-common.js';
import { CONTINUE, STOP, type FilterStatus, type HttpFilter, type HttpFilterDeps, type HttpFilterType } from '../filter.js';
import { sendLocalReply } from '../local-reply.js';
import { ResponseFlag } from '../response-flags.js';
import type { HttpStream } from '../stream.js';

export const onDemandFilterType: HttpFilterType<null> = {
  typeUrl: ON_DEMAND_TYPE_URL,
  parse(raw, path, p) {
    // On-demand VHDS only; on-demand CDS (odcds) would need clusters discovered per request.
    if (has(raw, 'odcds')) p.add(join(path, 'odcds'), 'on-demand cluster discovery is not supported');
    return null;
  },
  parsePerRoute(raw, path, p) {
    if (has(obj(raw), 'odcds')) p.add(join(path, 'odcds'), 'on-demand cluster discovery is not supported');
    return null;
  },
  create: (name, _config, deps) => new OnDemandFilter(name, deps),
};

export class OnDemandFilter implements HttpFilter {
  constructor(
    readonly name: string,
    private readonly deps: HttpFilterDeps,
  ) {}

  onRequest(stream: HttpStream): FilterStatus | Promise<FilterStatus> {
    const slot = this.deps.routes;
    const host = stream.authority;
    if (stream.vhost || !host || !slot.requestVirtualHost || !slot.table?.config.vhds) return CONTINUE;
    return slot.requestVirtualHost(host).then((answer): FilterStatus => {
      if (stream.res.destroyed || stream.res.headersSent) return STOP; // the client gave up while waiting
      switch (answer) {
        case 'found':
          this.deps.reselectRoute(stream);
          return CONTINUE;
        case 'missing':
          return CONTINUE;
        case 'timeout':
        case 'rejected':
          sendLocalReply(stream, {
            status: 503,
            flag: ResponseFlag.noRouteFound,
            details: 'vhds_unavailable',
            body:
              answer === 'timeout'
                ? `weft: no answer from the control plane for host "${host}" (VHDS)`
                : `weft: the virtual host for "${host}" was rejected (NACKed)`,
          });
          return STOP;
      }
    });
  }
}
