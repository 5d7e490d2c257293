// envoy.config.listener.v3.Listener (its listener filters, filter chains and their terminal
// network filter: HCM or tcp_proxy) → Listener (typed).
import { HTTP_INSPECTOR_TYPE_URL, ORIGINAL_DST_TYPE_URL, TLS_INSPECTOR_TYPE_URL } from '../../api/envoy.js';
import type { Cidr, FilterChain, FilterChainMatch, ListenerFilter, Listener, NetworkFilter, SocketAddress, TrafficDirection } from './model.js';
import { anyTypeUrl, durationMs, has, join, list, num, obj, Problems, str, wrapped, type Raw, type ValidationResult } from './validate-common.js';
import { cidr } from './validate-matchers.js';
import { defaultPathNormalization, networkFilters } from './validate-network-filters.js';
import { downstreamTransport } from './validate-tls.js';

// Kept importable from here for the modules that used it before it moved.
export { cidr, ipBytes } from './validate-matchers.js';

export const HCM_FILTER_NAME = 'envoy.filters.network.http_connection_manager';
const DEFAULT_LISTENER_FILTERS_TIMEOUT_MS = 15_000; // Envoy's listener_filters_timeout

const listenerFilterKinds: Record<string, ListenerFilter['kind']> = {
  [HTTP_INSPECTOR_TYPE_URL]: 'http_inspector',
  [TLS_INSPECTOR_TYPE_URL]: 'tls_inspector',
  [ORIGINAL_DST_TYPE_URL]: 'original_dst',
};

const sourceTypes = new Set<FilterChainMatch['sourceType']>(['ANY', 'SAME_IP_OR_LOOPBACK', 'EXTERNAL']);

/** A BoolValue (or a plain bool from JSON-shaped input) with its default. */
function boolValue(v: unknown, dflt: boolean): boolean {
  return typeof v === 'boolean' ? v : wrapped(v, dflt);
}

export function validateListener(raw: Raw): ValidationResult<Listener> {
  const p = new Problems();
  const name = str(raw.name);
  if (!name) p.add('name', 'is required');
  const address = socketAddress(raw.address, 'address', p);
  for (const k of ['additional_addresses', 'api_listener', 'internal_listener', 'udp_listener_config', 'filter_chain_matcher']) {
    if (has(raw, k) && !(Array.isArray(raw[k]) && (raw[k] as unknown[]).length === 0)) p.add(k, 'not supported');
  }
  const useOriginalDst = boolValue(raw.use_original_dst, false);
  const bindToPort = boolValue(raw.bind_to_port, true);
  const listenerFilters: ListenerFilter[] = [];
  list(raw.listener_filters).forEach((f, i) => {
    const fo = obj(f);
    const type = anyTypeUrl(fo.typed_config);
    const kind = listenerFilterKinds[type];
    if (has(fo, 'filter_disabled')) p.add(`listener_filters[${i}].filter_disabled`, 'not supported');
    if (kind) listenerFilters.push({ kind });
    else p.add(`listener_filters[${i}]`, `unsupported listener filter "${str(fo.name)}" (${type || 'no typed_config'})`);
  });
  const filterChains = list(raw.filter_chains).map((fc, i) => filterChain(obj(fc), `filter_chains[${i}]`, p));
  const defaultFilterChain = has(raw, 'default_filter_chain') ? filterChain(obj(raw.default_filter_chain), 'default_filter_chain', p) : undefined;
  if (filterChains.length === 0 && !defaultFilterChain) p.add('filter_chains', 'must not be empty');
  const names = new Set<string>();
  filterChains.forEach((fc, i) => {
    if (!fc.name) return;
    if (names.has(fc.name)) p.add(`filter_chains[${i}].name`, `"${fc.name}" is used by another filter chain`);
    names.add(fc.name);
  });
  const trafficDirection = trafficDirectionOf(raw.traffic_direction, p);
  const hasFilter = (k: ListenerFilter['kind']) => listenerFilters.some((f) => f.kind === k);
  const needsInspector = filterChains.some((fc) => fc.match.applicationProtocols.length > 0);
  if (needsInspector && !hasFilter('http_inspector') && !hasFilter('tls_inspector')) {
    p.add('listener_filters', 'a filter chain matches application_protocols, which needs the http_inspector or tls_inspector listener filter');
  }
  // Without the TLS inspector nothing learns the SNI or sees TLS: such chains could never match.
  if (filterChains.some((fc) => fc.match.serverNames.length > 0 || fc.match.transportProtocol === 'tls') && !hasFilter('tls_inspector')) {
    p.add('listener_filters', 'a filter chain matches server_names or transport_protocol "tls", which needs the tls_inspector listener filter');
  }
  // Envoy adds the original_dst listener filter itself to a use_original_dst listener (Istio's
  // virtualOutbound lists none): the hand-off needs the restored destination.
  if (useOriginalDst && !hasFilter('original_dst')) listenerFilters.unshift({ kind: 'original_dst' });
  if (!bindToPort && useOriginalDst) p.add('bind_to_port', 'a listener that does not bind cannot hand connections over (use_original_dst)');
  listenerFilters.forEach((f, i) => {
    if (f.kind === 'original_dst' && listenerFilters.findIndex((g) => g.kind === 'original_dst') !== i) p.add(`listener_filters[${i}]`, 'original_dst is listed twice');
  });
  if (!p.empty) return { valid: false, errors: p.list.map((e) => `listener ${name || '(unnamed)'}: ${e}`) };
  return {
    valid: true,
    result: {
      name,
      address: address!,
      trafficDirection,
      listenerFilters,
      listenerFiltersTimeoutMs: durationMs(raw.listener_filters_timeout, 'listener_filters_timeout', p) ?? DEFAULT_LISTENER_FILTERS_TIMEOUT_MS,
      continueOnListenerFiltersTimeout: raw.continue_on_listener_filters_timeout === true,
      filterChains,
      defaultFilterChain,
      useOriginalDst,
      bindToPort,
    },
  };
}

