// Envoy's checks that validate.rules cannot express, for the fields Weft sets: what Envoy rejects (or
// silently ignores) when it builds clusters, listeners and route tables. Each message quotes the error
// Envoy logs for it. Reference integrity (an EDS cluster's endpoints, a listener's RDS name, secrets)
// is the consistency check's (consistency.ts), run here too so one call reports everything.
import net from 'node:net';
import { AGENT_SDS_CLUSTER, ISTIO_STATS_TYPE_URL } from '../../../api/mesh-names.js';
import { HCM_TYPE_URL, ROUTER_TYPE_URL, TCP_PROXY_TYPE_URL, type XdsType } from '../../../api/envoy.js';
import type { XdsResource } from '../../translate/types.js';
import { checkConsistency, referencesOf } from '../consistency.js';

type Raw = Record<string, any>;
export type ResourceSets = Partial<Record<XdsType, readonly XdsResource[]>>;

/** Network filters that end a chain (Envoy's `isTerminalFilterByProto`). */
const TERMINAL_NETWORK = new Set([HCM_TYPE_URL, TCP_PROXY_TYPE_URL]);
const TERMINAL_HTTP = new Set([ROUTER_TYPE_URL]);

/**
 * Which Envoy build runs the config: upstream `envoy` registers only Envoy's own extensions;
 * `istio-proxy` (the Envoy Istio ships as its sidecar) adds Istio's, such as istio.stats.
 */
export type EnvoyBuild = 'envoy' | 'istio-proxy';

/** Config types of the extensions istio-proxy adds to upstream Envoy that Weft emits. */
export const ISTIO_PROXY_TYPES: ReadonlySet<string> = new Set([ISTIO_STATS_TYPE_URL]);

/** Every semantic problem in one client's resource sets, as `<type> <name>: <message>`. */
export function semanticProblems(sets: ResourceSets, opts: { build?: EnvoyBuild } = {}): string[] {
  const out: string[] = [];
  const add = (type: XdsType, name: string, msg: string) => out.push(`${type} ${name}: ${msg}`);
  const build = opts.build ?? 'istio-proxy';
  for (const type of ['cluster', 'endpoint', 'listener', 'route', 'virtualHost'] as const)
    for (const r of sets[type] ?? []) extensionProblems(r.body, build, false, (m) => add(type, r.name, m));
  for (const type of ['cluster', 'endpoint', 'listener', 'route'] as const) uniqueNames(type, sets[type] ?? [], add);
  for (const c of sets.cluster ?? []) clusterProblems(c.body as Raw, (m) => add('cluster', c.name, m));
  for (const e of sets.endpoint ?? []) endpointProblems(e.body as Raw, (m) => add('endpoint', e.name, m));
  listenerAddresses(sets.listener ?? [], add);
  for (const l of sets.listener ?? []) listenerProblems(l.body as Raw, (m) => add('listener', l.name, m));
  for (const r of [...(sets.route ?? []), ...(sets.virtualHost ?? [])]) routeProblems(r.body as Raw, (m) => add('route', r.name, m));
  out.push(...referenceProblems(sets));
  serviceClusterProblems(sets, add);
  return out;
}

/** Clusters the bootstrap defines statically (`weft bootstrap --envoy`, Istio's): never in CDS. */
export const BOOTSTRAP_CLUSTERS: ReadonlySet<string> = new Set(['xds-grpc', AGENT_SDS_CLUSTER]);

/** A gRPC or HTTP service a filter calls (tracer, access-log service, JWKS fetch) names a cluster
 * that must exist when Envoy builds the listener ("Unknown gRPC client cluster '...'"). */
function serviceClusterProblems(sets: ResourceSets, add: (t: XdsType, n: string, m: string) => void): void {
  const clusters = new Set((sets.cluster ?? []).map((c) => c.name));
  for (const l of sets.listener ?? []) {
    const seen = new Set<string>();
    const visit = (v: unknown) => {
      if (Array.isArray(v)) return v.forEach(visit);
      if (!v || typeof v !== 'object') return;
      const o = v as Raw;
      const name = o.envoy_grpc?.cluster_name ?? (typeof o.uri === 'string' && typeof o.cluster === 'string' ? o.cluster : undefined);
      if (typeof name === 'string' && !clusters.has(name) && !BOOTSTRAP_CLUSTERS.has(name) && !seen.has(name)) {
        seen.add(name);
        add('listener', l.name, `Unknown gRPC client cluster '${name}' (a service a filter calls names a cluster CDS does not hold)`);
      }
      Object.values(o).forEach(visit);
    };
    visit(l.body);
  }
}

