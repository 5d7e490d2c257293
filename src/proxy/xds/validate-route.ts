// envoy.config.route.v3.RouteConfiguration → RouteConfiguration (typed), collecting every error
// with its field path. Anything that would change routing and that we do not implement is an
// error (the response is NACKed); descriptive or harmless fields are ignored.
import type { GrpcTimeoutPolicy } from '../http/grpc-timeout.js';
import { hashPolicies } from './validate-hash-policy.js';
import type {
  ClusterSpecifier,
  DirectResponseAction,
  ForwardAction,
  HeaderMatcher,
  MirrorPolicy,
  PathMatch,
  QueryParamMatcher,
  RedirectAction,
  RetryPolicy,
  Route,
  RouteAction,
  RouteConfiguration,
  RouteMatch,
  VirtualHost,
} from './model.js';
import {
  compileRegex,
  durationMs,
  has,
  headerMutation,
  join,
  list,
  num,
  obj,
  percent,
  rejectUnknownFields,
  Problems,
  str,
  stringMatcher,
  wrapped,
  type Raw,
  type ValidationResult,
} from './validate-common.js';
import { headerMatcher } from './validate-matchers.js';
import { perFilterConfig } from './validate-per-filter.js';
import { retryPolicyOf } from './validate-resilience.js';

export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;

export function validateRouteConfiguration(raw: Raw): ValidationResult<RouteConfiguration> {
  const p = new Problems();
  const name = str(raw.name);
  const result = routeConfiguration(raw, '', p);
  if (!name) p.add('name', 'is required');
  if (!p.empty) return { valid: false, errors: p.list.map((e) => `route ${name || '(unnamed)'}: ${e}`) };
  return { valid: true, result };
}

/** A VHDS resource: one virtual host, named `<route configuration name>/<virtual host name>`. */
export function validateVirtualHost(raw: Raw): ValidationResult<VirtualHost> {
  const p = new Problems();
  const name = str(raw.name);
  const result = virtualHost(raw, '', p, new Map());
  if (name && !name.includes('/')) p.add('name', `"${name}" must be <route configuration name>/<virtual host name>`);
  if (!p.empty) return { valid: false, errors: p.list.map((e) => `virtual host ${name || '(unnamed)'}: ${e}`) };
  return { valid: true, result };
}

/** Envoy rejects the same domain in two virtual hosts of one route configuration (the choice would be
 * arbitrary); checked again when VHDS merges virtual hosts into a table. */
export function domainConflicts(vhosts: readonly VirtualHost[]): string[] {
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const vh of vhosts) {
    for (const d of vh.domains) {
      const other = seen.get(d.toLowerCase());
      if (other !== undefined && other !== vh.name) out.push(`virtual host ${vh.name}: domain "${d}" is also in virtual host "${other}"`);
      else seen.set(d.toLowerCase(), vh.name);
    }
  }
  return out;
}

/** Also used for an HCM's inline route_config (with a path prefix). */
const HEADER_FIELDS = ['request_headers_to_add', 'request_headers_to_remove', 'response_headers_to_add', 'response_headers_to_remove'];
const ROUTE_CONFIGURATION_FIELDS = new Set(['name', 'virtual_hosts', 'vhds', 'validate_clusters', ...HEADER_FIELDS]);
const VIRTUAL_HOST_FIELDS = new Set(['name', 'domains', 'routes', 'retry_policy', 'require_tls', 'typed_per_filter_config', ...HEADER_FIELDS]);
const ROUTE_FIELDS = new Set(['name', 'match', 'route', 'redirect', 'direct_response', 'typed_per_filter_config', 'decorator', ...HEADER_FIELDS]);
const ROUTE_MATCH_FIELDS = new Set(['prefix', 'path', 'path_separated_prefix', 'safe_regex', 'case_sensitive', 'headers', 'query_parameters']);

