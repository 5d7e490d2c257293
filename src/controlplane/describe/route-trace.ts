// Which route one request would take, and why: the control plane's translation for the calling proxy,
// its route table and the clusters the route names decoded and validated by the proxy's own edge, and
// matched by the proxy's own route table (RouteTable), so the
// answer is what a sidecar does, not a second matcher's opinion. Rule indexes come back from the route
// names the translator gives (`ns/name.http[i].match[j]`, or the rule's own name).
import { RouteTable, type CompiledRoute } from '../../proxy/http/route-table.js';
import type { RequestView } from '../../proxy/http/stream.js';
import type { HeaderMatcher, Route, RouteMatch, StringMatcher } from '../../proxy/xds/model.js';
import type { VirtualService } from '../../config/types.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshService, MeshSnapshot } from '../model/snapshot.js';
import { OUTBOUND_ROUTE, isHttpProtocol, portRouteName } from '../translate/names.js';
import { virtualServiceFor } from '../translate/routes.js';
import { translate } from '../translate/index.js';
import { clusterEndpoints, decodeNamed, type Decoded } from './proxy-view.js';
import type { ResourceSet } from '../translate/types.js';
import { VirtualHostIndex } from '../xds/vhds-index.js';

export interface TraceRequest {
  path: string;
  method?: string;
  /** Lower-cased names. */
  headers?: Record<string, string>;
  /** The service port called (default: the service's first HTTP port). */
  port?: number;
}

export interface TracedDestination {
  cluster: string;
  host: string;
  subset: string;
  port: number;
  /** Share of requests in percent (100 for a single destination). */
  percent: number;
  /** The cluster's endpoints as the client proxy holds them. */
  endpoints: string[];
}

export interface RouteTrace {
  request: { authority: string; method: string; path: string; headers: Record<string, string> };
  /** The proxy whose route table decided (`synthetic`: no such proxy connected; one in the service's namespace). */
  client: string;
  virtualHost?: string;
  /** The route's name in the proxy's table. */
  route?: string;
  virtualService?: string;
  /** spec.http index and match index of the VirtualService rule that produced the route. */
  rule?: number;
  match?: number;
  /** The route's match as the proxy runs it (`prefix /`, `header end-user exact "jason"`). */
  matched?: string;
  /** Routes before it that the request did not match, in table order. */
  notMatched: Array<{ route: string; match: string }>;
  outcome: 'route' | 'redirect' | 'direct_response' | 'no_virtual_host' | 'no_route' | 'rejected';
  status?: number;
  destinations: TracedDestination[];
  /** Plain sentences: why this route, what is left out for this client. */
  notes: string[];
}

/** The route table a client runs for calls to `port`: the explicit outbound one, or a captured proxy's per-port table. */
const routeTableName = (client: ProxyNode, port: number): string => (client.interceptionMode === 'REDIRECT' ? portRouteName(port) : OUTBOUND_ROUTE);

/** The route table cut to the virtual host a Delta proxy would fetch for `authority` over VHDS (the
 * control plane's own resolution, vhds-index.ts), so a mesh of hundreds of services is not decoded
 * whole for one question; the proxy's RouteTable then selects and matches within it as usual. */
function onlyVirtualHostFor(set: ResourceSet, routeName: string, authority: string): ResourceSet {
  const rc = set.route.find((r) => r.name === routeName);
  const vhosts = (rc?.body.virtual_hosts ?? []) as Array<{ name: string; domains: string[] }>;
  if (!rc || vhosts.length <= 1) return set;
  const index = new VirtualHostIndex(routeName, vhosts.map((v) => ({ name: `${routeName}/${v.name}`, domains: v.domains })));
  const found = index.resolve(`${routeName}/${authority}`);
  const keep = found.kind === 'resource' ? vhosts.filter((v) => `${routeName}/${v.name}` === found.name) : [];
  return { ...set, route: [{ name: rc.name, body: { ...rc.body, virtual_hosts: keep } }] };
}

