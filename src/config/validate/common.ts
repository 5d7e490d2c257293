// Field rules shared by several kinds: host names, labels, ports, string matches, regexes, header
// operations, percentages. Each mirrors the corresponding check in Istio's pkg/config/validation.
import { isIP } from 'node:net';
import { re2ToJs } from '../../api/re2.js';
import type { HeaderOperations, Headers, Percent, StringMatch } from '../types.js';
import { fields, type Fields } from './fields.js';
import { describeValue, type Issues, type Path } from './issues.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Istio allows a wildcard only as (a prefix of) the first label: "*", "*.example.com", "*-foo.example.com".
const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;

export const isDns1123Label = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);

export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every(isDns1123Label);
}

/** Why `host` is not a valid (optionally wildcard) domain name, or undefined when it is. */
export function wildcardDomainProblem(host: string): string | undefined {
  if (host.length === 0) return 'must not be empty';
  if (host.length > 255) return 'domain name is too long (max 255 characters)';
  const [first, ...rest] = host.split('.');
  if (first.length > 63 || !WILDCARD_LABEL.test(first)) return `invalid host ${JSON.stringify(host)} (label ${JSON.stringify(first)} invalid)`;
  for (const label of rest) {
    if (!isDns1123Label(label)) return `invalid host ${JSON.stringify(host)} (label ${JSON.stringify(label)} invalid; lowercase letters, digits and '-')`;
  }
  return undefined;
}

/** A plain domain name (no wildcard), as required for DNS resolution. */
export function fqdnProblem(host: string): string | undefined {
  if (host.includes('*')) return `wildcard host ${JSON.stringify(host)} cannot be resolved by DNS`;
  return wildcardDomainProblem(host);
}

export const isIpAddress = (s: string): boolean => isIP(s) !== 0;