/** Envoy looks every typed_config up in its extension registry; a type it was not built with rejects the
 * resource ("Didn't find a registered implementation for ... with type URL ..."), unless the HTTP filter
 * carrying it is `is_optional`. */
function extensionProblems(v: unknown, build: EnvoyBuild, optional: boolean, add: (m: string) => void): void {
  if (Array.isArray(v)) v.forEach((x) => extensionProblems(x, build, optional, add));
  else if (v && typeof v === 'object') {
    const o = v as Raw;
    const url = o['@type'];
    if (typeof url === 'string' && !optional && !registered(url, build))
      add(`Didn't find a registered implementation for type URL '${url.slice(url.lastIndexOf('/') + 1)}'${ISTIO_PROXY_TYPES.has(url) ? ' (an istio-proxy extension, not in upstream Envoy)' : ''}`);
    for (const [k, x] of Object.entries(o)) extensionProblems(x, build, optional || (k === 'typed_config' && o.is_optional === true), add);
  }
}

function registered(url: string, build: EnvoyBuild): boolean {
  const name = url.slice(url.lastIndexOf('/') + 1);
  if (/^(envoy|xds|udpa|google)\./.test(name)) return true;
  return build === 'istio-proxy' && ISTIO_PROXY_TYPES.has(url);
}

function uniqueNames(type: XdsType, list: readonly XdsResource[], add: (t: XdsType, n: string, m: string) => void): void {
  const seen = new Set<string>();
  for (const r of list) {
    if (seen.has(r.name)) add(type, r.name, `duplicate ${type} name: Envoy refuses the whole response ("duplicate ${type} '${r.name}' found")`);
    seen.add(r.name);
  }
}

function clusterProblems(c: Raw, add: (m: string) => void): void {
  const type = c.type ?? 'STATIC';
  const lb = c.lb_policy ?? 'ROUND_ROBIN';
  const hosts = (c.load_assignment?.endpoints ?? []).flatMap((g: Raw) => g.lb_endpoints ?? []);
  if (type === 'EDS' && !c.eds_cluster_config) add('an EDS cluster needs eds_cluster_config ("cannot create an EDS cluster without an EDS config")');
  if (type === 'EDS' && c.load_assignment) add('load_assignment on an EDS cluster is ignored by Envoy (it is for STATIC, STRICT_DNS and LOGICAL_DNS clusters)');
  if (type === 'ORIGINAL_DST') {
    if (lb !== 'CLUSTER_PROVIDED') add(`LB policy ${lb} is not valid for Cluster type ORIGINAL_DST. Only 'CLUSTER_PROVIDED' is allowed with cluster type 'ORIGINAL_DST'`);
    if (c.load_assignment) add('ORIGINAL_DST clusters must have no load assignment configured');
  } else if (lb === 'CLUSTER_PROVIDED' && !c.cluster_type) add(`LB policy CLUSTER_PROVIDED is not valid for Cluster type ${type}`);
  if (type === 'LOGICAL_DNS' && ((c.load_assignment?.endpoints ?? []).length !== 1 || hosts.length !== 1))
    add('LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint');
  if (type === 'STATIC')
    hosts.forEach((h: Raw, i: number) => {
      const a = h.endpoint?.address?.socket_address?.address;
      if (typeof a === 'string' && !net.isIP(a)) add(`load_assignment lb_endpoints[${i}]: malformed IP address: ${a} (a STATIC cluster does not resolve names)`);
    });
  if (lb === 'RING_HASH' && c.ring_hash_lb_config) {
    const min = Number(c.ring_hash_lb_config.minimum_ring_size?.value ?? 1024);
    const max = Number(c.ring_hash_lb_config.maximum_ring_size?.value ?? 8_388_608);
    if (min > max) add(`ring hash: minimum_ring_size (${min}) > maximum_ring_size (${max})`);
  }
}

