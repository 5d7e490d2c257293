// Request path normalisation before route matching (and, later, authorization), as Envoy's HCM does
// with normalize_path / merge_slashes / path_with_escaped_slashes_action and Istio's mesh-wide
// `pathNormalization` (BASE by default). Without it `/public/../admin`, `/./admin` or `/%61dmin`
// slip past a `prefix: /admin` rule while the application serves /admin.
import type { PathNormalization } from '../xds/model.js';

export type NormalizedPath =
  | { kind: 'ok'; path: string }
  /** The path must be refused (400): an invalid %-escape, or escaped slashes with REJECT_REQUEST. */
  | { kind: 'reject'; why: string }
  /** UNESCAPE_AND_REDIRECT: tell the client to ask for this path instead. */
  | { kind: 'redirect'; path: string };

const escapedSlash = /%(2f|5c)/i;
const unreserved = /[A-Za-z0-9\-._~]/;

/** Normalise the path part (no query) of an origin-form request target. */
export function normalizePath(path: string, o: PathNormalization): NormalizedPath {
  let p = path;
  if (o.escapedSlashes !== 'KEEP_UNCHANGED' && escapedSlash.test(p)) {
    if (o.escapedSlashes === 'REJECT_REQUEST') return { kind: 'reject', why: 'escaped slashes in path' };
    p = p.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
    if (o.escapedSlashes === 'UNESCAPE_AND_REDIRECT') {
      const target = normalizePath(p, { ...o, escapedSlashes: 'KEEP_UNCHANGED' });
      return target.kind === 'ok' ? { kind: 'redirect', path: target.path } : target;
    }
  }
  if (o.normalize) {
    const decoded = decodeUnreserved(p);
    if (decoded === undefined) return { kind: 'reject', why: 'invalid percent-encoding in path' };
    // Backslashes are path separators to many servers (and to Envoy's canonicaliser).
    p = removeDotSegments(decoded.replace(/\\/g, '/'));
  }
  if (o.mergeSlashes) p = p.replace(/\/{2,}/g, '/');
  return { kind: 'ok', path: p };
}

/** Decode %XX of unreserved characters, upper-case the hex of the rest; undefined if malformed. */
function decodeUnreserved(p: string): string | undefined {
  if (!p.includes('%')) return p;
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = p.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    const ch = String.fromCharCode(parseInt(hex, 16));
    out += unreserved.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 §5.2.4, on an absolute path. */
export function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path;
  const segments = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if (s === '.') {
      if (last) out.push('');
    } else if (s === '..') {
      out.pop();
      if (last) out.push('');
    } else out.push(s);
  }
  return `/${out.join('/')}`;
}
