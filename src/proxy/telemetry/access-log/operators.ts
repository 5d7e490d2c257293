// Envoy's access-log command operators (%NAME%, %NAME(arg)%, %NAME(arg):MAX%), each compiled once
// into a getter over the finished request's record. A getter returns undefined for "no value"
// (text prints `-`, JSON `null`), a number for numeric fields (JSON keeps it a number).
// https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#command-operators
import os from 'node:os';
import { addressText, unmappedAddress } from '../../listener/connection-info.js';
import type { Problems } from '../../xds/validate-common.js';
import type { LogInput } from './log-input.js';
import { compileStartTime } from './start-time.js';

export type FieldValue = string | number | undefined;
export type FieldGetter = (i: LogInput) => FieldValue;

const nonEmpty = (s: string | undefined): string | undefined => (s ? s : undefined);
const floorMs = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.floor(ms));

/** Operators without an argument. */
const SIMPLE: Record<string, FieldGetter> = {
  PROTOCOL: (i) => i.info.protocol,
  RESPONSE_CODE: (i) => i.info.responseCode,
  RESPONSE_CODE_DETAILS: (i) => nonEmpty(i.info.details),
  CONNECTION_TERMINATION_DETAILS: (i) => nonEmpty(i.info.connectionTerminationDetails),
  RESPONSE_FLAGS: (i) => i.info.flagString,
  BYTES_RECEIVED: (i) => i.info.bytesReceived,
  BYTES_SENT: (i) => i.info.bytesSent,
  DURATION: (i) => floorMs(i.info.durationMs),
  RESPONSE_DURATION: (i) => floorMs(i.info.firstUpstreamByteMs),
  UPSTREAM_HOST: (i) => nonEmpty(i.info.upstreamHost),
  UPSTREAM_CLUSTER: (i) => nonEmpty(i.info.clusterName),
  UPSTREAM_CLUSTER_RAW: (i) => nonEmpty(i.info.clusterName),
  UPSTREAM_LOCAL_ADDRESS: (i) => nonEmpty(i.info.upstreamLocalAddress),
  UPSTREAM_TRANSPORT_FAILURE_REASON: (i) => nonEmpty(i.info.upstreamTlsFailure),
  UPSTREAM_PEER_URI_SAN: (i) => nonEmpty(i.info.upstreamPeerUriSans.join(',')),
  UPSTREAM_TLS_VERSION: (i) => nonEmpty(i.info.upstreamTlsVersion),
  UPSTREAM_REQUEST_ATTEMPT_COUNT: (i) => i.info.attempts,
  DOWNSTREAM_REMOTE_ADDRESS: (i) => nonEmpty(addressText(i.connection.remoteAddress, i.connection.remotePort)),
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (i) => (i.connection.remoteAddress ? unmappedAddress(i.connection.remoteAddress) : undefined),
  DOWNSTREAM_REMOTE_PORT: (i) => i.connection.remotePort,
  DOWNSTREAM_LOCAL_ADDRESS: (i) => nonEmpty(addressText(i.connection.localAddress, i.connection.localPort)),
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (i) => (i.connection.localAddress ? unmappedAddress(i.connection.localAddress) : undefined),
  DOWNSTREAM_LOCAL_PORT: (i) => i.connection.localPort,
  DOWNSTREAM_PEER_URI_SAN: (i) => nonEmpty(i.connection.tls?.peerUriSans.join(',')),
  DOWNSTREAM_PEER_SUBJECT: (i) => nonEmpty(i.connection.tls?.peerSubject),
  DOWNSTREAM_LOCAL_URI_SAN: (i) => nonEmpty(i.connection.tls?.localUriSan),
  DOWNSTREAM_TLS_VERSION: (i) => nonEmpty(i.connection.tls?.version),
  REQUESTED_SERVER_NAME: (i) => nonEmpty(i.connection.tls?.sni ?? i.connection.serverName),
  ROUTE_NAME: (i) => nonEmpty(i.info.routeName),
  GRPC_STATUS_NUMBER: (i) => (i.info.grpcStatus ? Number(i.info.grpcStatus) : undefined),
  HOSTNAME: () => os.hostname(),
};