function endpointProblems(cla: Raw, add: (m: string) => void): void {
  (cla.endpoints ?? []).forEach((g: Raw, i: number) =>
    (g.lb_endpoints ?? []).forEach((h: Raw, j: number) => {
      const a = h.endpoint?.address?.socket_address?.address;
      // EDS hosts are addresses, not names (no resolver_name is set): Envoy's parseInternetAddress.
      if (typeof a === 'string' && !net.isIP(a)) add(`endpoints[${i}].lb_endpoints[${j}]: malformed IP address: ${a}`);
    }),
  );
}

function listenerAddresses(list: readonly XdsResource[], add: (t: XdsType, n: string, m: string) => void): void {
  const bound = new Map<string, string>();
  for (const l of list) {
    const b = l.body as Raw;
    const sa = b.address?.socket_address;
    if (!sa || b.bind_to_port === false || b.bind_to_port?.value === false) continue;
    const key = `${sa.address}:${sa.port_value ?? 0}`;
    const other = bound.get(key);
    if (other) add('listener', l.name, `error adding listener '${sa.address}:${sa.port_value}': listener '${l.name}' has duplicate address as existing listener '${other}'`);
    else bound.set(key, l.name);
  }
}

function listenerProblems(l: Raw, add: (m: string) => void): void {
  const chains: Raw[] = [...(l.filter_chains ?? []), ...(l.default_filter_chain ? [l.default_filter_chain] : [])];
  const matches = new Set<string>();
  const names = new Set<string>();
  (l.filter_chains ?? []).forEach((fc: Raw) => {
    const key = canonical(fc.filter_chain_match ?? {});
    if (matches.has(key)) add(`multiple filter chains with the same matching rules are defined (${key})`);
    matches.add(key);
    if (fc.name) {
      if (names.has(fc.name)) add(`multiple filter chains with the name ${fc.name}`);
      names.add(fc.name);
    }
  });
  chains.forEach((fc, i) => {
    const filters: Raw[] = fc.filters ?? [];
    const where = `filter_chains[${i}]`;
    filters.forEach((f, j) => {
      const terminal = TERMINAL_NETWORK.has(f.typed_config?.['@type']);
      if (terminal && j !== filters.length - 1) add(`${where}: terminal filter named ${f.name} must be the last filter in a network filter chain`);
      if (!terminal && j === filters.length - 1) add(`${where}: non-terminal filter named ${f.name} is the last filter in a network filter chain`);
      if (f.typed_config?.['@type'] === HCM_TYPE_URL) hcmProblems(f.typed_config, `${where}.filters[${j}]`, add);
    });
    if (filters.length === 0 && !l.api_listener) add(`${where}: a filter chain with no network filters closes every connection`);
  });
}

function hcmProblems(hcm: Raw, where: string, add: (m: string) => void): void {
  const filters: Raw[] = hcm.http_filters ?? [];
  filters.forEach((f, i) => {
    const terminal = TERMINAL_HTTP.has(f.typed_config?.['@type']);
    if (terminal && i !== filters.length - 1) add(`${where}: terminal filter named ${f.name} must be the last filter in a http filter chain`);
    if (!terminal && i === filters.length - 1) add(`${where}: non-terminal filter named ${f.name} is the last filter in a http filter chain`);
  });
  if (filters.length === 0) add(`${where}: no http filters (Envoy needs the router last)`);
  if (hcm.route_config) routeProblems(hcm.route_config, (m) => add(`${where}.route_config: ${m}`));
}

/** Pseudo-headers and Host cannot be set or removed by header options (Envoy: "':-prefixed' or host headers may not be modified"). */
const PROTECTED = (name: string) => name.startsWith(':') || name.toLowerCase() === 'host';

