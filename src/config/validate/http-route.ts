// VirtualService HTTPRoute: destinations and weights, redirect, direct response, rewrite, timeout,
// retries, fault injection, header operations. Rules follow Istio's validateHTTPRoute.
import type {
  Destination,
  HTTPDirectResponse,
  HTTPFaultInjection,
  HTTPRedirect,
  HTTPRetry,
  HTTPRewrite,
  HTTPRoute,
  HTTPRouteDestination,
} from '../types.js';
import { isDns1123Label, readHeaders, readPercent, readPort, readPortSelector, regexProblem, wildcardDomainProblem } from './common.js';
import { checkInt, fields, type Fields } from './fields.js';
import { readHttpMatch } from './http-match.js';
import type { Issues, Path } from './issues.js';

const ROUTE_FIELDS = [
  'name',
  'match',
  'route',
  'redirect',
  'directResponse',
  'delegate',
  'rewrite',
  'timeout',
  'retries',
  'fault',
  'headers',
  'mirror',
  'mirrors',
  'mirrorPercent',
  'mirrorPercentage',
  // Accepted (valid Istio) but not acted on by Weft yet:
  'corsPolicy',
] as const;

// Envoy's retry_on conditions that Istio accepts, besides plain HTTP status codes.
const RETRY_ON = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'envoy-ratelimited',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

// Weights are relative (Istio no longer requires a sum of 100), each a non-negative uint32.
const MAX_WEIGHT = 2 ** 31 - 1;

export function readHttpRoute(issues: Issues, v: unknown, path: Path): HTTPRoute | undefined {
  const f = fields(issues, v, path, ROUTE_FIELDS);
  if (!f) return undefined;
  const before = issues.size;
  const r: HTTPRoute = {};

  const name = f.str('name');
  if (name !== undefined) r.name = name;

  const matches = f.list('match');
  if (matches) r.match = matches.map(({ value, path: p }) => readHttpMatch(issues, value, p)).filter((m) => m !== undefined);

  // Exactly one action: forward (route), redirect, or answer directly. Delegation is not supported yet.
  const actions = (['route', 'redirect', 'directResponse'] as const).filter((k) => f.has(k));
  if (f.has('delegate')) {
    issues.add('WEFT_E_UNSUPPORTED', f.at('delegate'), 'VirtualService delegation is not supported by Weft yet');
  } else if (actions.length === 0) {
    issues.add('WEFT_E_REQUIRED_FIELD', f.path, 'an HTTP route needs one of route, redirect or directResponse');
  } else if (actions.length > 1) {
    issues.add('WEFT_E_CONFLICT', f.at(actions[1]), `cannot be combined with ${actions[0]} in one HTTP route`);
  }
  if (f.has('redirect') || f.has('directResponse')) {
    const action = f.has('redirect') ? 'redirect' : 'directResponse';
    for (const k of ['rewrite', 'fault'] as const) {
      if (f.has(k)) issues.add('WEFT_E_CONFLICT', f.at(k), `cannot be combined with ${action}`);
    }
  }

  const route = readRouteDestinations(f);
  if (route) r.route = route;
  const redirect = readRedirect(f);
  if (redirect) r.redirect = redirect;
  const direct = readDirectResponse(f);
  if (direct) r.directResponse = direct;
  const rewrite = readRewrite(f);
  if (rewrite) r.rewrite = rewrite;
  const timeoutMs = f.durationMs('timeout');
  if (timeoutMs !== undefined) r.timeoutMs = timeoutMs;
  const retries = readRetries(f);
  if (retries) r.retries = retries;
  const fault = readFault(f);
  if (fault) r.fault = fault;
  const headers = readHeaders(f, 'headers');
  if (headers) r.headers = headers;
  const mirrors = readMirrors(f);
  if (mirrors) r.mirrors = mirrors;
  if (rewrite?.authority && (headers?.request?.set || headers?.request?.add)) {
    const ops = { ...headers.request.set, ...headers.request.add };
    if (Object.keys(ops).some((k) => k.toLowerCase() === 'host' || k.toLowerCase() === ':authority')) {
      issues.add('WEFT_E_CONFLICT', f.at('headers'), 'the authority is already rewritten by rewrite.authority');
    }
  }

  return issues.size === before ? r : undefined;
}

