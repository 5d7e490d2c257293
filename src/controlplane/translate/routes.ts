// RDS: the explicit-mode outbound route table. One virtual host per (service, port); its routes come
// from the VirtualService that covers the service, or a default route to the whole service.
import type {
  Destination,
  HTTPMatchRequest,
  HTTPRoute,
  HeaderOperations,
  StringMatch,
  VirtualService,
} from '../../config/types.js';
import { hostAliases, resolveHost } from '../model/hosts.js';
import type { ProxyNode } from '../model/proxy-node.js';
import { labelsMatch, type MeshService, type MeshSnapshot } from '../model/snapshot.js';
import { FAULT_FILTER, isHttpProtocol, OUTBOUND_ROUTE, outboundClusterName } from './names.js';
import { destinationRuleFor, effectivePolicy } from './destination-rules.js';
import { defaultRetry, retryPolicy } from './retries.js';
import { ADS_CONFIG_SOURCE, duration, type XdsResource } from './types.js';
import { routeHashPolicy } from './load-balancing.js';

const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';

/** Routes depend on config, services, and the client's namespace and labels (sourceLabels matches). */
export function outboundRouteConfig(snap: MeshSnapshot, client: Pick<ProxyNode, 'namespace' | 'labels'>): XdsResource {
  const virtual_hosts = outboundVirtualHosts(snap, client);
  return { name: OUTBOUND_ROUTE, body: { name: OUTBOUND_ROUTE, virtual_hosts, validate_clusters: { value: false } } };
}

/** Delta streams: the same route configuration with its virtual hosts left to VHDS, which the proxy
 * asks for on demand (https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/vhds). */
export function vhdsRouteConfig(): XdsResource {
  return { name: OUTBOUND_ROUTE, body: { name: OUTBOUND_ROUTE, vhds: { config_source: ADS_CONFIG_SOURCE }, validate_clusters: { value: false } } };
}

/** VHDS resources: Envoy names each `<route configuration name>/<virtual host name>`, and takes the
 * resource name from the VirtualHost's own name, so the name carries the prefix too. */
export function vhdsVirtualHosts(snap: MeshSnapshot, client: Pick<ProxyNode, 'namespace' | 'labels'>): XdsResource[] {
  return outboundVirtualHosts(snap, client).map((vh) => {
    const name = `${OUTBOUND_ROUTE}/${vh.name as string}`;
    return { name, body: { ...vh, name } };
  });
}

function outboundVirtualHosts(snap: MeshSnapshot, client: Pick<ProxyNode, 'namespace' | 'labels'>): Record<string, unknown>[] {
  const virtualHosts: Record<string, unknown>[] = [];
  for (const svc of snap.services) {
    const httpPorts = svc.ports.filter((p) => isHttpProtocol(p.protocol));
    if (!httpPorts.length) continue;
    // A bare host (no port) means port 80 if the service has it, else its first HTTP port.
    const barePort = (httpPorts.find((p) => p.port === 80) ?? httpPorts[0]).port;
    const aliases = hostAliases(svc.hostname, client.namespace, snap.domain);
    for (const port of httpPorts) {
      const domains = aliases.flatMap((a) => (port.port === barePort ? [a, `${a}:${port.port}`] : [`${a}:${port.port}`]));
      virtualHosts.push(serviceVirtualHost(snap, client, svc, port.port, domains));
    }
  }
  return virtualHosts;
}

/** The virtual host of one service port: routes from the VirtualService that covers the service, or
 * a default route to the whole service; `domains` are the names it answers to. */
export function serviceVirtualHost(snap: MeshSnapshot, client: Pick<ProxyNode, 'namespace' | 'labels'>, svc: MeshService, port: number, domains: string[]): Record<string, unknown> {
  const vs = virtualServiceFor(snap, svc.hostname, client.namespace);
  const routes = vs ? vs.spec.http.flatMap((r, i) => httpRoutes(snap, vs, r, i, svc, port, client)) : [defaultRoute(snap, svc, port, client.namespace)];
  // The mesh default retry policy sits once on the virtual host; a route that sets its own replaces it.
  return { name: `${svc.hostname}:${port}`, domains, routes, retry_policy: defaultRetry(hashing(snap, svc, port, client.namespace)) };
}

/** The VirtualService bound to the mesh that covers `hostname`: the client's namespace first, then
 * exact host before wildcard, then the first in config order (Istio resolves conflicts similarly). */