function routeProblems(rc: Raw, add: (m: string) => void): void {
  // Envoy subscribes to VHDS on a stream of its own (VirtualHostDiscoveryService/DeltaVirtualHosts),
  // never over ADS: vhds.cc refuses any other config source.
  if (rc.vhds && rc.vhds.config_source?.api_config_source?.api_type !== 'DELTA_GRPC') add("vhds: only 'DELTA_GRPC' is supported as an api_type.");
  const vhosts: Raw[] = rc.virtual_hosts ?? (rc.domains ? [rc] : []);
  const vhostNames = new Set<string>();
  const domains = new Map<string, string>();
  for (const vh of vhosts) {
    if (vhostNames.has(vh.name)) add(`Only unique values for name are permitted. Duplicate entry of virtual host ${vh.name}`);
    vhostNames.add(vh.name);
    let wildcards = 0;
    for (const d of vh.domains ?? []) {
      const key = String(d).toLowerCase();
      if (domains.has(key)) add(`Only unique values for domains are permitted. Duplicate entry of domain ${d} in virtual hosts ${domains.get(key)} and ${vh.name}`);
      domains.set(key, vh.name);
      if (d === '*') wildcards++;
      else if (String(d).slice(1, -1).includes('*')) add(`virtual host ${vh.name}: domain ${d}: a wildcard may only be a prefix or a suffix`);
    }
    if (wildcards > 1) add(`Only a single wildcard domain is permitted in route ${vh.name}`);
    headerOptions(vh, `virtual host ${vh.name}`, add);
    (vh.routes ?? []).forEach((r: Raw, i: number) => {
      const where = `virtual host ${vh.name} routes[${i}]`;
      headerOptions(r, where, add);
      regexes(r.match ?? {}, where, add);
      const wc = r.route?.weighted_clusters;
      if (wc) {
        const sum = (wc.clusters ?? []).reduce((s: number, c: Raw) => s + Number(c.weight?.value ?? 0), 0);
        if (sum <= 0) add(`${where}: Sum of weights in the weighted_cluster must be greater than 0`);
        if (wc.total_weight?.value !== undefined && Number(wc.total_weight.value) !== sum) add(`${where}: Sum of weights in the weighted_cluster should add up to ${wc.total_weight.value}`);
      }
    });
  }
}

function headerOptions(o: Raw, where: string, add: (m: string) => void): void {
  for (const field of ['request_headers_to_add', 'response_headers_to_add'])
    for (const h of o[field] ?? []) if (PROTECTED(h.header?.key ?? '')) add(`${where}.${field}: ':-prefixed' or host headers may not be modified (${h.header.key})`);
  for (const field of ['request_headers_to_remove', 'response_headers_to_remove'])
    for (const n of o[field] ?? []) if (PROTECTED(String(n))) add(`${where}.${field}: ':-prefixed' or host headers may not be removed (${n})`);
}

/** Envoy compiles every safe_regex (RE2) when it loads the route; an invalid one rejects the table. */
function regexes(v: unknown, where: string, add: (m: string) => void): void {
  if (Array.isArray(v)) v.forEach((x) => regexes(x, where, add));
  else if (v && typeof v === 'object') {
    const o = v as Raw;
    if (o.safe_regex && typeof o.safe_regex.regex === 'string') {
      try {
        new RegExp(o.safe_regex.regex);
      } catch (err) {
        add(`${where}: invalid regex ${JSON.stringify(o.safe_regex.regex)}: ${(err as Error).message}`);
      }
    }
    for (const x of Object.values(o)) regexes(x, where, add);
  }
}

/** The consistency check's findings. A route naming a cluster CDS lacks is Envoy's 503 `NC` at request
 * time (RDS leaves validate_clusters off), not a rejection, so only other references count here. */
function referenceProblems(sets: ResourceSets): string[] {
  const names = new Map<XdsType, Set<string>>();
  for (const [type, list] of Object.entries(sets) as Array<[XdsType, readonly XdsResource[]]>) names.set(type, new Set(list.map((r) => r.name)));
  // VHDS virtual hosts live inside their route configuration, as far as references go.
  const refs = (Object.entries(sets) as Array<[XdsType, readonly XdsResource[]]>).flatMap(([type, list]) => referencesOf(type, list));
  const { problems } = checkConsistency((type, name) => names.get(type)?.has(name) ?? false, refs, () => true);
  return problems.map((p) => `${p.kind} reference: ${p.message}`);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${k}:${canonical((v as Raw)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}