const directions: readonly TrafficDirection[] = ['INBOUND', 'OUTBOUND', 'UNSPECIFIED'];

function trafficDirectionOf(v: unknown, p: Problems): TrafficDirection {
  const d = str(v) || 'UNSPECIFIED';
  if (directions.includes(d as TrafficDirection)) return d as TrafficDirection;
  p.add('traffic_direction', `unknown value "${d}" (INBOUND, OUTBOUND or UNSPECIFIED)`);
  return 'UNSPECIFIED';
}

export function socketAddress(v: unknown, path: string, p: Problems): SocketAddress | undefined {
  const a = obj(v);
  if (!has(a, 'socket_address')) {
    p.add(path, has(a, 'pipe') || has(a, 'envoy_internal_address') ? 'only socket_address is supported' : 'socket_address is required');
    return undefined;
  }
  const s = obj(a.socket_address);
  const at = join(path, 'socket_address');
  const host = str(s.address);
  if (!host) p.add(join(at, 'address'), 'is required');
  if (has(s, 'named_port') || has(s, 'resolver_name')) p.add(at, 'named_port and resolver_name are not supported');
  if (has(s, 'protocol') && str(s.protocol) !== 'TCP') p.add(join(at, 'protocol'), `${str(s.protocol)} is not supported`);
  const port = num(s.port_value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) p.add(join(at, 'port_value'), `${port} is not a port`);
  return { host, port };
}

function filterChain(raw: Raw, path: string, p: Problems): FilterChain {
  const transport = downstreamTransport(obj(raw.transport_socket), join(path, 'transport_socket'), p);
  for (const k of ['transport_socket_connect_timeout', 'on_demand_configuration']) if (has(raw, k)) p.add(join(path, k), 'not supported');
  const match = filterChainMatch(obj(raw.filter_chain_match), join(path, 'filter_chain_match'), p);
  const filters = list(raw.filters);
  const { terminal, readFilters } = networkFilters(filters, join(path, 'filters'), p);
  if (filters.length === 0) p.add(join(path, 'filters'), 'must not be empty');
  return { name: str(raw.name), match, transport, terminal: terminal ?? placeholderTerminal, ...(readFilters.length > 0 ? { readFilters } : {}) };
}

/** Stands in for a chain whose terminal failed validation (the listener is NACKed anyway). */
const placeholderTerminal: NetworkFilter = {
  kind: 'http_connection_manager',
  hcm: {
    statPrefix: '',
    codec: 'AUTO',
    http2MaxConcurrentStreams: 0,
    routes: { kind: 'rds', name: '' },
    httpFilters: [],
    idleTimeoutMs: 0,
    requestTimeoutMs: 0,
    requestHeadersTimeoutMs: 0,
    streamIdleTimeoutMs: 0,
    maxRequestsPerConnection: 0,
    generateRequestId: true,
    path: defaultPathNormalization,
    upgrades: new Set(),
    accessLog: [],
  },
};

function filterChainMatch(raw: Raw, path: string, p: Problems): FilterChainMatch {
  const serverNames = list(raw.server_names).map((n) => str(n).toLowerCase());
  serverNames.forEach((n, i) => {
    // Envoy takes exact names and a leading "*." wildcard only.
    if (!n || (n.includes('*') && !/^\*\.[^*]+$/.test(n))) p.add(`${join(path, 'server_names')}[${i}]`, `"${n}" is not a server name or *.suffix wildcard`);
  });
  for (const k of ['direct_source_prefix_ranges', 'source_ports']) {
    if (list(raw[k]).length > 0) p.add(join(path, k), 'not supported yet');
  }
  const sourceType = (str(raw.source_type) || 'ANY') as FilterChainMatch['sourceType'];
  if (!sourceTypes.has(sourceType)) p.add(join(path, 'source_type'), `unknown source type "${str(raw.source_type)}" (ANY, SAME_IP_OR_LOOPBACK or EXTERNAL)`);
  const tp = str(raw.transport_protocol) || undefined;
  if (tp && tp !== 'raw_buffer' && tp !== 'tls') p.add(join(path, 'transport_protocol'), `unknown transport protocol "${tp}"`);
  const applicationProtocols = list(raw.application_protocols).map((a) => str(a));
  applicationProtocols.forEach((a, i) => {
    if (!a) p.add(`${join(path, 'application_protocols')}[${i}]`, 'must not be empty');
  });
  const port = has(raw, 'destination_port') ? wrapped(raw.destination_port, 0) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) p.add(join(path, 'destination_port'), `${port} is not a port`);
  return {
    serverNames,
    destinationPort: port,
    prefixRanges: list(raw.prefix_ranges).map((c, i) => cidr(obj(c), `${join(path, 'prefix_ranges')}[${i}]`, p)).filter((c): c is Cidr => !!c),
    sourcePrefixRanges: list(raw.source_prefix_ranges)
      .map((c, i) => cidr(obj(c), `${join(path, 'source_prefix_ranges')}[${i}]`, p))
      .filter((c): c is Cidr => !!c),
    transportProtocol: tp === 'raw_buffer' || tp === 'tls' ? tp : undefined,
    applicationProtocols,
    sourceType: sourceTypes.has(sourceType) ? sourceType : 'ANY',
  };
}
