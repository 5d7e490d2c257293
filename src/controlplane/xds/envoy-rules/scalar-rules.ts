// The leaf rules of validate.proto: numbers (every numeric kind shares one range check), bool, string,
// bytes, enum, duration and timestamp. Each returns the violations of one value as [rule, message]
// pairs; the walker (check.ts) adds the field path. Messages follow protoc-gen-validate's wording.
import { listOf, type KindRules } from './field-rules.js';
import { WELL_KNOWN, wellKnownProblem } from './well-known.js';

export type Found = Array<[rule: string, message: string]>;

/** A protobufjs scalar (number, Long, string of digits) as a bigint-safe comparable number. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) return Number(String(v));
  return Number(v);
}

/** const, lt/lte/gt/gte (an inverted pair means "outside the range", as in PGV), in, not_in. */
export function numberRules(kind: string, r: KindRules, raw: unknown, fmt: (n: number) => string = String, toNum: (v: unknown) => number = num): Found {
  const v = toNum(raw);
  const out: Found = [];
  const has = (k: string) => r[k] !== undefined;
  if (has('const') && v !== toNum(r.const)) out.push([`${kind}.const`, `value must equal ${fmt(toNum(r.const))}`]);
  const lower = has('gt') ? { n: toNum(r.gt), excl: true } : has('gte') ? { n: toNum(r.gte), excl: false } : undefined;
  const upper = has('lt') ? { n: toNum(r.lt), excl: true } : has('lte') ? { n: toNum(r.lte), excl: false } : undefined;
  const aboveLower = lower && (lower.excl ? v > lower.n : v >= lower.n);
  const belowUpper = upper && (upper.excl ? v < upper.n : v <= upper.n);
  const lowerWord = lower && `greater than${lower.excl ? '' : ' or equal to'} ${fmt(lower.n)}`;
  const upperWord = upper && `less than${upper.excl ? '' : ' or equal to'} ${fmt(upper.n)}`;
  const rule = `${kind}.${[lower && (lower.excl ? 'gt' : 'gte'), upper && (upper.excl ? 'lt' : 'lte')].filter(Boolean).join('_')}`;
  if (lower && upper) {
    if (upper.n > lower.n) {
      if (!aboveLower || !belowUpper) out.push([rule, `value must be ${lowerWord} and ${upperWord}`]);
    } else if (!aboveLower && !belowUpper) out.push([rule, `value must be ${lowerWord} or ${upperWord}`]);
  } else if (lower && !aboveLower) out.push([rule, `value must be ${lowerWord}`]);
  else if (upper && !belowUpper) out.push([rule, `value must be ${upperWord}`]);
  const inList = listOf(r.in).map(toNum);
  if (inList.length && !inList.includes(v)) out.push([`${kind}.in`, `value must be in list [${inList.map(fmt).join(', ')}]`]);
  const notIn = listOf(r.not_in).map(toNum);
  if (notIn.includes(v)) out.push([`${kind}.not_in`, `value must not be in list [${notIn.map(fmt).join(', ')}]`]);
  return out;
}

export function boolRules(r: KindRules, v: boolean): Found {
  return r.const !== undefined && v !== r.const ? [['bool.const', `value must equal ${String(r.const)}`]] : [];
}

const regexCache = new Map<string, RegExp>();
function regex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) regexCache.set(pattern, (re = new RegExp(pattern)));
  return re;
}

export function stringRules(r: KindRules, s: string): Found {
  const out: Found = [];
  const chars = [...s].length;
  const bytes = Buffer.byteLength(s);
  const n = (k: string) => (r[k] === undefined ? undefined : num(r[k]));
  const check = (rule: string, ok: boolean, message: string) => ok || out.push([`string.${rule}`, message]);
  if (r.const !== undefined) check('const', s === r.const, `value must equal ${JSON.stringify(r.const)}`);
  const len = n('len'), minLen = n('min_len'), maxLen = n('max_len');
  if (len !== undefined) check('len', chars === len, `value length must be ${len}`);
  if (minLen !== undefined) check('min_len', chars >= minLen, `value length must be at least ${minLen}`);
  if (maxLen !== undefined) check('max_len', chars <= maxLen, `value length must be at most ${maxLen}`);
  const lenBytes = n('len_bytes'), minBytes = n('min_bytes'), maxBytes = n('max_bytes');
  if (lenBytes !== undefined) check('len_bytes', bytes === lenBytes, `value length must be ${lenBytes} bytes`);
  if (minBytes !== undefined) check('min_bytes', bytes >= minBytes, `value length must be at least ${minBytes} bytes`);
  if (maxBytes !== undefined) check('max_bytes', bytes <= maxBytes, `value length must be at most ${maxBytes} bytes`);
  // RE2 and JavaScript agree on the patterns Envoy's protos use (anchors, classes, quantifiers).
  if (typeof r.pattern === 'string') check('pattern', regex(r.pattern).test(s), `value does not match regex pattern ${JSON.stringify(r.pattern)}`);
  if (typeof r.prefix === 'string') check('prefix', s.startsWith(r.prefix), `value does not have prefix ${JSON.stringify(r.prefix)}`);
  if (typeof r.suffix === 'string') check('suffix', s.endsWith(r.suffix), `value does not have suffix ${JSON.stringify(r.suffix)}`);
  if (typeof r.contains === 'string') check('contains', s.includes(r.contains), `value does not contain substring ${JSON.stringify(r.contains)}`);
  if (typeof r.not_contains === 'string') check('not_contains', !s.includes(r.not_contains), `value contains substring ${JSON.stringify(r.not_contains)}`);
  const inList = listOf(r.in).map(String);
  if (inList.length) check('in', inList.includes(s), `value must be in list [${inList.join(', ')}]`);
  const notIn = listOf(r.not_in).map(String);
  if (notIn.length) check('not_in', !notIn.includes(s), `value must not be in list [${notIn.join(', ')}]`);
  for (const name of Object.keys(r)) {
    if (!WELL_KNOWN.has(name) || r[name] === false) continue;
    const problem = wellKnownProblem(name, r[name], s, r.strict !== false);
    if (problem) out.push([name === 'well_known_regex' ? `string.well_known_regex.${String(r[name])}` : `string.${name}`, problem]);
  }
  return out;
}