export function routeConfiguration(raw: Raw, path: string, p: Problems): RouteConfiguration {
  rejectUnknownFields(raw, ROUTE_CONFIGURATION_FIELDS, path, p);
  // validate_clusters false (Istio's) is what the router does anyway: an unknown cluster answers 503.
  if (wrapped(raw.validate_clusters, false)) p.add(join(path, 'validate_clusters'), 'not supported (only false: a route to an unknown cluster answers 503)');
  const vhds = has(raw, 'vhds');
  if (vhds) {
    const cs = obj(obj(raw.vhds).config_source);
    if (!has(cs, 'ads')) p.add(join(path, 'vhds.config_source'), 'only ads config sources are supported');
    if (path) p.add(join(path, 'vhds'), 'only a route configuration from RDS can use VHDS');
  }
  const seenDomains = new Map<string, string>();
  const virtualHosts = list(raw.virtual_hosts).map((vh, i) =>
    virtualHost(obj(vh), `${join(path, 'virtual_hosts')}[${i}]`, p, seenDomains),
  );
  return {
    name: str(raw.name),
    virtualHosts,
    vhds,
    requestHeaders: headerMutation(raw.request_headers_to_add, raw.request_headers_to_remove, path, p, 'request_headers_to_add', 'request_headers_to_remove'),
    responseHeaders: headerMutation(raw.response_headers_to_add, raw.response_headers_to_remove, path, p, 'response_headers_to_add', 'response_headers_to_remove'),
  };
}

function virtualHost(raw: Raw, path: string, p: Problems, seenDomains: Map<string, string>): VirtualHost {
  rejectUnknownFields(raw, VIRTUAL_HOST_FIELDS, path, p);
  const name = str(raw.name);
  if (!name) p.add(join(path, 'name'), 'is required');
  const domains = list(raw.domains).map((d) => str(d));
  if (domains.length === 0) p.add(join(path, 'domains'), 'must not be empty');
  domains.forEach((d, i) => {
    const at = `${join(path, 'domains')}[${i}]`;
    if (!d) return p.add(at, 'must not be empty');
    if (d !== '*' && d.indexOf('*') !== d.lastIndexOf('*')) p.add(at, `"${d}": only one wildcard allowed`);
    else if (d.includes('*') && !d.startsWith('*') && !d.endsWith('*')) p.add(at, `"${d}": wildcard must be first or last`);
    const key = d.toLowerCase();
    const other = seenDomains.get(key);
    // Envoy rejects the same domain in two virtual hosts: the choice would be arbitrary.
    if (other !== undefined) p.add(at, `domain "${d}" is also in virtual host "${other}"`);
    else seenDomains.set(key, name);
  });
  if (has(raw, 'require_tls') && str(raw.require_tls) !== 'NONE') p.add(join(path, 'require_tls'), 'not supported');
  const vhRetry = has(raw, 'retry_policy') ? retryPolicyOf(obj(raw.retry_policy), join(path, 'retry_policy'), p) : undefined;
  const routes = list(raw.routes).map((r, i) => route(obj(r), `${join(path, 'routes')}[${i}]`, p, vhRetry));
  return {
    name,
    domains,
    routes,
    perFilter: perFilterConfig(raw.typed_per_filter_config, path, p),
    requestHeaders: headerMutation(raw.request_headers_to_add, raw.request_headers_to_remove, path, p, 'request_headers_to_add', 'request_headers_to_remove'),
    responseHeaders: headerMutation(raw.response_headers_to_add, raw.response_headers_to_remove, path, p, 'response_headers_to_add', 'response_headers_to_remove'),
  };
}

function route(raw: Raw, path: string, p: Problems, vhRetry: RetryPolicy | undefined): Route {
  rejectUnknownFields(raw, ROUTE_FIELDS, path, p);
  const match = routeMatch(obj(raw.match), join(path, 'match'), p);
  let action: RouteAction | undefined;
  const kinds = ['route', 'redirect', 'direct_response'].filter((k) => has(raw, k));
  if (kinds.length !== 1 && !has(raw, 'filter_action') && !has(raw, 'non_forwarding_action')) {
    p.add(path, 'exactly one of route, redirect, direct_response is required');
  }
  if (has(raw, 'route')) action = forwardAction(obj(raw.route), join(path, 'route'), p, vhRetry);
  else if (has(raw, 'redirect')) action = redirectAction(obj(raw.redirect), join(path, 'redirect'), p);
  else if (has(raw, 'direct_response')) action = directResponse(obj(raw.direct_response), join(path, 'direct_response'), p);
  const decorator = obj(raw.decorator);
  if (has(raw, 'decorator') && !str(decorator.operation)) p.add(join(path, 'decorator.operation'), 'is required');
  return {
    name: str(raw.name),
    match,
    action: action ?? { kind: 'direct_response', status: 500, body: '' },
    ...(str(decorator.operation) ? { decorator: { operation: str(decorator.operation), propagate: wrapped(decorator.propagate, true) } } : {}),
    perFilter: perFilterConfig(raw.typed_per_filter_config, path, p),
    requestHeaders: headerMutation(raw.request_headers_to_add, raw.request_headers_to_remove, path, p, 'request_headers_to_add', 'request_headers_to_remove'),
    responseHeaders: headerMutation(raw.response_headers_to_add, raw.response_headers_to_remove, path, p, 'response_headers_to_add', 'response_headers_to_remove'),
  };
}

