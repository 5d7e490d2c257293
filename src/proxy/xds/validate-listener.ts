// envoy.config.listener.v3.Listener (with its HttpConnectionManager) → Listener (typed).
import { isIP } from 'node:net';
import { HCM_TYPE_URL, ON_DEMAND_TYPE_URL, ROUTER_TYPE_URL } from '../../api/envoy.js';
import type { Cidr, FilterChain, FilterChainMatch, HttpConnectionManager, HttpFilterConfig, Listener, RouteSource, SocketAddress } from './model.js';
import { anyTypeUrl, durationMs, has, join, list, num, obj, Problems, str, wrapped, type Raw, type ValidationResult } from './validate-common.js';
import { FAULT_TYPE_URL, faultConfig } from './validate-fault.js';
import { routeConfiguration } from './validate-route.js';

export const HCM_FILTER_NAME = 'envoy.filters.network.http_connection_manager';
const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000; // Envoy's HCM default: 1 hour

/** Listener filters that only inspect bytes; without TLS/ALPN they change nothing here. */
const harmlessListenerFilters = new Set([
  'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
  'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
]);

export function validateListener(raw: Raw): ValidationResult<Listener> {
  const p = new Problems();
  const name = str(raw.name);
  if (!name) p.add('name', 'is required');
  const address = socketAddress(raw.address, 'address', p);
  for (const k of ['additional_addresses', 'api_listener', 'internal_listener', 'udp_listener_config', 'filter_chain_matcher']) {
    if (has(raw, k) && !(Array.isArray(raw[k]) && (raw[k] as unknown[]).length === 0)) p.add(k, 'not supported');
  }
  if (raw.use_original_dst === true || wrapped(raw.use_original_dst, false) === true) p.add('use_original_dst', 'not supported yet');
  if (has(raw, 'bind_to_port') && wrapped(raw.bind_to_port, true) === false) p.add('bind_to_port', 'listeners that do not bind are not supported');
  list(raw.listener_filters).forEach((f, i) => {
    const type = anyTypeUrl(obj(f).typed_config);
    if (!harmlessListenerFilters.has(type)) p.add(`listener_filters[${i}]`, `unsupported listener filter "${str(obj(f).name)}" (${type || 'no typed_config'})`);
  });
  const filterChains = list(raw.filter_chains).map((fc, i) => filterChain(obj(fc), `filter_chains[${i}]`, p));
  const defaultFilterChain = has(raw, 'default_filter_chain') ? filterChain(obj(raw.default_filter_chain), 'default_filter_chain', p) : undefined;
  if (filterChains.length === 0 && !defaultFilterChain) p.add('filter_chains', 'must not be empty');
  if (!p.empty) return { valid: false, errors: p.list.map((e) => `listener ${name || '(unnamed)'}: ${e}`) };
  return { valid: true, result: { name, address: address!, filterChains, defaultFilterChain } };
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
  if (has(raw, 'transport_socket')) p.add(join(path, 'transport_socket'), 'not supported yet (TLS comes with mTLS)');
  const match = filterChainMatch(obj(raw.filter_chain_match), join(path, 'filter_chain_match'), p);
  const filters = list(raw.filters);
  let hcm: HttpConnectionManager | undefined;
  filters.forEach((f, i) => {
    const fo = obj(f);
    const at = `${join(path, 'filters')}[${i}]`;
    const type = anyTypeUrl(fo.typed_config);
    if (type !== HCM_TYPE_URL) {
      p.add(join(at, 'typed_config'), `unsupported type ${type || '(none)'} for network filter "${str(fo.name)}"`);
      return;
    }
    if (i !== filters.length - 1) p.add(at, 'http_connection_manager must be the last network filter');
    hcm = httpConnectionManager(obj(fo.typed_config), join(at, 'typed_config'), p);
  });
  if (filters.length === 0) p.add(join(path, 'filters'), 'must not be empty');
  return { name: str(raw.name), match, hcm: hcm ?? placeholderHcm };
}

const placeholderHcm: HttpConnectionManager = {
  statPrefix: '',
  routes: { kind: 'rds', name: '' },
  httpFilters: [],
  onDemandVhds: false,
  idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
  requestTimeoutMs: 0,
  generateRequestId: true,
};

function filterChainMatch(raw: Raw, path: string, p: Problems): FilterChainMatch {
  for (const k of ['server_names', 'application_protocols', 'direct_source_prefix_ranges', 'source_ports']) {
    if (list(raw[k]).length > 0) p.add(join(path, k), 'not supported yet');
  }
  if (has(raw, 'source_type') && str(raw.source_type) !== 'ANY') p.add(join(path, 'source_type'), 'not supported yet');
  const transportProtocol = str(raw.transport_protocol) || undefined;
  if (transportProtocol && transportProtocol !== 'raw_buffer' && transportProtocol !== 'tls') {
    p.add(join(path, 'transport_protocol'), `unknown transport protocol "${transportProtocol}"`);
  }
  const port = has(raw, 'destination_port') ? wrapped(raw.destination_port, 0) : undefined;
  return {
    destinationPort: port,
    prefixRanges: list(raw.prefix_ranges).map((c, i) => cidr(obj(c), `${join(path, 'prefix_ranges')}[${i}]`, p)).filter((c): c is Cidr => !!c),
    sourcePrefixRanges: list(raw.source_prefix_ranges)
      .map((c, i) => cidr(obj(c), `${join(path, 'source_prefix_ranges')}[${i}]`, p))
      .filter((c): c is Cidr => !!c),
    transportProtocol,
  };
}

