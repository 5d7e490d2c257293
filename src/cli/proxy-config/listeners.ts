// `weft proxy-config listeners`: one row per filter chain, istioctl's columns (ADDRESSES PORT MATCH
// DESTINATION), its match descriptions and its order (port, address; chains by destination).
import { HCM_TYPE_URL, TCP_PROXY_TYPE_URL } from '../../api/envoy.js';
import { list, num, obj, str, type Raw } from './dump.js';
import { textTable } from './text-table.js';

export interface ListenerFilter {
  address?: string;
  port?: number;
  /** HTTP, TCP, HTTP+TCP or UNKNOWN (istioctl's classification). */
  type?: string;
}

const chainsOf = (l: Raw): Raw[] => [...list(l.filter_chains), ...(l.default_filter_chain ? [obj(l.default_filter_chain)] : [])];
const addressOf = (l: Raw): string => str(obj(obj(l.address).socket_address).address);
const portOf = (l: Raw): number => num(obj(obj(l.address).socket_address).port_value) ?? 0;
const addressesOf = (l: Raw): string =>
  [addressOf(l), ...list(l.additional_addresses).map((a) => str(obj(obj(obj(a).address).socket_address).address))].filter(Boolean).join(',');
const typeUrlOf = (f: Raw): string => str(obj(f.typed_config)['@type']);

/** Names of a BlackHole/Passthrough-style cluster are shown bare (istioctl: names containing "Cluster"). */
const clusterLabel = (c: string) => (c.includes('Cluster') ? c : `Cluster: ${c}`);

export function listenerType(l: Raw): string {
  let http = 0;
  let tcp = 0;
  for (const fc of chainsOf(l))
    for (const f of list(fc.filters)) {
      if (typeUrlOf(f) === HCM_TYPE_URL) http++;
      else if (typeUrlOf(f) === TCP_PROXY_TYPE_URL && str(obj(f.typed_config).cluster) !== 'BlackHoleCluster') tcp++;
    }
  if (http) return tcp ? 'HTTP+TCP' : 'HTTP';
  return tcp ? 'TCP' : 'UNKNOWN';
}

export function filterListeners(listeners: Raw[], f: ListenerFilter): Raw[] {
  return listeners.filter(
    (l) =>
      (f.address === undefined || addressOf(l).toLowerCase() === f.address.toLowerCase()) &&
      (f.port === undefined || portOf(l) === f.port) &&
      (f.type === undefined || listenerType(l).toLowerCase() === f.type.toLowerCase()),
  );
}

// istioctl's names for the ALPN sets Istio's listeners match on.
const ALPN_NAMES: Array<[string, string[]]> = [
  ['App: HTTP TLS', ['http/1.0', 'http/1.1', 'h2c', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2']],
  ['App: Istio HTTP Plain', ['istio', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2']],
  ['App: TCP TLS', ['istio-peer-exchange', 'istio']],
  ['App: HTTP', ['http/1.0', 'http/1.1', 'h2c']],
];

function describeChainMatch(m: Raw): string {
  const d: string[] = [];
  const sni = list(m.server_names) as unknown as string[];
  if (sni.length) d.push(`SNI: ${sni.join(',')}`);
  if (str(m.transport_protocol)) d.push(`Trans: ${str(m.transport_protocol)}`);
  const alpn = list(m.application_protocols) as unknown as string[];
  if (alpn.length) d.push(ALPN_NAMES.find(([, set]) => set.join(',') === alpn.join(','))?.[0] ?? `App: ${alpn.join(',')}`);
  const port = num(m.destination_port);
  const ports = port === undefined ? '' : `:${port}`;
  const ranges = list(m.prefix_ranges).map((r) => `${str(r.address_prefix)}/${num(r.prefix_len) ?? 0}`);
  if (ranges.length) d.push(`Addr: ${ranges.join(',')}${ports}`);
  else if (ports) d.push(`Addr: *${ports}`);
  return d.length ? d.join('; ') : 'ALL';
}

function describeInlineRoutes(rc: Raw): string {
  const vhosts = list(rc.virtual_hosts);
  if (vhosts.length === 1) {
    const vh = vhosts[0];
    const routes = list(vh.routes);
    const domains = list(vh.domains) as unknown as string[];
    const cluster = str(obj(routes[0]?.route).cluster);
    if (domains.join() === '*' && routes.length === 1 && str(obj(routes[0].match).prefix) === '/' && cluster) return clusterLabel(cluster);
  }
  const describe = (vh: Raw) => {
    const domains = list(vh.domains) as unknown as string[];
    const matches = list(vh.routes).map((r) => describePathMatch(obj(r.match))).join(', ');
    return domains.join() === '*' ? matches : `${domains.join('/')} ${matches}`;
  };
  return `Inline Route: ${vhosts.map(describe).join('; ')}`;
}

/** A route's path condition as istioctl prints it (headers are not shown). */
export function describePathMatch(m: Raw): string {
  const c: string[] = [];
  if (str(m.prefix)) c.push(`${str(m.prefix)}*`);
  if (str(m.path_separated_prefix)) c.push(`PathPrefix:${str(m.path_separated_prefix)}`);
  if (str(m.path)) c.push(str(m.path));
  if (m.safe_regex) c.push(`regex ${str(obj(m.safe_regex).regex)}`);
  return c.join(' ');
}

function describeDestination(fc: Raw): string {
  for (const f of list(fc.filters)) {
    const cfg = obj(f.typed_config);
    if (typeUrlOf(f) === HCM_TYPE_URL) {
      if (cfg.route_config) return describeInlineRoutes(obj(cfg.route_config));
      const rds = str(obj(cfg.rds).route_config_name);
      return rds ? `Route: ${rds}` : 'HTTP';
    }
    if (typeUrlOf(f) === TCP_PROXY_TYPE_URL && str(cfg.cluster) !== 'BlackHoleCluster') {
      if (str(cfg.cluster)) return clusterLabel(str(cfg.cluster));
      const weighted = list(obj(cfg.weighted_clusters).clusters).map((c) => `${str(c.name)}(${num(c.weight) ?? 0})`);
      return `Clusters: ${weighted.join(', ')}`;
    }
  }
  return 'Non-HTTP/Non-TCP';
}

export function listenersTable(listeners: Raw[]): string {
  const sorted = [...listeners].sort((a, b) => portOf(a) - portOf(b) || addressOf(a).localeCompare(addressOf(b)) || listenerType(a).localeCompare(listenerType(b)));
  const rows: string[][] = [];
  for (const l of sorted) {
    const chains = chainsOf(l).map((fc) => ({ match: describeChainMatch(obj(fc.filter_chain_match)), destination: describeDestination(fc) }));
    chains.sort((a, b) => (a.destination < b.destination ? 1 : a.destination > b.destination ? -1 : 0));
    for (const c of chains) rows.push([addressesOf(l), String(portOf(l)), c.match, c.destination]);
  }
  return textTable(['ADDRESSES', 'PORT', 'MATCH', 'DESTINATION'], rows, 1);
}
