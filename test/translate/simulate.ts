// Simulation helpers: control-plane output as the proxy would run it (encoded, decoded and validated
// by the proxy's own edge), and synthetic calls and connections pushed through it — filter chains
// chosen by the proxy's FilterChainSelector, hosts and routes by its RouteTable. Behaviour, not
// proto shape (istio pilot/pkg/simulation).
import { type Decoded } from '../../src/controlplane/describe/proxy-view.js';
import { FilterChainSelector } from '../../src/proxy/listener/filter-chain.js';
import { RouteTable } from '../../src/proxy/http/route-table.js';
import type { RequestView } from '../../src/proxy/http/stream.js';
export { decodeSet, type Decoded, type Decoding } from '../../src/controlplane/describe/proxy-view.js';
import type { FilterChain, Listener, ModelByType, RouteConfiguration } from '../../src/proxy/xds/model.js';

export function request(host: string, p = '/', headers: Record<string, string> = {}): RequestView {
  const [pathOnly, query = ''] = p.split('?');
  const params = new URLSearchParams(query);
  return {
    method: 'GET',
    url: p,
    path: pathOnly,
    authority: host,
    header: (name) => (name === ':authority' ? host : name === ':path' ? p : name === ':method' ? 'GET' : headers[name.toLowerCase()]),
    queryParam: (name) => params.get(name) ?? undefined,
  };
}

/** Where one call lands in a route table: a cluster, a local reply, or why neither. */
export type RouteOutcome = { cluster: string } | { direct: number } | { none: string };

export function routeCall(config: RouteConfiguration, call: RequestView, random = 0.5): RouteOutcome {
  const vh = new RouteTable(config).selectVirtualHost(call.authority);
  if (!vh) return { none: 'no virtual host (404)' };
  const route = vh.match(call);
  if (!route) return { none: 'no route (404)' };
  const a = route.route.action;
  if (a.kind === 'direct_response') return { direct: a.status };
  if (a.kind !== 'route') return { none: a.kind };
  return { cluster: route.pickCluster(() => random) };
}

/** A captured connection: where the app was connecting (the original destination), what the
 * capture delivered it to, and, for HTTP, the request it carries. */
export interface CapturedConnection {
  /** The listener the capture redirects to (virtualOutbound or virtualInbound). */
  capture: string;
  destination: string;
  port: number;
  transport?: 'raw_buffer' | 'tls';
  call?: RequestView;
}

export interface ConnectionOutcome {
  listener: string;
  chain: string;
  /** The cluster it is sent to, or the local reply it gets, or why it is closed. */
  result: RouteOutcome;
  /** Where the cluster sends it: its endpoints, or the original destination for ORIGINAL_DST. */
  endpoints: string[];
}

/**
 * Envoy's hand-off for a listener with use_original_dst: the listener bound to the original
 * destination's exact address and port, else the wildcard one for the port, else the capture
 * listener itself (https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener.proto,
 * use_original_dst). Then the proxy's own chain selection and, for HCM chains, its route table.
 */
export function simulateConnection(view: Decoded, conn: CapturedConnection): ConnectionOutcome | string {
  const listeners = view.listener.map((l) => l.model);
  const capture = listeners.find((l) => l.name === conn.capture);
  if (!capture) return `no listener ${conn.capture}`;
  const handedTo =
    conn.capture === 'virtualOutbound'
      ? (listeners.find((l) => l.address.host === conn.destination && l.address.port === conn.port) ??
        listeners.find((l) => l.address.host === '0.0.0.0' && l.address.port === conn.port && l !== capture) ??
        capture)
      : capture;
  const chain = selectChain(handedTo, conn);
  if (!chain) return `${handedTo.name}: no filter chain matches (connection closed)`;
  const result = terminalOutcome(view, chain, conn);
  const endpoints = 'cluster' in result ? clusterEndpoints(view, result.cluster, conn) : [];
  return { listener: handedTo.name, chain: chain.name, result, endpoints };
}

function selectChain(l: Listener, conn: CapturedConnection): FilterChain | undefined {
  const selector = new FilterChainSelector(l.filterChains.map((fc) => ({ match: fc.match, value: fc })), l.defaultFilterChain);
  return selector.select({ localAddress: conn.destination, localPort: conn.port, remoteAddress: '198.18.0.2', remotePort: 40000, transportProtocol: conn.transport ?? 'raw_buffer' });
}

function terminalOutcome(view: Decoded, chain: FilterChain, conn: CapturedConnection): RouteOutcome {
  const t = chain.terminal;
  if (t.kind === 'tcp_proxy') return t.tcp.cluster.kind === 'cluster' ? { cluster: t.tcp.cluster.name } : { cluster: t.tcp.cluster.clusters[0].name };
  if (!conn.call) return { none: 'an HTTP chain needs a request' };
  const routes = t.hcm.routes;
  const config = routes.kind === 'inline' ? routes.config : view.route.find((r) => r.name === routes.name)?.model;
  if (!config) return { none: `route table ${routes.kind === 'rds' ? routes.name : ''} missing` };
  return routeCall(config, conn.call);
}

function clusterEndpoints(view: Decoded, name: string, conn: CapturedConnection): string[] {
  const c = view.cluster.find((x) => x.name === name)?.model;
  if (!c) return [`unknown cluster ${name}`];
  if ((c.type as string) === 'ORIGINAL_DST') return [`${conn.destination}:${conn.port}`];
  const cla: ModelByType['endpoint'] | undefined = c.loadAssignment ?? view.endpoint.find((e) => e.name === c.edsServiceName)?.model;
  return (cla?.endpoints ?? []).map((e) => `${e.host}:${e.port}`);
}
