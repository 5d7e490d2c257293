// Matchers shared by listener, route and RBAC validation: CIDR ranges and HeaderMatcher. A leaf
// module (it imports only the common helpers), so the RBAC parser can use these without an import
// cycle through the filter registry.
import { isIP } from 'node:net';
import type { Cidr, HeaderMatcher } from './model.js';
import { compileRegex, has, join, num, obj, str, stringMatcher, wrapped, type Problems, type Raw } from './validate-common.js';

export function headerMatcher(raw: Raw, path: string, p: Problems): HeaderMatcher | undefined {
  const name = str(raw.name).toLowerCase();
  if (!name) {
    p.add(join(path, 'name'), 'is required');
    return undefined;
  }
  const base = { name, invert: raw.invert_match === true, treatMissingAsEmpty: raw.treat_missing_header_as_empty === true };
  const legacy: Record<string, 'exact' | 'prefix' | 'suffix' | 'contains'> = {
    exact_match: 'exact',
    prefix_match: 'prefix',
    suffix_match: 'suffix',
    contains_match: 'contains',
  };
  for (const [field, kind] of Object.entries(legacy)) {
    if (typeof raw[field] === 'string') return { ...base, match: { kind: 'string', matcher: { kind, value: raw[field] as string, ignoreCase: false } } };
  }
  if (has(raw, 'safe_regex_match')) {
    const regex = compileRegex(obj(raw.safe_regex_match).regex, join(path, 'safe_regex_match.regex'), p);
    return regex && { ...base, match: { kind: 'string', matcher: { kind: 'regex', regex } } };
  }
  if (has(raw, 'string_match')) {
    const matcher = stringMatcher(raw.string_match, join(path, 'string_match'), p);
    return matcher && { ...base, match: { kind: 'string', matcher } };
  }
  if (has(raw, 'range_match')) {
    const r = obj(raw.range_match);
    const start = num(r.start);
    const end = num(r.end);
    if (end <= start) p.add(join(path, 'range_match'), `end (${end}) must be greater than start (${start})`);
    return { ...base, match: { kind: 'range', start, end } };
  }
  // present_match: false decodes as absent; no specifier at all means "present" in Envoy.
  return { ...base, match: { kind: 'present', present: raw.present_match !== false } };
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