function readRouteDestinations(f: Fields): HTTPRouteDestination[] | undefined {
  const items = f.list('route', { nonEmpty: f.has('route') });
  if (!items) return undefined;
  const out: HTTPRouteDestination[] = [];
  let total = 0;
  for (const { value, path } of items) {
    const d = fields(f.issues, value, path, ['destination', 'weight', 'headers']);
    if (!d) continue;
    const destination = readDestination(d, 'destination', { required: true });
    let weight: number | undefined;
    if (d.has('weight')) {
      weight = checkInt(f.issues, d.raw('weight'), d.at('weight'), { min: 0 });
      if (weight !== undefined && weight > MAX_WEIGHT) {
        f.issues.add('WEFT_E_INVALID_VALUE', d.at('weight'), `must be at most ${MAX_WEIGHT}, got ${weight}`);
        weight = undefined;
      }
      total += weight ?? 0;
    }
    const headers = readHeaders(d, 'headers');
    if (!destination) continue;
    const rd: HTTPRouteDestination = { destination };
    if (weight !== undefined) rd.weight = weight;
    if (headers) rd.headers = headers;
    out.push(rd);
  }
  // Istio: with several destinations the weights are relative, but they must not all be zero (a
  // destination without a weight counts as 0).
  if (items.length > 1 && total === 0) {
    f.issues.add('WEFT_E_WEIGHTS', f.at('route'), 'total destination weight is 0; with more than one destination, set weights (at least one above 0)');
  }
  return out;
}

export function readDestination(f: Fields, key: string, opts: { required?: boolean } = {}): Destination | undefined {
  const d = f.sub(key, ['host', 'subset', 'port'], opts);
  if (!d) return undefined;
  const before = d.issues.size;
  const host = d.str('host', { required: true });
  if (host !== undefined) {
    const problem = host === '*' ? 'destination host cannot be "*"' : wildcardDomainProblem(host);
    if (problem) d.issues.add('WEFT_E_INVALID_VALUE', d.at('host'), problem);
  }
  const subset = d.str('subset');
  if (subset !== undefined && !isDns1123Label(subset)) {
    d.issues.add('WEFT_E_INVALID_VALUE', d.at('subset'), `invalid subset name ${JSON.stringify(subset)} (lowercase letters, digits and '-')`);
  }
  const port = readPortSelector(d, 'port');
  if (host === undefined || d.issues.size !== before) return undefined;
  const out: Destination = { host };
  if (subset) out.subset = subset;
  if (port) out.port = port;
  return out;
}

function readRedirect(f: Fields): HTTPRedirect | undefined {
  const r = f.sub('redirect', ['uri', 'authority', 'port', 'derivePort', 'scheme', 'redirectCode']);
  if (!r) return undefined;
  const out: HTTPRedirect = {};
  const uri = r.str('uri');
  if (uri !== undefined) out.uri = uri;
  const authority = r.str('authority');
  if (authority !== undefined) out.authority = authority;
  const port = readPort(r, 'port');
  if (port !== undefined) out.port = port;
  const derive = r.oneOf('derivePort', ['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']);
  if (derive !== undefined) out.derivePort = derive;
  if (r.has('port') && r.has('derivePort')) r.issues.add('WEFT_E_CONFLICT', r.at('derivePort'), 'cannot be combined with port');
  const scheme = r.oneOf('scheme', ['http', 'https']);
  if (scheme !== undefined) out.scheme = scheme;
  const code = r.int('redirectCode', { min: 300, max: 399 });
  if (code !== undefined) out.redirectCode = code;
  if (!r.has('uri') && !r.has('authority') && !r.has('port') && !r.has('derivePort') && !r.has('scheme')) {
    r.issues.add('WEFT_E_REQUIRED_FIELD', r.path, 'redirect must specify uri, authority, scheme or port');
  }
  return out;
}

function readDirectResponse(f: Fields): HTTPDirectResponse | undefined {
  const d = f.sub('directResponse', ['status', 'body']);
  if (!d) return undefined;
  const status = d.int('status', { required: true, min: 200, max: 599 });
  const out: HTTPDirectResponse = { status: status ?? 0 };
  const b = d.sub('body', ['string', 'bytes']);
  if (b) {
    if (b.has('string') && b.has('bytes')) b.issues.add('WEFT_E_CONFLICT', b.path, 'set only one of string and bytes');
    const s = b.str('string');
    const bytes = b.str('bytes');
    if (s !== undefined) out.body = s;
    else if (bytes !== undefined) {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(bytes)) b.issues.add('WEFT_E_INVALID_VALUE', b.at('bytes'), 'must be base64');
      else out.body = Buffer.from(bytes, 'base64').toString('utf8');
    }
    if ((out.body?.length ?? 0) > 1024 * 1024) b.issues.add('WEFT_E_INVALID_VALUE', b.path, 'direct response bodies must be under 1MB');
  }
  return out;
}

