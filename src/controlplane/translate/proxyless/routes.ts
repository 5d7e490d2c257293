// RDS for proxyless gRPC: one route table per service port, named by its canonical target and
// holding that target's virtual host only, so a route gRPC cannot take in one service never makes a
// client of another reject its table. The sidecar's virtual host is the source (one place decides
// routing for both); what gRPC would reject or silently ignore is translated or left out here, and
// `weft analyze` reports the same routes (route-support.ts).
import type { ProxyNode } from '../../model/proxy-node.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import { destinationRuleFor, effectivePolicy } from '../destination-rules.js';
import { isPassthrough } from '../load-balancing.js';
import { serviceVirtualHost } from '../routes.js';
import type { XdsResource } from '../types.js';
import { proxylessTargets } from './targets.js';

type Obj = Record<string, unknown>;

/** gRPC builds no retry policy from a retry_on without gRPC codes; num_retries must stay ≥ 1. */
const NO_RETRY = Object.freeze({ retry_on: '', num_retries: { value: 1 } });
/** What gRPC hashes for a connection-level key: its channel (Istio's proxyless form of sourceIp). */
const CHANNEL_ID_HASH = Object.freeze({ filter_state: { key: 'io.grpc.channel_id' } });

export function proxylessRouteConfigs(snap: MeshSnapshot, client: Pick<ProxyNode, 'namespace' | 'labels'>): XdsResource[] {
  // A PASSTHROUGH destination is an ORIGINAL_DST cluster, which gRPC cannot run (clusters.ts leaves
  // it out): a route to one is left out too, so the set stays consistent.
  const servable = (cluster: string) => !isPassthroughCluster(snap, client.namespace, cluster);
  return proxylessTargets(snap, client.namespace).map((t) => {
    const vh = grpcVirtualHost(serviceVirtualHost(snap, client, t.svc, t.port, t.names), servable);
    return { name: t.route, body: { name: t.route, virtual_hosts: [vh] } };
  });
}

function isPassthroughCluster(snap: MeshSnapshot, clientNamespace: string, cluster: string): boolean {
  const [direction, port, subset, host] = cluster.split('|');
  const svc = direction === 'outbound' ? snap.serviceByHost.get(host) : undefined;
  return svc !== undefined && isPassthrough(effectivePolicy(destinationRuleFor(snap, host, clientNamespace, svc.namespace), Number(port), subset || undefined));
}

/** The clusters a route action sends to. */
const routeClusters = (action: Obj): string[] =>
  typeof action.cluster === 'string' ? [action.cluster] : ((action.weighted_clusters as { clusters?: Array<{ name: string }> } | undefined)?.clusters ?? []).map((c) => c.name);

/** A sidecar virtual host as gRPC takes it; `servable` says which clusters gRPC is sent. */
export function grpcVirtualHost(vh: Obj, servable: (cluster: string) => boolean = () => true): Obj {
  const routes = (vh.routes as Obj[])
    .map(grpcRoute)
    .filter((r): r is Obj => r !== undefined && routeClusters(r.route as Obj).every(servable));
  return { ...vh, routes, ...(vh.retry_policy ? { retry_policy: grpcRetry(vh.retry_policy as Obj) } : {}) };
}

/** One route, or undefined when gRPC cannot take it: a direct response or redirect (gRPC has no
 * such action and would reject the whole table), a query-parameter match (gRPC has no query, and
 * ignoring the match would widen the route). */
export function grpcRoute(r: Obj): Obj | undefined {
  const action = r.route as Obj | undefined;
  const match = r.match as Obj;
  if (!action || match.query_parameters) return undefined;
  const { request_mirror_policies: _m, prefix_rewrite: _p, host_rewrite_literal: _h, ...kept } = action;
  const out: Obj = { ...kept };
  if (action.retry_policy) out.retry_policy = grpcRetry(action.retry_policy as Obj);
  // gRPC reads the route timeout from max_stream_duration (A31), not from `timeout`.
  const timeout = action.timeout as { seconds: number; nanos: number } | undefined;
  if (timeout && (timeout.seconds > 0 || timeout.nanos > 0)) out.max_stream_duration = { max_stream_duration: timeout, grpc_timeout_header_max: timeout };
  const hash = action.hash_policy as Obj[] | undefined;
  if (hash) {
    const kept = hash.flatMap((h) => (h.header ? [h] : (h.connection_properties as Obj | undefined)?.source_ip ? [CHANNEL_ID_HASH] : []));
    if (kept.length) out.hash_policy = kept;
    else delete out.hash_policy;
  }
  const { request_headers_to_add: _a, request_headers_to_remove: _b, response_headers_to_add: _c, response_headers_to_remove: _d, ...route } = r;
  return { ...route, route: out };
}

/** attempts 0 (num_retries 0), which gRPC rejects, becomes a policy that retries nothing. */
function grpcRetry(p: Obj): Obj {
  return (p.num_retries as { value: number } | undefined)?.value === 0 ? NO_RETRY : p;
}