/** Bytes rules compare raw bytes; `pattern` runs on the bytes as UTF-8 text, as PGV does. */
export function bytesRules(r: KindRules, b: Uint8Array): Found {
  const out: Found = [];
  const buf = Buffer.from(b);
  const bytesOf = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v as Uint8Array));
  const n = (k: string) => (r[k] === undefined ? undefined : num(r[k]));
  const check = (rule: string, ok: boolean, message: string) => ok || out.push([`bytes.${rule}`, message]);
  if (r.const !== undefined) check('const', buf.equals(bytesOf(r.const)), 'value must equal the constant');
  const len = n('len'), minLen = n('min_len'), maxLen = n('max_len');
  if (len !== undefined) check('len', buf.length === len, `value length must be ${len} bytes`);
  if (minLen !== undefined) check('min_len', buf.length >= minLen, `value length must be at least ${minLen} bytes`);
  if (maxLen !== undefined) check('max_len', buf.length <= maxLen, `value length must be at most ${maxLen} bytes`);
  if (typeof r.pattern === 'string') check('pattern', regex(r.pattern).test(buf.toString('utf8')), `value does not match regex pattern ${JSON.stringify(r.pattern)}`);
  if (r.prefix !== undefined) check('prefix', buf.subarray(0, bytesOf(r.prefix).length).equals(bytesOf(r.prefix)), 'value does not have the required prefix');
  if (r.suffix !== undefined) check('suffix', buf.length >= bytesOf(r.suffix).length && buf.subarray(buf.length - bytesOf(r.suffix).length).equals(bytesOf(r.suffix)), 'value does not have the required suffix');
  if (r.contains !== undefined) check('contains', buf.includes(bytesOf(r.contains)), 'value does not contain the required bytes');
  const inList = listOf(r.in).map(bytesOf);
  if (inList.length) check('in', inList.some((x) => x.equals(buf)), 'value must be in the list');
  if (listOf(r.not_in).map(bytesOf).some((x) => x.equals(buf))) out.push(['bytes.not_in', 'value must not be in the list']);
  if (r.ip) check('ip', buf.length === 4 || buf.length === 16, 'value must be a valid IP address');
  if (r.ipv4) check('ipv4', buf.length === 4, 'value must be a valid IPv4 address');
  if (r.ipv6) check('ipv6', buf.length === 16, 'value must be a valid IPv6 address');
  return out;
}

/** Enum rules: `defined_only` against the enum's declared numbers, then const/in/not_in on numbers. */
export function enumRules(r: KindRules, v: number, defined: (n: number) => boolean, name: (n: number) => string): Found {
  const out: Found = [];
  if (r.defined_only && !defined(v)) out.push(['enum.defined_only', `value ${v} must be one of the defined enum values`]);
  return out.concat(numberRules('enum', { const: r.const, in: r.in, not_in: r.not_in }, v, (n) => `${name(n)}`));
}

/** google.protobuf.Duration or Timestamp as nanoseconds; a rule's `{seconds, nanos}` (possibly `{}`) likewise. */
export function nanosOf(v: unknown): number {
  const o = (v ?? {}) as { seconds?: unknown; nanos?: unknown };
  return num(o.seconds ?? 0) * 1e9 + num(o.nanos ?? 0);
}
const fmtNanos = (n: number) => `${n / 1e9}s`;

/** Duration rules (required is the walker's: it needs presence). */
export function durationRules(r: KindRules, v: unknown): Found {
  return numberRules('duration', r, v, fmtNanos, nanosOf);
}

/** Timestamp rules; `lt_now`, `gt_now` and `within` compare with `now` (ms since the epoch). */
export function timestampRules(r: KindRules, v: unknown, now: number): Found {
  const { lt_now: ltNow, gt_now: gtNow, within, required: _required, ...bounds } = r;
  const out = numberRules('timestamp', bounds, v, (n) => new Date(n / 1e6).toISOString(), nanosOf);
  const t = nanosOf(v);
  const nowNanos = now * 1e6;
  if (ltNow && !(t < nowNanos)) out.push(['timestamp.lt_now', 'value must be less than now']);
  if (gtNow && !(t > nowNanos)) out.push(['timestamp.gt_now', 'value must be greater than now']);
  if (within !== undefined && Math.abs(t - nowNanos) > nanosOf(within)) out.push(['timestamp.within', `value must be within ${fmtNanos(nanosOf(within))} of now`]);
  return out;
}
