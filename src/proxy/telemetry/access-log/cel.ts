// envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter: a CEL expression compiled once
// into a closure over the finished request. Attributes are Envoy's
// (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/advanced/attributes), resolved at
// compile time; anything outside the subset is a NACK naming it. Evaluation follows CEL: a missing
// attribute or header, or mismatched types, is an error; && and || absorb errors when the other side
// decides; a result that is not `true` does not log (as Envoy).
import { addressText } from '../../listener/connection-info.js';
import type { LogInput } from './log-input.js';
import { CelSyntaxError, parseCel, type CelNode } from './cel-parse.js';

const ERR = Symbol('cel-error');
type Val = string | number | boolean | null | Val[] | typeof ERR;
type Eval = (i: LogInput) => Val;
type Lookup = (i: LogInput, key: string) => string | undefined;
/** A value attribute's getter: undefined when absent (has() is false, use is an error). */
type Attr = (i: LogInput) => Exclude<Val, typeof ERR> | undefined;

export type CelPredicate = (i: LogInput) => boolean;

/** Envoy's response-flag bits (StreamInfo::CoreResponseFlag order), for `response.flags`. */
const FLAG_BITS = ['LH', 'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'UAEX', 'RLSE', 'DC', 'URX', 'SI', 'IH', 'DPE', 'UMSDR', 'RFCF', 'NFCF', 'DT', 'UPE', 'NC', 'OM', 'DF', 'DO', 'DR'];

function flagBits(flags: readonly string[]): number {
  let n = 0;
  for (const f of flags) {
    const bit = FLAG_BITS.indexOf(f);
    if (bit >= 0) n += 2 ** bit;
  }
  return n;
}

const text = (s: string | undefined) => (s ? s : undefined);
const portOf = (hostPort: string) => {
  const n = Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
  return hostPort && Number.isFinite(n) ? n : undefined;
};

const VALUE_ATTRIBUTES: Record<string, Record<string, Attr>> = {
  request: {
    path: (i) => i.header(':path'),
    url_path: (i) => i.header(':path')?.split('?')[0],
    host: (i) => i.header(':authority'),
    scheme: (i) => i.header(':scheme'),
    method: (i) => i.header(':method'),
    referer: (i) => i.header('referer'),
    useragent: (i) => i.header('user-agent'),
    id: (i) => i.header('x-request-id'),
    protocol: (i) => i.info.protocol,
    query: (i) => {
      const p = i.header(':path');
      return p === undefined ? undefined : p.includes('?') ? p.slice(p.indexOf('?') + 1) : '';
    },
    size: (i) => i.info.bytesReceived,
  },
  response: {
    code: (i) => (i.info.responseCode > 0 ? i.info.responseCode : undefined),
    code_details: (i) => text(i.info.details),
    flags: (i) => flagBits(i.info.responseFlags),
    grpc_status: (i) => (i.info.grpcStatus ? Number(i.info.grpcStatus) : undefined),
    size: (i) => i.info.bytesSent,
  },
  connection: {
    mtls: (i) => !!i.connection.tls && (i.connection.tls.peerUriSans.length > 0 || i.connection.tls.peerSubject !== ''),
    requested_server_name: (i) => i.connection.tls?.sni ?? i.connection.serverName ?? '',
    tls_version: (i) => text(i.connection.tls?.version),
    uri_san_peer_certificate: (i) => text(i.connection.tls?.peerUriSans[0]),
    uri_san_local_certificate: (i) => text(i.connection.tls?.localUriSan),
    subject_peer_certificate: (i) => text(i.connection.tls?.peerSubject),
    termination_details: (i) => text(i.info.connectionTerminationDetails),
  },
  source: {
    address: (i) => text(addressText(i.connection.remoteAddress, i.connection.remotePort)),
    port: (i) => i.connection.remotePort,
  },
  destination: {
    address: (i) => text(addressText(i.connection.localAddress, i.connection.localPort)),
    port: (i) => i.connection.localPort,
  },
  upstream: {
    address: (i) => text(i.info.upstreamHost),
    port: (i) => portOf(i.info.upstreamHost),
    local_address: (i) => text(i.info.upstreamLocalAddress),
    uri_san_peer_certificate: (i) => text(i.info.upstreamPeerUriSans[0]),
    tls_version: (i) => text(i.info.upstreamTlsVersion),
    transport_failure_reason: (i) => text(i.info.upstreamTlsFailure),
    request_attempt_count: (i) => i.info.attempts,
  },
  xds: {
    cluster_name: (i) => text(i.info.clusterName),
    route_name: (i) => text(i.info.routeName),
  },
};

/** Header maps: indexed (`request.headers['x-id']`), selected (`.x`), tested with has() or `in`.
 * Envoy looks names up lower-cased. */
const MAP_ATTRIBUTES: Record<string, Record<string, Lookup>> = {
  request: { headers: (i, k) => i.header(k) },
  response: { headers: (i, k) => i.responseHeader(k), trailers: (i, k) => i.responseTrailer(k) },
};

type Compiled = { kind: 'value'; eval: Eval; has?: (i: LogInput) => boolean } | { kind: 'map'; name: string; lookup: Lookup } | { kind: 'scope'; name: string };

class CelCompileError extends Error {}

/** Compile an expression; a string error names what is outside the subset (or the syntax error). */
export function compileCel(src: string): CelPredicate | string {
  try {
    const root = value(compile(parseCel(src)), src);
    return (i) => root(i) === true;
  } catch (err) {
    if (err instanceof CelSyntaxError) return `syntax error: ${err.message}`;
    if (err instanceof CelCompileError) return err.message;
    throw err;
  }
}

function fail(msg: string): never {
  throw new CelCompileError(msg);
}

function value(c: Compiled, what: string): Eval {
  if (c.kind === 'value') return c.eval;
  if (c.kind === 'map') fail(`${c.name} is a map: index it (${c.name}['name']) or test it (has(${c.name}.name), 'name' in ${c.name})`);
  return fail(`"${c.name}" is not a value: name one of its attributes (${Object.keys({ ...VALUE_ATTRIBUTES[c.name], ...MAP_ATTRIBUTES[c.name] }).map((a) => `${c.name}.${a}`).join(', ')})`);
}

function attribute(scope: string, field: string): Compiled {
  const map = MAP_ATTRIBUTES[scope]?.[field];
  if (map) return { kind: 'map', name: `${scope}.${field}`, lookup: map };
  const attr = VALUE_ATTRIBUTES[scope][field];
  if (!attr) fail(`attribute ${scope}.${field} is not supported (supported: ${Object.keys({ ...VALUE_ATTRIBUTES[scope], ...MAP_ATTRIBUTES[scope] }).map((a) => `${scope}.${a}`).join(', ')})`);
  return { kind: 'value', eval: (i) => attr(i) ?? ERR, has: (i) => attr(i) !== undefined };
}

function mapEntry(map: { lookup: Lookup }, key: string): Compiled {
  const k = key.toLowerCase();
  const lookup = map.lookup;
  return { kind: 'value', eval: (i) => lookup(i, k) ?? ERR, has: (i) => lookup(i, k) !== undefined };
}

function compile(n: CelNode): Compiled {
  switch (n.k) {
    case 'lit': {
      const v = n.v;
      return { kind: 'value', eval: () => v };
    }
    case 'ident':
      if (VALUE_ATTRIBUTES[n.name]) return { kind: 'scope', name: n.name };
      return fail(`unknown identifier "${n.name}" (attributes start with ${Object.keys(VALUE_ATTRIBUTES).join(', ')})`);
    case 'select': {
      const c = compile(n.operand);
      if (c.kind === 'scope') return attribute(c.name, n.field);
      if (c.kind === 'map') return mapEntry(c, n.field);
      return fail(`field selection .${n.field} on a value is not supported`);
    }
    case 'index': {
      const c = compile(n.operand);
      if (c.kind === 'map') {
        if (n.index.k === 'lit' && typeof n.index.v === 'string') return mapEntry(c, n.index.v);
        const key = value(compile(n.index), 'index');
        const lookup = c.lookup;
        return { kind: 'value', eval: (i) => { const k = key(i); return typeof k === 'string' ? (lookup(i, k.toLowerCase()) ?? ERR) : ERR; } };
      }
      const list = value(c, 'index');
      const idx = value(compile(n.index), 'index');
      return { kind: 'value', eval: (i) => { const l = list(i); const x = idx(i); return Array.isArray(l) && typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < l.length ? l[x] : ERR; } };
    }
    case 'list': {
      const items = n.items.map((x) => value(compile(x), 'list item'));
      return { kind: 'value', eval: (i) => items.map((f) => f(i)) };
    }
    case 'unary': {
      const arg = value(compile(n.arg), n.op);
      if (n.op === '!') return { kind: 'value', eval: (i) => { const v = arg(i); return typeof v === 'boolean' ? !v : ERR; } };
      return { kind: 'value', eval: (i) => { const v = arg(i); return typeof v === 'number' ? -v : ERR; } };
    }
    case 'cond': {
      const c = value(compile(n.c), '?:');
      const t = value(compile(n.t), '?:');
      const f = value(compile(n.f), '?:');
      return { kind: 'value', eval: (i) => { const x = c(i); return x === true ? t(i) : x === false ? f(i) : ERR; } };
    }
    case 'call':
      return call(n);
    case 'binary':
      return binary(n.op, n.l, n.r);
  }
}

function binary(op: string, ln: CelNode, rn: CelNode): Compiled {
  if (op === 'in') {
    const r = compile(rn);
    const l = value(compile(ln), 'in');
    if (r.kind === 'map') {
      const lookup = r.lookup;
      return { kind: 'value', eval: (i) => { const k = l(i); return typeof k === 'string' ? lookup(i, k.toLowerCase()) !== undefined : ERR; } };
    }
    const list = value(r, 'in');
    return { kind: 'value', eval: (i) => { const k = l(i); const xs = list(i); if (k === ERR || !Array.isArray(xs)) return ERR; return xs.some((x) => equal(k, x) === true); } };
  }
  const l = value(compile(ln), op);
  const r = value(compile(rn), op);
  switch (op) {
    case '&&':
      return { kind: 'value', eval: (i) => { const a = l(i); if (a === false) return false; const b = r(i); if (b === false) return false; return a === true && b === true ? true : ERR; } };
    case '||':
      return { kind: 'value', eval: (i) => { const a = l(i); if (a === true) return true; const b = r(i); if (b === true) return true; return a === false && b === false ? false : ERR; } };
    case '==':
      return { kind: 'value', eval: (i) => equal(l(i), r(i)) };
    case '!=':
      return { kind: 'value', eval: (i) => { const e = equal(l(i), r(i)); return e === ERR ? ERR : !e; } };
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const test = op === '<' ? (c: number) => c < 0 : op === '<=' ? (c: number) => c <= 0 : op === '>' ? (c: number) => c > 0 : (c: number) => c >= 0;
      return { kind: 'value', eval: (i) => { const c = compare(l(i), r(i)); return c === ERR ? ERR : test(c); } };
    }
    default:
      return fail(`operator ${op} is not supported (Weft's CEL subset: == != < <= > >= in && || ! ?: and the functions has, startsWith, endsWith, contains, matches, size)`);
  }
}