export function cidr(raw: Raw, path: string, p: Problems): Cidr | undefined {
  const prefix = str(raw.address_prefix);
  const family = isIP(prefix);
  if (family === 0) {
    p.add(join(path, 'address_prefix'), `"${prefix}" is not an IP address`);
    return undefined;
  }
  // isIP accepts an IPv6 scope (fe80::1%eth0); a prefix of addresses has none.
  if (prefix.includes('%')) {
    p.add(join(path, 'address_prefix'), `"${prefix}": an address prefix has no IPv6 zone`);
    return undefined;
  }
  const max = family === 4 ? 32 : 128;
  const prefixLen = has(raw, 'prefix_len') ? wrapped(raw.prefix_len, 0) : max;
  if (prefixLen > max) p.add(join(path, 'prefix_len'), `must be at most ${max}`);
  return { family: family as 4 | 6, bytes: ipBytes(prefix, family as 4 | 6, prefixLen), prefixLen };
}

/** IP → bytes, masked to prefixLen (so matching is a byte compare). */
export function ipBytes(ip: string, family: 4 | 6, prefixLen = family === 4 ? 32 : 128): Uint8Array {
  const out = new Uint8Array(family === 4 ? 4 : 16);
  if (family === 4) ip.split('.').forEach((o, i) => (out[i] = Number(o)));
  else {
    // The zone (fe80::1%eth0) names an interface, not address bits; it may hold "::" itself.
    const zone = ip.indexOf('%');
    let s = zone < 0 ? ip : ip.slice(0, zone);
    const v4 = s.match(/(\d+\.\d+\.\d+\.\d+)$/);
    if (v4) {
      const b = v4[1].split('.').map(Number);
      s = s.slice(0, -v4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
    }
    const [head, tail] = s.split('::');
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail ? tail.split(':') : [];
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    groups.forEach((g, i) => {
      const n = parseInt(g || '0', 16);
      out[i * 2] = n >> 8;
      out[i * 2 + 1] = n & 0xff;
    });
  }
  for (let bit = prefixLen; bit < out.length * 8; bit++) out[bit >> 3] &= ~(0x80 >> (bit & 7));
  return out;
}

function httpConnectionManager(raw: Raw, path: string, p: Problems): HttpConnectionManager {
  let routes: RouteSource | undefined;
  if (has(raw, 'rds')) {
    const rds = obj(raw.rds);
    const name = str(rds.route_config_name);
    if (!name) p.add(join(path, 'rds.route_config_name'), 'is required');
    const cs = obj(rds.config_source);
    if (!has(cs, 'ads') && Object.keys(cs).some((k) => k !== 'resource_api_version' && k !== 'initial_fetch_timeout')) {
      p.add(join(path, 'rds.config_source'), 'only ads config sources are supported');
    }
    routes = { kind: 'rds', name };
  } else if (has(raw, 'route_config')) {
    routes = { kind: 'inline', config: routeConfiguration(obj(raw.route_config), join(path, 'route_config'), p) };
  } else {
    p.add(path, has(raw, 'scoped_routes') ? 'scoped_routes is not supported' : 'one of rds, route_config is required');
  }
  const codec = str(raw.codec_type) || 'AUTO';
  if (codec !== 'AUTO' && codec !== 'HTTP1') p.add(join(path, 'codec_type'), `${codec} is not supported yet (HTTP/1.1 only)`);
  const filters: HttpFilterConfig[] = [];
  let onDemandVhds = false;
  const rawFilters = list(raw.http_filters);
  rawFilters.forEach((f, i) => {
    const fo = obj(f);
    const at = `${join(path, 'http_filters')}[${i}]`;
    const name = str(fo.name);
    if (fo.disabled === true) return;
    if (has(fo, 'config_discovery')) return p.add(join(at, 'config_discovery'), 'not supported');
    const type = anyTypeUrl(fo.typed_config);
    if (type === ROUTER_TYPE_URL || (!type && name === 'envoy.filters.http.router')) {
      if (i !== rawFilters.length - 1) p.add(at, 'the router filter must be last');
      filters.push({ kind: 'router', name });
    } else if (type === ON_DEMAND_TYPE_URL) {
      // On-demand VHDS only; on-demand CDS (odcds) would need clusters discovered per request.
      if (has(obj(fo.typed_config), 'odcds')) p.add(join(at, 'typed_config.odcds'), 'on-demand cluster discovery is not supported');
      if (filters.some((f) => f.kind === 'router')) p.add(at, 'the on-demand filter must come before the router');
      onDemandVhds = true;
    } else if (type === FAULT_TYPE_URL) {
      filters.push({ kind: 'fault', name, config: faultConfig(obj(fo.typed_config), join(at, 'typed_config'), p) });
    } else if (fo.is_optional !== true) {
      p.add(join(at, 'typed_config'), `unsupported type ${type || '(none)'} for http filter "${name}"`);
    }
  });
  if (filters.length === 0 || filters[filters.length - 1].kind !== 'router') p.add(join(path, 'http_filters'), 'must end with envoy.filters.http.router');
  const common = obj(raw.common_http_protocol_options);
  return {
    statPrefix: str(raw.stat_prefix),
    routes: routes ?? { kind: 'rds', name: '' },
    httpFilters: filters,
    onDemandVhds,
    idleTimeoutMs: durationMs(common.idle_timeout, join(path, 'common_http_protocol_options.idle_timeout'), p) ?? DEFAULT_IDLE_TIMEOUT_MS,
    requestTimeoutMs: durationMs(raw.request_timeout, join(path, 'request_timeout'), p) ?? 0,
    generateRequestId: wrapped(raw.generate_request_id, true),
  };
}