/** The clusters a route sends to, and their EDS sets, decoded as the client proxy would hold them. */
function destinationView(set: ResourceSet, clusters: string[]): Decoded | string[] {
  const c = decodeNamed(set, 'cluster', new Set(clusters));
  if (!c.ok) return c.errors;
  const e = decodeNamed(set, 'endpoint', new Set(c.result.map((x) => x.model.edsServiceName).filter((n): n is string => !!n)));
  if (!e.ok) return e.errors;
  return { cluster: c.result, endpoint: e.result, listener: [], route: [] };
}

export function traceRequest(snap: MeshSnapshot, svc: MeshService, client: ProxyNode, req: TraceRequest, clientLabel: string): RouteTrace {
  const port = req.port ?? svc.ports.find((p) => isHttpProtocol(p.protocol))?.port ?? svc.ports[0]?.port ?? 80;
  const authority = `${svc.hostname}:${port}`;
  const method = (req.method ?? 'GET').toUpperCase();
  const headers = req.headers ?? {};
  const trace: RouteTrace = { request: { authority, method, path: req.path, headers }, client: clientLabel, notMatched: [], outcome: 'no_virtual_host', destinations: [], notes: [] };
  const set = translate(snap, client);
  const routes = decodeNamed(onlyVirtualHostFor(set, routeTableName(client, port), authority), 'route', new Set([routeTableName(client, port)]));
  if (!routes.ok) return rejected(trace, routes.errors);
  const rc = routes.result[0]?.model;
  const vh = rc ? new RouteTable(rc).selectVirtualHost(authority) : undefined;
  if (!vh) {
    trace.notes.push(`no virtual host answers ${authority} for this client (not an HTTP port of the service, or not visible to it): 404 NR`);
    return trace;
  }
  trace.virtualHost = vh.vhost.name;
  const call = requestView(authority, method, req.path, headers);
  let hit: CompiledRoute | undefined;
  for (const r of vh.routes) {
    if (r.matches(call)) {
      hit = r;
      break;
    }
    trace.notMatched.push({ route: r.route.name, match: describeRouteMatch(r.route.match) });
  }
  const vs = virtualServiceFor(snap, svc.hostname, client.namespace);
  if (vs) {
    trace.virtualService = `${vs.metadata.namespace}/${vs.metadata.name}`;
    trace.notes.push(...rulesLeftOut(vs, vh.routes.map((r) => r.route.name)));
  } else trace.notes.push(`no VirtualService covers ${svc.hostname}: the default route sends to every endpoint of the service`);
  if (!hit) {
    trace.outcome = 'no_route';
    trace.notes.push('no route matches: the proxy answers 404 (NR)');
    return trace;
  }
  trace.route = hit.route.name;
  trace.matched = describeRouteMatch(hit.route.match);
  if (vs) Object.assign(trace, ruleOf(vs, hit.route.name));
  const a = hit.route.action;
  const view = destinationView(set, a.kind !== 'route' ? [] : a.cluster.kind === 'cluster' ? [a.cluster.name] : a.cluster.clusters.map((c) => c.name));
  if (Array.isArray(view)) return rejected(trace, view);
  fillAction(trace, hit.route, view);
  return trace;
}

function rejected(trace: RouteTrace, errors: string[]): RouteTrace {
  trace.outcome = 'rejected';
  trace.notes.push(`the proxy would reject this configuration (NACK): ${errors.join('; ')}`);
  return trace;
}

