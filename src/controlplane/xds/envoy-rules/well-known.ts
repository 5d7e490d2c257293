// protoc-gen-validate's well-known string formats (validate.proto StringRules.well_known), with the
// meanings its comments give (RFC 1034 hostnames, RFC 7230 header names and values, ...).
import net from 'node:net';

/** RFC 1034 as PGV checks it: at most 253 characters, labels of 1–63 letters, digits and `-`, no
 * label starting or ending with `-`; one trailing dot allowed. */
export function isHostname(s: string): boolean {
  const h = s.endsWith('.') ? s.slice(0, -1) : s;
  if (h.length === 0 || h.length > 253) return false;
  return h.split('.').every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

export function isEmail(s: string): boolean {
  // PGV: an RFC 5322 address whose domain is a hostname; the local part at most 64 bytes.
  const bare = /<([^>]*)>\s*$/.exec(s)?.[1] ?? s;
  const at = bare.lastIndexOf('@');
  if (at <= 0 || bare.length > 254) return false;
  const local = bare.slice(0, at);
  return Buffer.byteLength(local) <= 64 && /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/.test(local) && isHostname(bare.slice(at + 1));
}

function parsesAsUrl(s: string, base?: string): boolean {
  try {
    new URL(s, base);
    return true;
  } catch {
    return false;
  }
}

export const isUri = (s: string) => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(s) && parsesAsUrl(s);
export const isUriRef = (s: string) => parsesAsUrl(s, 'http://base.invalid/');
export const isUuid = (s: string) => /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s);

// validate.proto KnownRegex; the strict forms are RFC 7230's (the name class keeps PGV's `+-.` range).
const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$/;
const HEADER_VALUE = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
/** `strict: false`: only NUL, CR and LF are refused. */
const HEADER_STRING = /^[^\u0000\u000A\u000D]*$/;

/** The well-known check `name` (a StringRules.well_known member) applied to `s`, or the message when it fails. */
export function wellKnownProblem(name: string, value: unknown, s: string, strict: boolean): string | undefined {
  switch (name) {
    case 'email':
      return isEmail(s) ? undefined : 'value must be a valid email address';
    case 'hostname':
      return isHostname(s) ? undefined : 'value must be a valid hostname';
    case 'ip':
      return net.isIP(s) ? undefined : 'value must be a valid IP address';
    case 'ipv4':
      return net.isIPv4(s) ? undefined : 'value must be a valid IPv4 address';
    case 'ipv6':
      return net.isIPv6(s) ? undefined : 'value must be a valid IPv6 address';
    case 'uri':
      return isUri(s) ? undefined : 'value must be a valid absolute URI';
    case 'uri_ref':
      return isUriRef(s) ? undefined : 'value must be a valid URI reference';
    case 'address':
      return net.isIP(s) || isHostname(s) ? undefined : 'value must be a valid hostname or IP address';
    case 'uuid':
      return isUuid(s) ? undefined : 'value must be a valid UUID';
    case 'well_known_regex': {
      const which = value === 1 ? 'HTTP_HEADER_NAME' : value === 2 ? 'HTTP_HEADER_VALUE' : String(value);
      if (which === 'HTTP_HEADER_NAME') {
        const ok = (strict ? HEADER_NAME : HEADER_STRING).test(s);
        return ok ? undefined : 'value does not match regex pattern for HTTP header name';
      }
      if (which === 'HTTP_HEADER_VALUE') return (strict ? HEADER_VALUE : HEADER_STRING).test(s) ? undefined : 'value does not match regex pattern for HTTP header value';
      return undefined;
    }
    default:
      return undefined;
  }
}

export const WELL_KNOWN = new Set(['email', 'hostname', 'ip', 'ipv4', 'ipv6', 'uri', 'uri_ref', 'address', 'uuid', 'well_known_regex']);
