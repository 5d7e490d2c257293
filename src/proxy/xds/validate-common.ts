// Helpers shared by the per-type validators: safe readers for decoded proto objects (as
// unpackAny returns them: snake_case, enums as strings, Duration {seconds, nanos}, wrappers
// {value}), and a collector that keeps every problem with its field path.
import { re2ToJs } from '../../api/re2.js';
import type { HeaderAppendAction, HeaderMutation, HeaderValueOption, Percent, StringMatcher } from './model.js';
import { invalidValueChar, tokenPattern } from '../http1/parser.js';

export type Raw = Record<string, unknown>;

/** grpc-js-xds style: either the typed result or every error found. */
export type ValidationResult<T> = { valid: true; result: T } | { valid: false; errors: string[] };

/** Collects problems as `field.path: message`; a validator never stops at the first. */
export class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(path ? `${path}: ${message}` : message);
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
}

export function join(path: string, field: string): string {
  return path ? `${path}.${field}` : field;
}

export function isObj(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A sub-message, or an empty object when absent (proto3 semantics: unset ≈ default). */
export function obj(v: unknown): Raw {
  return isObj(v) ? v : {};
}

export function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
  return 0;
}

export function has(o: Raw, field: string): boolean {
  return o[field] !== undefined && o[field] !== null;
}

/** google.protobuf.{UInt32,BoolValue,...} wrapper → its value, or the default when unset. */
/** Unset proto fields decode as absent, empty lists or false/0/'' defaults: none of those asks for anything. */
export function isUnset(v: unknown): boolean {
  return v === undefined || v === null || v === false || v === '' || v === 0 || (Array.isArray(v) && v.length === 0);
}

/** A field set that the proxy does not implement is a NACK, never silently ignored: every field of
 * `raw` must be in `known` (the ones the caller reads) or be unset. */
export function rejectUnknownFields(raw: Raw, known: ReadonlySet<string>, path: string, p: Problems, message = 'not supported'): void {
  for (const k of Object.keys(raw)) if (!known.has(k) && !isUnset(raw[k])) p.add(join(path, k), message);
}

export function wrapped(v: unknown, dflt: boolean): boolean;
export function wrapped(v: unknown, dflt: number): number;
export function wrapped<T extends number | boolean>(v: unknown, dflt: T): T {
  if (!isObj(v)) return dflt;
  const inner = v.value;
  if (inner === undefined || inner === null) {
    // A set wrapper whose value equals the proto default decodes as {}.
    return (typeof dflt === 'number' ? 0 : false) as T;
  }
  return (typeof dflt === 'number' ? num(inner) : inner) as T;
}

/** The longest delay a Node timer holds: a longer one fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** google.protobuf.Duration's range: ±10,000 years, nanos below one second. */
const MAX_DURATION_SECONDS = 315_576_000_000;

/** google.protobuf.Duration → milliseconds (undefined when unset). Durations beyond what a timer
 * holds (~24.8 days) are held at that: as timeouts, intervals or delays they mean "not in the
 * life of a request", and passed on as they are a 25-day connect timeout would fire in 1 ms. */
export function durationMs(v: unknown, path: string, p: Problems): number | undefined {
  if (!isObj(v)) return undefined;
  const seconds = num(v.seconds);
  const nanos = num(v.nanos);
  if (seconds < 0 || nanos < 0) {
    p.add(path, 'must not be negative');
    return undefined;
  }
  if (seconds > MAX_DURATION_SECONDS || nanos > 999_999_999) {
    p.add(path, `out of range for google.protobuf.Duration (seconds at most ${MAX_DURATION_SECONDS}, nanos at most 999999999)`);
    return undefined;
  }
  return Math.min(seconds * 1000 + Math.floor(nanos / 1e6), MAX_TIMER_MS);
}

/** The type URL of a nested Any, whether protobufjs could decode it ('@type') or not (type_url). */
export function anyTypeUrl(v: unknown): string {
  if (!isObj(v)) return '';
  return str(v['@type']) || str(v.type_url);
}