export function virtualServiceFor(snap: MeshSnapshot, hostname: string, clientNamespace: string): VirtualService | undefined {
  let best: { vs: VirtualService; score: number } | undefined;
  for (const { host, rule: vs } of snap.virtualServices.candidates(hostname)) {
    const score = (vs.metadata.namespace === clientNamespace ? 4 : 0) + (host === hostname ? 2 : 0);
    if (!best || score > best.score) best = { vs, score };
  }
  return best?.vs;
}

function defaultRoute(snap: MeshSnapshot, svc: MeshService, port: number, clientNamespace: string): Record<string, unknown> {
  const cluster = outboundClusterName(port, '', svc.hostname);
  return {
    name: 'default',
    match: { prefix: '/' },
    route: { cluster, ...routeTimeout(0), ...routeHashPolicy(snap, clientNamespace, [cluster]) },
  };
}

function httpRoutes(
  snap: MeshSnapshot,
  vs: VirtualService,
  r: HTTPRoute,
  index: number,
  svc: MeshService,
  port: number,
  client: Pick<ProxyNode, 'namespace' | 'labels'>,
): Record<string, unknown>[] {
  const matches = (r.match?.length ? r.match : [undefined]).filter((m) => matchApplies(m, port, client));
  const action = routeAction(snap, vs, r, svc, port, client.namespace);
  return matches.map((m, j) => ({
    name: r.name ?? `${vs.metadata.namespace}/${vs.metadata.name}.http[${index}]${m ? `.match[${j}]` : ''}`,
    match: routeMatch(m),
    ...action,
    ...headerOps(r.headers?.request, 'request'),
    ...headerOps(r.headers?.response, 'response'),
    ...(r.fault ? { typed_per_filter_config: { [FAULT_FILTER]: faultConfig(r.fault) } } : {}),
  }));
}

/** Port, source labels and source namespace decide whether a match exists for this vhost and client. */
function matchApplies(m: HTTPMatchRequest | undefined, port: number, client: Pick<ProxyNode, 'namespace' | 'labels'>): boolean {
  if (!m) return true;
  if (m.port !== undefined && m.port !== port) return false;
  if (m.sourceLabels && !labelsMatch(m.sourceLabels, client.labels)) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== client.namespace) return false;
  return true;
}

function routeMatch(m: HTTPMatchRequest | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const uri = m?.uri;
  if (!uri) out.prefix = '/';
  else if ('exact' in uri) out.path = uri.exact;
  else if ('prefix' in uri) out.prefix = uri.prefix;
  else out.safe_regex = { regex: uri.regex };
  if (m?.ignoreUriCase) out.case_sensitive = { value: false };
  const headers: Record<string, unknown>[] = [];
  const pseudo: Array<[string, StringMatch | undefined]> = [
    [':authority', m?.authority],
    [':method', m?.method],
    [':scheme', m?.scheme],
  ];
  for (const [name, sm] of pseudo) if (sm) headers.push({ name, string_match: stringMatch(sm) });
  for (const [name, hm] of Object.entries(m?.headers ?? {})) headers.push(headerMatcher(name, hm, false));
  for (const [name, hm] of Object.entries(m?.withoutHeaders ?? {})) headers.push(headerMatcher(name, hm, true));
  if (headers.length) out.headers = headers;
  const query = Object.entries(m?.queryParams ?? {}).map(([name, sm]) => ({ name, string_match: stringMatch(sm) }));
  if (query.length) out.query_parameters = query;
  return out;
}

function headerMatcher(name: string, hm: StringMatch | { present: true }, invert: boolean): Record<string, unknown> {
  const base = 'present' in hm ? { name, present_match: true } : { name, string_match: stringMatch(hm) };
  return invert ? { ...base, invert_match: true } : base;
}

function stringMatch(sm: StringMatch): Record<string, unknown> {
  if ('exact' in sm) return { exact: sm.exact };
  if ('prefix' in sm) return { prefix: sm.prefix };
  return { safe_regex: { regex: sm.regex } };
}