function routeMatch(raw: Raw, path: string, p: Problems): RouteMatch {
  rejectUnknownFields(raw, ROUTE_MATCH_FIELDS, path, p);
  const caseSensitive = wrapped(raw.case_sensitive, true);
  let pathMatch: PathMatch | undefined;
  if (typeof raw.prefix === 'string') pathMatch = { kind: 'prefix', value: raw.prefix };
  else if (typeof raw.path === 'string') pathMatch = { kind: 'path', value: raw.path };
  else if (typeof raw.path_separated_prefix === 'string') {
    const v = raw.path_separated_prefix;
    if (!v.startsWith('/') || (v.length > 1 && v.endsWith('/')) || /[?#]/.test(v)) {
      p.add(join(path, 'path_separated_prefix'), `"${v}" must start with / and not end with /`);
    }
    pathMatch = { kind: 'separated_prefix', value: v };
  } else if (has(raw, 'safe_regex')) {
    const regex = compileRegex(obj(raw.safe_regex).regex, join(path, 'safe_regex.regex'), p, !caseSensitive);
    if (regex) pathMatch = { kind: 'regex', regex };
  } else if (!has(raw, 'connect_matcher') && !has(raw, 'path_match_policy')) {
    p.add(path, 'one of prefix, path, safe_regex, path_separated_prefix is required');
  }
  if (pathMatch && !caseSensitive && pathMatch.kind !== 'regex') pathMatch = { ...pathMatch, value: pathMatch.value.toLowerCase() };
  const headers = list(raw.headers).map((h, i) => headerMatcher(obj(h), `${join(path, 'headers')}[${i}]`, p));
  const queryParams = list(raw.query_parameters).map((q, i) => queryMatcher(obj(q), `${join(path, 'query_parameters')}[${i}]`, p));
  return {
    path: pathMatch ?? { kind: 'prefix', value: '/' },
    caseSensitive,
    headers: headers.filter((h): h is HeaderMatcher => h !== undefined),
    queryParams: queryParams.filter((q): q is QueryParamMatcher => q !== undefined),
  };
}

function queryMatcher(raw: Raw, path: string, p: Problems): QueryParamMatcher | undefined {
  const name = str(raw.name);
  if (!name) {
    p.add(join(path, 'name'), 'is required');
    return undefined;
  }
  if (has(raw, 'string_match')) {
    const matcher = stringMatcher(raw.string_match, join(path, 'string_match'), p);
    return matcher && { name, matcher };
  }
  if (raw.present_match === true) return { name, matcher: undefined };
  p.add(path, 'one of string_match, present_match is required');
  return undefined;
}

/** max_stream_duration: the grpc-timeout header's cap and offset; a stream duration limit itself is
 * not implemented (Istio sends 0s, i.e. none). */
function grpcTimeoutPolicy(raw: Raw, path: string, p: Problems): GrpcTimeoutPolicy | undefined {
  const limit = durationMs(raw.max_stream_duration, join(path, 'max_stream_duration'), p);
  if (limit !== undefined && limit > 0) p.add(join(path, 'max_stream_duration'), 'not supported yet (only 0s, no limit)');
  if (!has(raw, 'grpc_timeout_header_max')) {
    if (has(raw, 'grpc_timeout_header_offset')) p.add(join(path, 'grpc_timeout_header_offset'), 'needs grpc_timeout_header_max');
    return undefined;
  }
  const headerMaxMs = durationMs(raw.grpc_timeout_header_max, join(path, 'grpc_timeout_header_max'), p) ?? 0;
  const headerOffsetMs = durationMs(raw.grpc_timeout_header_offset, join(path, 'grpc_timeout_header_offset'), p) ?? 0;
  return { headerMaxMs, headerOffsetMs };
}

const notFoundCodes: Record<string, number> = { SERVICE_UNAVAILABLE: 503, NOT_FOUND: 404, INTERNAL_SERVER_ERROR: 500 };

/** RouteAction fields the router implements; any other field set is a NACK (never silently ignored). */
const ROUTE_ACTION_FIELDS = new Set([
  'cluster',
  'weighted_clusters',
  'cluster_not_found_response_code',
  'prefix_rewrite',
  'regex_rewrite',
  'host_rewrite_literal',
  'auto_host_rewrite',
  'timeout',
  'max_stream_duration',
  'upgrade_configs',
  'request_mirror_policies',
  'retry_policy',
  'hash_policy',
  'priority',
]);

function forwardAction(raw: Raw, path: string, p: Problems, vhRetry: RetryPolicy | undefined): ForwardAction {
  rejectUnknownFields(raw, ROUTE_ACTION_FIELDS, path, p);
  // One priority class per cluster: only DEFAULT's thresholds exist.
  if (has(raw, 'priority') && str(raw.priority) !== 'DEFAULT') p.add(join(path, 'priority'), 'not supported');
  if (wrapped(raw.auto_host_rewrite, false)) p.add(join(path, 'auto_host_rewrite'), 'not supported');
  let cluster: ClusterSpecifier | undefined;
  if (typeof raw.cluster === 'string' && raw.cluster !== '') cluster = { kind: 'cluster', name: raw.cluster };
  else if (has(raw, 'weighted_clusters')) cluster = weightedClusters(obj(raw.weighted_clusters), join(path, 'weighted_clusters'), p);
  else if (!has(raw, 'cluster_header') && !has(raw, 'cluster_specifier_plugin')) p.add(path, 'one of cluster, weighted_clusters is required');
  const notFound = has(raw, 'cluster_not_found_response_code') ? notFoundCodes[str(raw.cluster_not_found_response_code)] : 503;
  if (notFound === undefined) p.add(join(path, 'cluster_not_found_response_code'), `unknown value "${str(raw.cluster_not_found_response_code)}"`);
  let regexRewrite: ForwardAction['regexRewrite'];
  if (has(raw, 'regex_rewrite')) {
    const rr = obj(raw.regex_rewrite);
    const src = obj(rr.pattern).regex;
    // Rewrites substitute within the path, so the pattern must not be anchored to the whole path.
    const full = compileRegex(src, join(path, 'regex_rewrite.pattern.regex'), p);
    if (full && typeof src === 'string') regexRewrite = { regex: new RegExp(full.source.slice(4, -2), 'g' + full.flags), substitution: str(rr.substitution).replace(/\\(\d)/g, '$$$1') };
  }
  const prefixRewrite = typeof raw.prefix_rewrite === 'string' ? raw.prefix_rewrite : undefined;
  if (prefixRewrite !== undefined && regexRewrite) p.add(path, 'prefix_rewrite and regex_rewrite are exclusive');
  const timeout = durationMs(raw.timeout, join(path, 'timeout'), p);
  return {
    kind: 'route',
    cluster: cluster ?? { kind: 'cluster', name: '' },
    timeoutMs: timeout ?? DEFAULT_ROUTE_TIMEOUT_MS,
    grpcTimeout: has(raw, 'max_stream_duration') ? grpcTimeoutPolicy(obj(raw.max_stream_duration), join(path, 'max_stream_duration'), p) : undefined,
    prefixRewrite,
    regexRewrite,
    hostRewrite: typeof raw.host_rewrite_literal === 'string' && raw.host_rewrite_literal ? raw.host_rewrite_literal : undefined,
    upgrades: routeUpgrades(list(raw.upgrade_configs), join(path, 'upgrade_configs'), p),
    mirrors: list(raw.request_mirror_policies).map((m, i) => mirrorPolicy(obj(m), `${join(path, 'request_mirror_policies')}[${i}]`, p)),
    retry: has(raw, 'retry_policy') ? retryPolicyOf(obj(raw.retry_policy), join(path, 'retry_policy'), p) : vhRetry,
    clusterNotFoundStatus: notFound ?? 503,
    hashPolicy: hashPolicies(raw.hash_policy, join(path, 'hash_policy'), p),
  };
}

function mirrorPolicy(raw: Raw, path: string, p: Problems): MirrorPolicy {
  const cluster = str(raw.cluster);
  if (!cluster) p.add(join(path, 'cluster'), has(raw, 'cluster_header') ? 'cluster_header is not supported' : 'is required');
  for (const k of ['cluster_header', 'trace_sampled', 'request_headers_mutations']) if (has(raw, k) && !(k === 'cluster_header' && !cluster)) p.add(join(path, k), 'not supported');
  const rf = obj(raw.runtime_fraction);
  if (has(rf, 'runtime_key') && str(rf.runtime_key)) p.add(join(path, 'runtime_fraction.runtime_key'), 'runtime is not supported');
  return {
    cluster,
    percent: has(rf, 'default_value') ? percent(rf.default_value, join(path, 'runtime_fraction.default_value'), p) : { numerator: 100, denominator: 100 },
    shadowSuffix: raw.disable_shadow_host_suffix_append !== true,
  };
}

function routeUpgrades(raw: unknown[], path: string, p: Problems): Record<string, boolean> {
  const out: Record<string, boolean> = Object.create(null);
  raw.forEach((u, i) => {
    const uo = obj(u);
    const at = `${path}[${i}]`;
    const type = str(uo.upgrade_type).toLowerCase();
    if (!type) p.add(join(at, 'upgrade_type'), 'is required');
    if (has(uo, 'connect_config') || type === 'connect') p.add(join(at, 'connect_config'), 'CONNECT is not supported');
    out[type] = wrapped(uo.enabled, true);
  });
  return out;
}

function weightedClusters(raw: Raw, path: string, p: Problems): ClusterSpecifier {
  const clusters = list(raw.clusters).map((c, i) => {
    const o = obj(c);
    const at = `${join(path, 'clusters')}[${i}]`;
    const name = str(o.name);
    if (!name) p.add(join(at, has(o, 'cluster_header') ? 'cluster_header' : 'name'), has(o, 'cluster_header') ? 'not supported' : 'is required');
    return { name, weight: wrapped(o.weight, 0) };
  });
  if (clusters.length === 0) p.add(join(path, 'clusters'), 'must not be empty');
  const sum = clusters.reduce((s, c) => s + c.weight, 0);
  if (clusters.length > 0 && sum <= 0) p.add(join(path, 'clusters'), 'the sum of weights must be greater than 0');
  if (has(raw, 'total_weight')) {
    const total = wrapped(raw.total_weight, 0);
    if (total !== sum) p.add(join(path, 'total_weight'), `is ${total} but the weights sum to ${sum}`);
  }
  if (has(raw, 'header_name')) p.add(join(path, 'header_name'), 'not supported');
  return { kind: 'weighted', clusters, totalWeight: sum };
}

const redirectCodes: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function redirectAction(raw: Raw, path: string, p: Problems): RedirectAction {
  const codeName = str(raw.response_code) || 'MOVED_PERMANENTLY';
  const status = redirectCodes[codeName];
  if (status === undefined) p.add(join(path, 'response_code'), `unknown value "${codeName}"`);
  if (has(raw, 'regex_rewrite')) p.add(join(path, 'regex_rewrite'), 'not supported');
  const port = num(raw.port_redirect);
  if (port < 0 || port > 65535) p.add(join(path, 'port_redirect'), `${port} is not a port`);
  return {
    kind: 'redirect',
    scheme: raw.https_redirect === true ? 'https' : str(raw.scheme_redirect) || undefined,
    host: str(raw.host_redirect) || undefined,
    port: port || undefined,
    path: typeof raw.path_redirect === 'string' ? raw.path_redirect : undefined,
    prefixRewrite: typeof raw.prefix_rewrite === 'string' ? raw.prefix_rewrite : undefined,
    stripQuery: raw.strip_query === true,
    status: status ?? 301,
  };
}

function directResponse(raw: Raw, path: string, p: Problems): DirectResponseAction {
  const status = num(raw.status);
  if (status < 200 || status >= 600) p.add(join(path, 'status'), `must be 200..599, got ${status}`);
  const body = obj(raw.body);
  let text = '';
  if (typeof body.inline_string === 'string') text = body.inline_string;
  else if (typeof body.inline_bytes === 'string') text = Buffer.from(body.inline_bytes, 'base64').toString();
  else if (has(body, 'filename') || has(body, 'environment_variable')) p.add(join(path, 'body'), 'only inline_string and inline_bytes are supported');
  return { kind: 'direct_response', status, body: text };
}