const denominators: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** envoy.type.v3.FractionalPercent; unset means 0 % (Envoy's proto default). */
export function percent(v: unknown, path: string, p: Problems): Percent {
  const o = obj(v);
  const denomName = str(o.denominator) || 'HUNDRED';
  const denominator = denominators[denomName];
  if (denominator === undefined) {
    p.add(join(path, 'denominator'), `unknown denominator "${denomName}"`);
    return { numerator: 0, denominator: 100 };
  }
  const numerator = num(o.numerator);
  // Envoy caps a numerator above the denominator at 100 %.
  return { numerator: Math.min(numerator, denominator), denominator };
}

/**
 * Compile an RE2 pattern as a JavaScript RegExp that must match the whole input.
 * RE2 has no look-around or back-references; we reject them so config behaves as in Envoy.
 */
export function compileRegex(source: unknown, path: string, p: Problems, ignoreCase = false): RegExp | undefined {
  if (typeof source !== 'string' || source === '') {
    p.add(path, 'regex is required');
    return undefined;
  }
  const t = re2ToJs(source);
  if (!t.ok) {
    p.add(path, t.message.startsWith('look-around') ? `regex ${JSON.stringify(source)}: look-around and back-references are not RE2` : `invalid regex ${JSON.stringify(source)}: ${t.message}`);
    return undefined;
  }
  const flags = ignoreCase && !t.flags.includes('i') ? `${t.flags}i` : t.flags;
  return new RegExp(`^(?:${t.source})$`, flags);
}

/** envoy.type.matcher.v3.StringMatcher (exact | prefix | suffix | contains | safe_regex). */
export function stringMatcher(v: unknown, path: string, p: Problems): StringMatcher | undefined {
  const o = obj(v);
  const ignoreCase = o.ignore_case === true;
  if (typeof o.exact === 'string') return { kind: 'exact', value: o.exact, ignoreCase };
  if (typeof o.prefix === 'string') return { kind: 'prefix', value: o.prefix, ignoreCase };
  if (typeof o.suffix === 'string') return { kind: 'suffix', value: o.suffix, ignoreCase };
  if (typeof o.contains === 'string') return { kind: 'contains', value: o.contains, ignoreCase };
  if (isObj(o.safe_regex)) {
    const regex = compileRegex(o.safe_regex.regex, join(path, 'safe_regex.regex'), p, ignoreCase);
    return regex && { kind: 'regex', regex };
  }
  // With defaults off, `exact: ""` decodes as an absent field: an empty exact match.
  if (Object.keys(o).length === 0 || (Object.keys(o).length === 1 && has(o, 'ignore_case'))) {
    return { kind: 'exact', value: '', ignoreCase };
  }
  p.add(path, `unsupported string matcher (fields: ${Object.keys(o).join(', ')})`);
  return undefined;
}

const appendActions: Record<string, HeaderAppendAction> = {
  APPEND_IF_EXISTS_OR_ADD: 'append',
  ADD_IF_ABSENT: 'add_if_absent',
  OVERWRITE_IF_EXISTS_OR_ADD: 'overwrite',
  OVERWRITE_IF_EXISTS: 'overwrite_if_exists',
};

const forbiddenMutations = new Set(['host', ':authority', ':path', ':method', ':scheme', 'connection', 'transfer-encoding']);

/** request/response_headers_to_add + _to_remove. */
export function headerMutation(addRaw: unknown, removeRaw: unknown, path: string, p: Problems, addField: string, removeField: string): HeaderMutation {
  const add: HeaderValueOption[] = [];
  list(addRaw).forEach((item, i) => {
    const at = `${join(path, addField)}[${i}]`;
    const o = obj(item);
    const header = obj(o.header);
    const key = str(header.key).toLowerCase();
    if (!key) {
      p.add(join(at, 'header.key'), 'is required');
      return;
    }
    if (forbiddenMutations.has(key)) {
      p.add(join(at, 'header.key'), `"${key}" cannot be modified`);
      return;
    }
    let action: HeaderAppendAction = 'append';
    if (has(o, 'append_action')) {
      const a = appendActions[str(o.append_action)];
      if (!a) p.add(join(at, 'append_action'), `unknown value "${str(o.append_action)}"`);
      else action = a;
    } else if (has(o, 'append')) {
      action = wrapped(o.append, true) ? 'append' : 'overwrite';
    }
    if (!tokenPattern.test(key)) {
      p.add(join(at, 'header.key'), `"${key}" is not a valid header name`);
      return;
    }
    const value = typeof header.value === 'string' ? header.value : Buffer.from(str(header.raw_value), 'base64').toString();
    // Refused here rather than at write time: a CR or LF in a value would split the message.
    if (invalidValueChar.test(value)) {
      p.add(join(at, 'header.value'), `contains a character not allowed in a header value (${JSON.stringify(value)})`);
      return;
    }
    add.push({ key, value, action });
  });
  const remove: string[] = [];
  list(removeRaw).forEach((item, i) => {
    const name = str(item).toLowerCase();
    if (!name || forbiddenMutations.has(name)) p.add(`${join(path, removeField)}[${i}]`, `cannot remove "${name}"`);
    else remove.push(name);
  });
  return { add, remove };
}