function routeAction(snap: MeshSnapshot, vs: VirtualService, r: HTTPRoute, svc: MeshService, port: number, clientNamespace: string): Record<string, unknown> {
  if (r.directResponse)
    return { direct_response: { status: r.directResponse.status, ...(r.directResponse.body !== undefined ? { body: { inline_string: r.directResponse.body } } : {}) } };
  if (r.redirect) {
    const code = { 301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT' }[r.redirect.redirectCode ?? 301];
    return {
      redirect: {
        ...(r.redirect.uri !== undefined ? { path_redirect: r.redirect.uri } : {}),
        ...(r.redirect.authority !== undefined ? { host_redirect: r.redirect.authority } : {}),
        response_code: code ?? 'MOVED_PERMANENTLY',
      },
    };
  }
  const dests = (r.route ?? []).filter((d) => d.weight === undefined || d.weight > 0 || (r.route ?? []).length === 1);
  const clusterOf = (d: Destination) => destinationCluster(snap, vs, d, svc, port);
  const action: Record<string, unknown> =
    dests.length === 1
      ? { cluster: clusterOf(dests[0].destination) }
      : { weighted_clusters: { clusters: dests.map((d) => ({ name: clusterOf(d.destination), weight: { value: d.weight ?? 0 } })) } };
  Object.assign(action, routeTimeout(r.timeoutMs ?? 0));
  if (r.retries) action.retry_policy = retryPolicy(r.retries, hashing(snap, svc, port, clientNamespace));
  if (r.rewrite?.uri !== undefined) action.prefix_rewrite = r.rewrite.uri;
  if (r.rewrite?.authority !== undefined) action.host_rewrite_literal = r.rewrite.authority;
  if (r.mirrors?.length) {
    // Istio's percentage (a double, 100 when unset) as Envoy's FractionalPercent per million.
    action.request_mirror_policies = r.mirrors.map((m) => ({
      cluster: clusterOf(m.destination),
      runtime_fraction: { default_value: { numerator: Math.round((m.percentage?.value ?? 100) * 10_000), denominator: 'MILLION' } },
    }));
  }
  // Consistent hashing: the destinations' DestinationRule says what to hash.
  Object.assign(action, routeHashPolicy(snap, clientNamespace, dests.map((d) => clusterOf(d.destination))));
  return { route: action };
}

/** outbound|<port>|<subset>|<fqdn>. Without an explicit port, a destination that is the vhost's own
 * service keeps the vhost port; another single-port service uses its only port. */
function destinationCluster(snap: MeshSnapshot, vs: VirtualService, d: Destination, svc: MeshService, vhostPort: number): string {
  const hostname = resolveHost(d.host, vs.metadata.namespace, snap.domain);
  let port = d.port?.number;
  if (port === undefined) {
    const target = snap.serviceByHost.get(hostname);
    if (hostname === svc.hostname || !target) port = vhostPort;
    else port = target.ports.some((p) => p.port === vhostPort) || target.ports.length !== 1 ? vhostPort : target.ports[0].port;
  }
  return outboundClusterName(port, d.subset ?? '', hostname);
}

function headerOps(ops: HeaderOperations | undefined, dir: 'request' | 'response'): Record<string, unknown> {
  if (!ops) return {};
  const add = [
    ...Object.entries(ops.set ?? {}).map(([key, value]) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' })),
    ...Object.entries(ops.add ?? {}).map(([key, value]) => ({ header: { key, value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' })),
  ];
  const out: Record<string, unknown> = {};
  if (add.length) out[`${dir}_headers_to_add`] = add;
  if (ops.remove?.length) out[`${dir}_headers_to_remove`] = ops.remove;
  return out;
}

function faultConfig(f: NonNullable<HTTPRoute['fault']>): Record<string, unknown> {
  const pct = (p?: { value: number }) => ({ numerator: Math.round((p?.value ?? 100) * 10_000), denominator: 'MILLION' });
  return {
    '@type': FAULT_TYPE_URL,
    ...(f.delay ? { delay: { fixed_delay: duration(f.delay.fixedDelayMs), percentage: pct(f.delay.percentage) } } : {}),
    ...(f.abort
      ? { abort: { ...(f.abort.grpcStatus !== undefined ? { grpc_status: f.abort.grpcStatus } : { http_status: f.abort.httpStatus }), percentage: pct(f.abort.percentage) } }
      : {}),
  };
}

/** Whether the service's DestinationRule hashes requests to hosts at this port (retries then stay). */
function hashing(snap: MeshSnapshot, svc: MeshService, port: number, clientNamespace: string): { consistentHash: boolean } {
  const dr = destinationRuleFor(snap, svc.hostname, clientNamespace, svc.namespace);
  return { consistentHash: effectivePolicy(dr, port).loadBalancer?.consistentHash !== undefined };
}

/** Istio's route timeout: without one (0s), the route also honours a gRPC client's grpc-timeout
 * header, uncapped (max_stream_duration with grpc_timeout_header_max 0s), so a deadline holds
 * through the mesh; with one, the route timeout rules. */
function routeTimeout(ms: number): Record<string, unknown> {
  if (ms > 0) return { timeout: duration(ms) };
  return { timeout: duration(0), max_stream_duration: { max_stream_duration: duration(0), grpc_timeout_header_max: duration(0) } };
}