/** Operators whose argument is `HEADER?ALTERNATIVE`. */
const HEADER_OPS: Record<string, (i: LogInput, name: string) => string | undefined> = {
  REQ: (i, n) => i.header(n),
  RESP: (i, n) => i.responseHeader(n),
  TRAILER: (i, n) => i.responseTrailer(n),
  // Envoy's req_without_query formatter extension: the header without its query string.
  REQ_WITHOUT_QUERY: (i, n) => {
    const v = i.header(n);
    const q = v?.indexOf('?') ?? -1;
    return v !== undefined && q >= 0 ? v.slice(0, q) : v;
  },
};

/** Every operator name this proxy implements (for error messages). */
export const OPERATOR_NAMES: readonly string[] = ['START_TIME', ...Object.keys(HEADER_OPS), ...Object.keys(SIMPLE)].sort();

/** One operator occurrence → its getter; problems name the operator under `path`. */
export function compileOperator(name: string, arg: string | undefined, maxLength: number | undefined, path: string, p: Problems): FieldGetter | undefined {
  let get: FieldGetter | undefined;
  if (name === 'START_TIME') {
    const fmt = compileStartTime(arg, path, p);
    if (!fmt) return undefined;
    return (i) => fmt(i.info.startTime);
  }
  const header = HEADER_OPS[name];
  if (header) {
    if (!arg) {
      p.add(path, `%${name}%: a header name is required (%${name}(X?Y):Z%)`);
      return undefined;
    }
    const [first, alt, extra] = arg.toLowerCase().split('?');
    if (extra !== undefined || !first) {
      p.add(path, `%${name}(${arg})%: the argument must be HEADER or HEADER?ALTERNATIVE`);
      return undefined;
    }
    get = alt ? (i) => header(i, first) ?? header(i, alt) : (i) => header(i, first);
  } else {
    get = SIMPLE[name];
    if (!get) {
      p.add(path, `unknown command operator %${name}%`);
      return undefined;
    }
    if (arg !== undefined) {
      p.add(path, `%${name}% takes no argument (got "(${arg})")`);
      return undefined;
    }
  }
  if (maxLength === undefined) return get;
  const inner = get;
  return (i) => {
    const v = inner(i);
    return typeof v === 'string' && v.length > maxLength ? v.slice(0, maxLength) : v;
  };
}

/** A format string compiled: literal text and getters, in order. */
export type FormatPart = string | FieldGetter;

const COMMAND = /^%([A-Z_0-9]+)(\(([^)]*)\))?(:([0-9]+))?%/;

/** Parse a format string once. `%%` is a literal `%`; anything else after `%` must be a whole
 * operator (Envoy refuses the configuration otherwise). */
export function parseFormat(format: string, path: string, p: Problems): FormatPart[] {
  const parts: FormatPart[] = [];
  let literal = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      literal += c;
      continue;
    }
    if (format[i + 1] === '%') {
      literal += '%';
      i++;
      continue;
    }
    const m = COMMAND.exec(format.slice(i));
    if (!m) {
      p.add(path, `no valid command operator at position ${i} of ${JSON.stringify(format)}`);
      return parts;
    }
    const get = compileOperator(m[1], m[2] === undefined ? undefined : m[3], m[5] === undefined ? undefined : Number(m[5]), path, p);
    if (get) {
      if (literal) parts.push(literal);
      literal = '';
      parts.push(get);
    }
    i += m[0].length - 1;
  }
  if (literal) parts.push(literal);
  return parts;
}

/** Render parts as text: a missing value prints `-` (or nothing with omit_empty_values). */
export function renderText(parts: readonly FormatPart[], i: LogInput, omitEmpty: boolean): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') out += part;
    else {
      const v = part(i);
      out += v === undefined || v === '' ? (omitEmpty ? '' : '-') : v;
    }
  }
  return out;
}
