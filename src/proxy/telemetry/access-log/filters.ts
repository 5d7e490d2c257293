// config.accesslog.v3.AccessLogFilter → one predicate, compiled once per config. Weft has no runtime
// layer and no health-check filter: a RuntimeUInt32 is its default_value (what Envoy uses when the
// runtime has no such key) and no request is a health check, so not_health_check_filter passes
// everything. runtime_filter (sampling by a runtime key), traceable_filter, metadata_filter and
// log_type_filter are NACKed.
import { ALL_RESPONSE_FLAGS } from '../../http/response-flags.js';
import { compileHeaderMatcher } from '../../http/route-table.js';
import { headerMatcher } from '../../xds/validate-matchers.js';
import { anyTypeUrl, join, list, num, obj, str, type Problems, type Raw } from '../../xds/validate-common.js';
import { compileCel } from './cel.js';
import type { LogInput } from './log-input.js';

export type LogPredicate = (i: LogInput) => boolean;

export const CEL_FILTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter';

/** Envoy's ResponseFlagFilter accepts these (its proto's validation list) and Weft's own. */
const KNOWN_FLAGS = new Set<string>(['LH', 'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'UAEX', 'RLSE', 'DC', 'URX', 'SI', 'IH', 'DPE', 'UMSDR', 'RFCF', 'NFCF', 'DT', 'UPE', 'NC', 'OM', 'DF', 'DO', 'DR', ...ALL_RESPONSE_FLAGS]);

const GRPC_STATUS = ['OK', 'CANCELED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

const NOT_SUPPORTED: Record<string, string> = {
  runtime_filter: 'runtime_filter is not supported (Weft has no runtime layer to sample by)',
  traceable_filter: 'traceable_filter is not supported',
  metadata_filter: 'metadata_filter is not supported',
  log_type_filter: 'log_type_filter is not supported',
};

const ALWAYS: LogPredicate = () => true;

export function accessLogFilter(raw: Raw, path: string, p: Problems): LogPredicate {
  const keys = Object.keys(raw).filter((k) => raw[k] !== undefined && raw[k] !== null);
  if (keys.length !== 1) {
    p.add(path, `exactly one filter is required (got ${keys.join(', ') || 'none'})`);
    return ALWAYS;
  }
  const kind = keys[0];
  const at = join(path, kind);
  const v = obj(raw[kind]);
  switch (kind) {
    case 'status_code_filter': {
      const test = comparison(v.comparison, join(at, 'comparison'), p);
      return (i) => test(i.info.responseCode);
    }
    case 'duration_filter': {
      const test = comparison(v.comparison, join(at, 'comparison'), p);
      return (i) => test(Math.floor(i.info.durationMs ?? 0));
    }
    case 'not_health_check_filter':
      return ALWAYS;
    case 'and_filter':
    case 'or_filter': {
      const parts = list(v.filters).map((f, n) => accessLogFilter(obj(f), `${join(at, 'filters')}[${n}]`, p));
      if (parts.length < 2) p.add(join(at, 'filters'), 'needs at least 2 filters');
      return kind === 'and_filter' ? (i) => parts.every((f) => f(i)) : (i) => parts.some((f) => f(i));
    }
    case 'header_filter': {
      const m = headerMatcher(obj(v.header), join(at, 'header'), p);
      if (!m) return ALWAYS;
      const test = compileHeaderMatcher(m);
      return (i) => test(i);
    }
    case 'response_flag_filter': {
      const flags = list(v.flags).map(str);
      flags.forEach((f, n) => KNOWN_FLAGS.has(f) || p.add(`${join(at, 'flags')}[${n}]`, `unknown response flag "${f}"`));
      // No flags listed: any flag set matches.
      if (flags.length === 0) return (i) => i.info.responseFlags.length > 0;
      return (i) => i.info.responseFlags.some((f) => flags.includes(f));
    }
    case 'grpc_status_filter': {
      const statuses = new Set<number>();
      list(v.statuses).forEach((s, n) => {
        const code = typeof s === 'number' ? s : GRPC_STATUS.indexOf(str(s));
        if (code < 0 || code >= GRPC_STATUS.length) p.add(`${join(at, 'statuses')}[${n}]`, `unknown gRPC status ${JSON.stringify(s)}`);
        else statuses.add(code);
      });
      const exclude = v.exclude === true;
      // Envoy: a response without grpc-status counts as UNKNOWN (2).
      return (i) => statuses.has(i.info.grpcStatus ? Number(i.info.grpcStatus) : 2) !== exclude;
    }
    case 'extension_filter':
      return extensionFilter(v, at, p);
    default:
      p.add(at, NOT_SUPPORTED[kind] ?? 'not supported');
      return ALWAYS;
  }
}

/** ComparisonFilter {op EQ|GE|LE, value RuntimeUInt32}. */
function comparison(v: unknown, path: string, p: Problems): (n: number) => boolean {
  const o = obj(v);
  const op = str(o.op) || 'EQ';
  const value = num(obj(o.value).default_value);
  if (op === 'EQ') return (n) => n === value;
  if (op === 'GE') return (n) => n >= value;
  if (op === 'LE') return (n) => n <= value;
  p.add(join(path, 'op'), `unknown comparison "${op}"`);
  return () => true;
}

function extensionFilter(v: Raw, path: string, p: Problems): LogPredicate {
  const type = anyTypeUrl(v.typed_config);
  if (type !== CEL_FILTER_TYPE_URL) {
    p.add(join(path, 'typed_config'), `unsupported access log extension filter ${type || '(none)'} (only ${CEL_FILTER_TYPE_URL})`);
    return ALWAYS;
  }
  const cfg = obj(v.typed_config);
  for (const k of Object.keys(cfg)) if (k !== '@type' && k !== 'expression' && cfg[k] !== undefined) p.add(join(path, `typed_config.${k}`), 'not supported');
  const expression = str(cfg.expression);
  if (!expression) {
    p.add(join(path, 'typed_config.expression'), 'is required');
    return ALWAYS;
  }
  const compiled = compileCel(expression);
  if (typeof compiled === 'string') {
    p.add(join(path, 'typed_config.expression'), `${JSON.stringify(expression)}: ${compiled}`);
    return ALWAYS;
  }
  return compiled;
}