/** An IP address or CIDR block (ServiceEntry.addresses). */
export function isIpOrCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return isIpAddress(s);
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^\d+$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** True if one host pattern covers the other ("*.com" and "a.com", or equal names). */
export function hostsOverlap(a: string, b: string): boolean {
  if (a === b || a === '*' || b === '*') return true;
  const covers = (w: string, h: string) => w.startsWith('*.') && h.endsWith(w.slice(1));
  return covers(a, b) || covers(b, a);
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Kubernetes label rules for keys (`[prefix/]name`) and values. */
export function validateLabels(issues: Issues, labels: Record<string, string>, path: Path): void {
  for (const [k, v] of Object.entries(labels)) {
    const slash = k.indexOf('/');
    const prefix = slash >= 0 ? k.slice(0, slash) : undefined;
    const name = slash >= 0 ? k.slice(slash + 1) : k;
    if ((prefix !== undefined && !isDns1123Subdomain(prefix)) || name.length > 63 || !LABEL_NAME.test(name)) {
      issues.add('WEFT_E_INVALID_VALUE', [...path, k], `invalid label key ${JSON.stringify(k)}`);
    }
    if (v.length > 63 || (v !== '' && !LABEL_NAME.test(v))) {
      issues.add('WEFT_E_INVALID_VALUE', [...path, k], `invalid label value ${JSON.stringify(v)}`);
    }
  }
}

export function readLabels(f: Fields, key: string): Record<string, string> | undefined {
  const labels = f.strMap(key);
  if (labels) validateLabels(f.issues, labels, f.at(key));
  return labels;
}

export function readPort(f: Fields, key: string, opts: { required?: boolean } = {}): number | undefined {
  return f.int(key, { ...opts, min: 1, max: 65535 });
}

/** `port: {number: N}` (PortSelector). */
export function readPortSelector(f: Fields, key: string): { number: number } | undefined {
  const p = f.sub(key, ['number']);
  if (!p) return undefined;
  const number = readPort(p, 'number', { required: true });
  return number === undefined ? undefined : { number };
}

/** Why `re` is not an RE2 expression Weft runs (api/re2.ts, shared with the proxy), or undefined. */
export function regexProblem(re: string): string | undefined {
  const t = re2ToJs(re);
  if (t.ok) return undefined;
  return t.message.startsWith('look-around') ? 'look-around and back-references are not supported (Istio uses RE2 syntax)' : `invalid regular expression: ${t.message}`;
}

/** StringMatch: exactly one of exact/prefix/regex. `allowPresence`: `{}` means "header is present". */
export function readStringMatch(
  issues: Issues,
  v: unknown,
  path: Path,
  opts: { allowPresence?: boolean } = {},
): StringMatch | { present: true } | undefined {
  if (v === null || v === undefined) {
    issues.add('WEFT_E_REQUIRED_FIELD', path, 'match cannot be null; use exact, prefix or regex' + (opts.allowPresence ? ' (or {} for presence)' : ''));
    return undefined;
  }
  const f = fields(issues, v, path, ['exact', 'prefix', 'regex']);
  if (!f) return undefined;
  const set = (['exact', 'prefix', 'regex'] as const).filter((k) => f.has(k));
  if (set.length === 0) {
    if (opts.allowPresence) return { present: true };
    issues.add('WEFT_E_CONFLICT', path, 'must set exactly one of exact, prefix, regex');
    return undefined;
  }
  if (set.length > 1) {
    issues.add('WEFT_E_CONFLICT', path, `must set exactly one of exact, prefix, regex, got ${set.join(' and ')}`);
    return undefined;
  }
  const kind = set[0];
  const value = f.str(kind);
  if (value === undefined) return undefined;
  if (kind === 'regex') {
    const problem = regexProblem(value);
    if (problem) {
      issues.add('WEFT_E_REGEX', f.at('regex'), problem);
      return undefined;
    }
    return { regex: value };
  }
  return kind === 'exact' ? { exact: value } : { prefix: value };
}

const HEADER_NAME = /^[-_A-Za-z0-9]+$/;
/** Anything but HTAB, SP, visible ASCII and obs-text (RFC 9110 §5.5): a CR or LF would split the message. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

export function headerNameProblem(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (!HEADER_NAME.test(name)) return `header name ${JSON.stringify(name)} is not a valid header name`;
  return undefined;
}

const isAuthorityHeader = (name: string) => name.toLowerCase() === ':authority' || name.toLowerCase() === 'host';

function readHeaderOperations(issues: Issues, v: unknown, path: Path, allowAuthority: boolean): HeaderOperations | undefined {
  const f = fields(issues, v, path, ['set', 'add', 'remove']);
  if (!f) return undefined;
  const checkName = (name: string, p: Path, op: 'set' | 'add' | 'remove') => {
    if (isAuthorityHeader(name)) {
      if (!(allowAuthority && op !== 'remove')) issues.add('WEFT_E_INVALID_VALUE', p, `header ${JSON.stringify(name)} cannot be modified here`);
      return;
    }
    if (name.startsWith(':')) {
      issues.add('WEFT_E_INVALID_VALUE', p, `pseudo-header ${JSON.stringify(name)} cannot be modified`);
      return;
    }
    const problem = headerNameProblem(name);
    if (problem) issues.add('WEFT_E_INVALID_VALUE', p, problem);
  };
  const out: HeaderOperations = {};
  for (const op of ['set', 'add'] as const) {
    const m = f.strMap(op);
    if (!m) continue;
    for (const [name, value] of Object.entries(m)) {
      checkName(name, [...f.at(op), name], op);
      if (INVALID_HEADER_VALUE.test(value)) issues.add('WEFT_E_INVALID_VALUE', [...f.at(op), name], `header value ${JSON.stringify(value)} contains a control character (CR, LF, NUL, …)`);
    }
    out[op] = m;
  }
  const remove = f.strList('remove');
  if (remove) {
    remove.forEach((name, i) => checkName(name, [...f.at('remove'), i], 'remove'));
    out.remove = remove;
  }
  return out;
}

/** `headers: {request: {set, add, remove}, response: {...}}`. */
export function readHeaders(f: Fields, key: string): Headers | undefined {
  const h = f.sub(key, ['request', 'response']);
  if (!h) return undefined;
  const out: Headers = {};
  if (h.has('request')) {
    const ops = readHeaderOperations(h.issues, h.raw('request'), h.at('request'), true);
    if (ops) out.request = ops;
  }
  if (h.has('response')) {
    const ops = readHeaderOperations(h.issues, h.raw('response'), h.at('response'), false);
    if (ops) out.response = ops;
  }
  return out;
}

/** `percentage: {value: 0..100}`. */
export function readPercent(f: Fields, key: string): Percent | undefined {
  const p = f.sub(key, ['value']);
  if (!p) return undefined;
  const value = p.num('value', { min: 0, max: 100 });
  return { value: value ?? 0 };
}

/** exportTo: ".", "*", a namespace name, or (ServiceEntry only) "~". */
export function readExportTo(f: Fields, opts: { allowNone?: boolean } = {}): string[] | undefined {
  const list = f.strList('exportTo');
  if (!list) return undefined;
  const seen = new Set<string>();
  list.forEach((e, i) => {
    const p = [...f.at('exportTo'), i];
    if (seen.has(e)) f.issues.add('WEFT_E_DUPLICATE_VALUE', p, `duplicate entry ${JSON.stringify(e)}`);
    seen.add(e);
    const ok = e === '.' || e === '*' || (opts.allowNone && e === '~') || isDns1123Label(e);
    if (!ok) f.issues.add('WEFT_E_INVALID_VALUE', p, `must be ".", "*"${opts.allowNone ? ', "~"' : ''} or a namespace name, got ${describeValue(e)}`);
  });
  if (list.length > 1 && (seen.has('*') || seen.has('~'))) {
    f.issues.add('WEFT_E_CONFLICT', f.at('exportTo'), `"${seen.has('*') ? '*' : '~'}" cannot be combined with other entries`);
  }
  return list;
}