function equal(a: Val, b: Val): boolean | typeof ERR {
  if (a === ERR || b === ERR) return ERR;
  if (a === null || b === null) return a === b;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let k = 0; k < a.length; k++) {
      const e = equal(a[k], b[k]);
      if (e !== true) return e;
    }
    return true;
  }
  if (typeof a !== typeof b) return ERR;
  return a === b;
}

function compare(a: Val, b: Val): number | typeof ERR {
  if ((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string')) return a < b ? -1 : a > b ? 1 : 0;
  return ERR;
}

const STRING_METHODS: Record<string, (s: string, arg: string) => boolean> = {
  startsWith: (s, a) => s.startsWith(a),
  endsWith: (s, a) => s.endsWith(a),
  contains: (s, a) => s.includes(a),
};

function call(n: Extract<CelNode, { k: 'call' }>): Compiled {
  const { fn, target, args } = n;
  if (fn === 'has' && !target) {
    if (args.length !== 1 || args[0].k !== 'select') fail('has() takes one field selection, e.g. has(request.headers.x_user)');
    const c = compile(args[0]);
    if (c.kind !== 'value' || !c.has) return fail('has() takes an attribute or a header');
    const has = c.has;
    return { kind: 'value', eval: (i) => has(i) };
  }
  if (fn === 'size') {
    const argNode = target ?? args[0];
    if (!argNode || args.length !== (target ? 0 : 1)) fail('size() takes one string or list');
    const v = value(compile(argNode), 'size');
    return { kind: 'value', eval: (i) => { const x = v(i); return typeof x === 'string' || Array.isArray(x) ? x.length : ERR; } };
  }
  const method = STRING_METHODS[fn];
  if ((method || fn === 'matches') && target && args.length === 1) {
    const s = value(compile(target), fn);
    if (fn === 'matches') {
      if (args[0].k !== 'lit' || typeof args[0].v !== 'string') fail('matches() takes a string literal pattern');
      let re: RegExp;
      try {
        re = new RegExp(args[0].v as string);
      } catch (err) {
        return fail(`matches(): invalid pattern: ${(err as Error).message}`);
      }
      return { kind: 'value', eval: (i) => { const x = s(i); return typeof x === 'string' ? re.test(x) : ERR; } };
    }
    const a = value(compile(args[0]), fn);
    return { kind: 'value', eval: (i) => { const x = s(i); const y = a(i); return typeof x === 'string' && typeof y === 'string' ? method(x, y) : ERR; } };
  }
  return fail(`function ${target ? '.' : ''}${fn}() is not supported (supported: has, size, .startsWith, .endsWith, .contains, .matches)`);
}