function fillAction(trace: RouteTrace, route: Route, view: Decoded): void {
  const a = route.action;
  if (a.kind === 'redirect') {
    trace.outcome = 'redirect';
    trace.status = a.status;
    return;
  }
  if (a.kind === 'direct_response') {
    trace.outcome = 'direct_response';
    trace.status = a.status;
    return;
  }
  trace.outcome = 'route';
  const clusters = a.cluster.kind === 'cluster' ? [{ name: a.cluster.name, weight: 1 }] : a.cluster.clusters.filter((c) => c.weight > 0);
  const total = clusters.reduce((s, c) => s + c.weight, 0);
  trace.destinations = clusters.map((c) => {
    const [, port = '0', subset = '', host = c.name] = c.name.split('|');
    const eps = clusterEndpoints(view, c.name);
    return {
      cluster: c.name,
      host,
      subset,
      port: Number(port),
      percent: total > 0 ? Math.round((c.weight / total) * 1000) / 10 : 0,
      endpoints: (eps ?? []).map((e) => `${e.host}:${e.port}`),
    };
  });
  for (const d of trace.destinations) {
    if (!view.cluster.some((c) => c.name === d.cluster)) trace.notes.push(`cluster ${d.cluster} does not exist for this client: requests get 503 (NC)`);
    else if (d.endpoints.length === 0) trace.notes.push(`${d.cluster} has no endpoints${d.subset ? ` (no workload carries subset ${d.subset}'s labels)` : ''}: requests get 503 (UH)`);
  }
}

/** Rule and match index from the translator's route name, or the rule whose `name` it is. */
function ruleOf(vs: VirtualService, routeName: string): { rule?: number; match?: number } {
  const m = /\.http\[(\d+)\](?:\.match\[(\d+)\])?$/.exec(routeName);
  if (m && routeName.startsWith(`${vs.metadata.namespace}/${vs.metadata.name}.`)) return { rule: Number(m[1]), ...(m[2] !== undefined ? { match: Number(m[2]) } : {}) };
  const i = vs.spec.http.findIndex((r) => r.name === routeName);
  return i >= 0 ? { rule: i } : {};
}

/** Rules of the VirtualService with no route in this client's table: their port, sourceLabels or
 * sourceNamespace leave them out for this client. */
function rulesLeftOut(vs: VirtualService, routeNames: string[]): string[] {
  const present = new Set<number>();
  for (const n of routeNames) {
    const r = ruleOf(vs, n).rule;
    if (r !== undefined) present.add(r);
  }
  return vs.spec.http.flatMap((_, i) => (present.has(i) ? [] : [`http[${i}] is not in this client's route table (its port, sourceLabels or sourceNamespace do not fit this client and port)`]));
}

function requestView(authority: string, method: string, url: string, headers: Record<string, string>): RequestView {
  const [path, query = ''] = url.split('?');
  const params = new URLSearchParams(query);
  return {
    method,
    url,
    path,
    authority,
    header: (name) => {
      const n = name.toLowerCase();
      return n === ':authority' ? authority : n === ':path' ? url : n === ':method' ? method : n === ':scheme' ? 'http' : headers[n];
    },
    queryParam: (name) => params.get(name) ?? undefined,
  };
}

function stringMatcherText(m: StringMatcher): string {
  if (m.kind === 'regex') return `regex ${JSON.stringify(m.regex.source)}`;
  return `${m.kind} ${JSON.stringify(m.value)}${m.ignoreCase ? ' (any case)' : ''}`;
}

function headerText(h: HeaderMatcher): string {
  const what = h.match.kind === 'present' ? (h.match.present ? 'present' : 'absent') : h.match.kind === 'range' ? `in [${h.match.start}, ${h.match.end})` : stringMatcherText(h.match.matcher);
  return `${h.invert ? 'not ' : ''}header ${h.name} ${what}`;
}

/** A proxy route match in words: `prefix "/"`, `path "/login" and header end-user exact "jason"`. */
export function describeRouteMatch(m: RouteMatch): string {
  const p = m.path;
  const parts = [p.kind === 'regex' ? `path regex ${JSON.stringify(p.regex.source)}` : `${p.kind === 'path' ? 'path' : 'prefix'} ${JSON.stringify(p.value)}${m.caseSensitive ? '' : ' (any case)'}`];
  parts.push(...m.headers.map(headerText));
  parts.push(...m.queryParams.map((q) => `query ${q.name} ${q.matcher ? stringMatcherText(q.matcher) : 'present'}`));
  return parts.join(' and ');
}