function readRewrite(f: Fields): HTTPRewrite | undefined {
  const r = f.sub('rewrite', ['uri', 'authority', 'uriRegexRewrite']);
  if (!r) return undefined;
  const out: HTTPRewrite = {};
  const uri = r.str('uri');
  if (uri !== undefined) out.uri = uri;
  const authority = r.str('authority');
  if (authority !== undefined) out.authority = authority;
  const rr = r.sub('uriRegexRewrite', ['match', 'rewrite']);
  if (rr) {
    const match = rr.str('match', { required: true });
    const rewrite = rr.str('rewrite', { required: true });
    const problem = match !== undefined ? regexProblem(match) : undefined;
    if (problem) rr.issues.add('WEFT_E_REGEX', rr.at('match'), problem);
    if (match !== undefined && rewrite !== undefined) out.uriRegexRewrite = { match, rewrite };
  }
  if (r.has('uri') && r.has('uriRegexRewrite')) r.issues.add('WEFT_E_CONFLICT', r.at('uriRegexRewrite'), 'cannot be combined with uri');
  if (!out.uri && !out.authority && !rr) r.issues.add('WEFT_E_REQUIRED_FIELD', r.path, 'rewrite must specify uri, uriRegexRewrite or authority');
  return out;
}

function readRetries(f: Fields): HTTPRetry | undefined {
  const r = f.sub('retries', ['attempts', 'perTryTimeout', 'retryOn', 'retryRemoteLocalities', 'retryIgnorePreviousHosts', 'backoff']);
  if (!r) return undefined;
  const attempts = r.int('attempts', { min: 0 }) ?? 0;
  const out: HTTPRetry = { attempts };
  const perTry = r.durationMs('perTryTimeout');
  if (perTry !== undefined) out.perTryTimeoutMs = perTry;
  const retryOn = r.str('retryOn');
  if (retryOn !== undefined) {
    for (const policy of retryOn.split(',')) {
      const p = policy.trim();
      const isStatus = /^[1-5]\d\d$/.test(p);
      if (!isStatus && !RETRY_ON.has(p)) r.issues.add('WEFT_E_INVALID_VALUE', r.at('retryOn'), `${JSON.stringify(p)} is not a valid retryOn policy`);
    }
    out.retryOn = retryOn;
  }
  // Retrying in other localities needs Envoy's previous_priorities retry priority, which the proxy lacks.
  if (r.bool('retryRemoteLocalities') === true) r.issues.add('WEFT_E_UNSUPPORTED', r.at('retryRemoteLocalities'), 'retrying in remote localities is not supported by Weft yet');
  const ignorePrevious = r.bool('retryIgnorePreviousHosts');
  if (ignorePrevious !== undefined) out.retryIgnorePreviousHosts = ignorePrevious;
  const backoff = r.durationMs('backoff');
  if (backoff !== undefined) out.backoffMs = backoff;
  if (r.has('attempts') && attempts === 0 && (r.has('perTryTimeout') || r.has('retryOn') || r.has('retryRemoteLocalities'))) {
    r.issues.add('WEFT_E_CONFLICT', r.at('attempts'), 'retry settings are configured but attempts is 0 (retries disabled)');
  }
  return out;
}

