// envoy.filters.http.on_demand (VHDS only): a request whose host has no virtual host in a VHDS route
// table waits while the proxy subscribes to `<route configuration name>/<host>`. Then it is routed,
// or gets the usual 404 no-route reply if the host does not exist, or a retriable 503 if the control
// plane did not answer in time (see ON_DEMAND_TIMEOUT_MS) or its answer was invalid.
// The connection manager calls this where its virtual host lookup misses, which is where Envoy's
// filter acts (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/on_demand_updates_filter).
import { LocalReplyReason } from '../../errors.js';
import type { RequestContext } from '../context.js';
import { sendLocalReply } from '../headers.js';
import type { RouteSlot } from '../route-store.js';

export function awaitVirtualHost(slot: RouteSlot, ctx: RequestContext, resume: () => void, noRoute: (body: string) => void): void {
  const host = ctx.authority;
  const notFound = `weft: no route for host "${host}"`;
  if (!host || !slot.requestVirtualHost) return noRoute(notFound);
  slot.requestVirtualHost(host).then((answer) => {
    if (ctx.res.destroyed || ctx.res.headersSent) return; // the client gave up while waiting
    switch (answer) {
      case 'found':
        return resume();
      case 'missing':
        return noRoute(notFound);
      case 'timeout':
        return sendLocalReply(ctx.res, 503, `weft: no answer from the control plane for host "${host}" (VHDS)`, LocalReplyReason.vhdsUnavailable);
      case 'rejected':
        return sendLocalReply(ctx.res, 503, `weft: the virtual host for "${host}" was rejected (NACKed)`, LocalReplyReason.vhdsUnavailable);
    }
  }, (err: Error) => ctx.res.destroy(err));
}