/** `mirror` (+ `mirrorPercentage` or the deprecated `mirrorPercent`), or the list `mirrors`. */
function readMirrors(f: Fields): HTTPRoute['mirrors'] {
  if (f.has('mirror') && f.has('mirrors')) f.issues.add('WEFT_E_CONFLICT', f.at('mirrors'), 'cannot be combined with mirror');
  if (f.has('mirrorPercent') && f.has('mirrorPercentage')) f.issues.add('WEFT_E_CONFLICT', f.at('mirrorPercent'), 'cannot be combined with mirrorPercentage');
  if (!f.has('mirror') && (f.has('mirrorPercentage') || f.has('mirrorPercent'))) {
    f.issues.add('WEFT_E_REQUIRED_FIELD', f.at(f.has('mirrorPercentage') ? 'mirrorPercentage' : 'mirrorPercent'), 'needs mirror');
  }
  if (f.has('mirror')) {
    const destination = readDestination(f, 'mirror', { required: true });
    if (!destination) return undefined;
    const legacy = f.int('mirrorPercent', { min: 0, max: 100 });
    const percentage = f.has('mirrorPercentage') ? readPercent(f, 'mirrorPercentage') : legacy === undefined ? undefined : { value: legacy };
    return [{ destination, ...(percentage ? { percentage } : {}) }];
  }
  const items = f.list('mirrors');
  if (!items) return undefined;
  const out: NonNullable<HTTPRoute['mirrors']> = [];
  for (const { value, path } of items) {
    const m = fields(f.issues, value, path, ['destination', 'percentage']);
    if (!m) continue;
    const destination = readDestination(m, 'destination', { required: true });
    const percentage = readPercent(m, 'percentage');
    if (destination) out.push({ destination, ...(percentage ? { percentage } : {}) });
  }
  return out;
}

/** gRPC status names as Istio's abort.grpcStatus takes them. */
const GRPC_STATUS_CODES: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

function readFault(f: Fields): HTTPFaultInjection | undefined {
  const fault = f.sub('fault', ['delay', 'abort']);
  if (!fault) return undefined;
  const out: HTTPFaultInjection = {};
  if (!fault.has('delay') && !fault.has('abort')) fault.issues.add('WEFT_E_REQUIRED_FIELD', fault.path, 'fault injection needs a delay and/or an abort');

  const d = fault.sub('delay', ['fixedDelay', 'exponentialDelay', 'percentage', 'percent']);
  if (d) {
    if (d.has('exponentialDelay')) d.issues.add('WEFT_E_UNSUPPORTED', d.at('exponentialDelay'), 'exponentialDelay is not supported (by Istio either)');
    const fixedDelayMs = d.durationMs('fixedDelay', { required: !d.has('exponentialDelay') });
    const delay: NonNullable<HTTPFaultInjection['delay']> = { fixedDelayMs: fixedDelayMs ?? 0 };
    const pct = readPercentOrLegacy(d);
    if (pct) delay.percentage = pct;
    out.delay = delay;
  }

  const a = fault.sub('abort', ['httpStatus', 'grpcStatus', 'http2Error', 'percentage']);
  if (a) {
    if (a.has('http2Error')) a.issues.add('WEFT_E_UNSUPPORTED', a.at('http2Error'), 'http2Error aborts are not supported by Weft yet; use httpStatus or grpcStatus');
    let grpcStatus: number | undefined;
    if (a.has('grpcStatus')) {
      const name = a.str('grpcStatus');
      grpcStatus = name === undefined ? undefined : GRPC_STATUS_CODES[name];
      if (name !== undefined && grpcStatus === undefined) a.issues.add('WEFT_E_INVALID_VALUE', a.at('grpcStatus'), `must be a gRPC status name (${Object.keys(GRPC_STATUS_CODES).join(', ')}), got ${JSON.stringify(name)}`);
      if (a.has('httpStatus')) a.issues.add('WEFT_E_CONFLICT', a.at('grpcStatus'), 'cannot be combined with httpStatus');
    }
    // Istio's own range check admits 200..600; 555 (bookinfo's sample) is fine.
    const httpStatus = a.int('httpStatus', { required: !a.has('grpcStatus') && !a.has('http2Error'), min: 200, max: 599 });
    const abort: NonNullable<HTTPFaultInjection['abort']> = { httpStatus: httpStatus ?? 0, ...(grpcStatus !== undefined ? { grpcStatus } : {}) };
    const pct = readPercent(a, 'percentage');
    if (pct) abort.percentage = pct;
    out.abort = abort;
  }
  return out;
}

/** `percentage: {value}` or the deprecated integer `percent`. */
function readPercentOrLegacy(f: Fields): { value: number } | undefined {
  if (f.has('percentage') && f.has('percent')) f.issues.add('WEFT_E_CONFLICT', f.at('percent'), 'cannot be combined with percentage');
  if (f.has('percentage')) return readPercent(f, 'percentage');
  const legacy = f.int('percent', { min: 0, max: 100 });
  return legacy === undefined ? undefined : { value: legacy };
}
