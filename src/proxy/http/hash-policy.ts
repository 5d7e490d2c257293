// A request's hash for consistent-hash balancing, from the route's hash_policy list (Envoy's
// RouteAction.hash_policy): each policy that yields a value is folded into the hash in order; a
// policy marked `terminal` that yields a value ends the walk. No value at all: the balancer picks at
// random. A cookie policy with a ttl whose cookie is absent generates one, hashes it, and asks the
// router to send it back (Set-Cookie), so the client's next request carries it and sticks.
import { randomBytes } from 'node:crypto';
import { combineHashes, murmur3 } from '../upstream/hash.js';
import type { HashPolicy } from '../xds/model.js';

/** What hashing reads from a request (RequestContext plus the peer address). */
export interface HashInput {
  header(name: string): string | undefined;
  queryParam(name: string): string | undefined;
  readonly sourceIp: string | undefined;
}

export interface RequestHash {
  /** undefined: no policy produced a value. */
  hash: number | undefined;
  /** Set-Cookie values the response must carry (generated affinity cookies). */
  setCookies: string[];
}

export const NO_HASH: RequestHash = Object.freeze({ hash: undefined, setCookies: [] }) as RequestHash;

/** A fresh affinity cookie value; tests pass their own. */
export type CookieGenerator = () => string;
const randomCookie: CookieGenerator = () => randomBytes(8).toString('hex');

export function requestHash(policies: readonly HashPolicy[], req: HashInput, generate: CookieGenerator = randomCookie): RequestHash {
  if (policies.length === 0) return NO_HASH;
  let hash: number | undefined;
  let setCookies: string[] | undefined;
  for (const p of policies) {
    let value: string | undefined;
    switch (p.kind) {
      case 'header':
        value = req.header(p.name);
        break;
      case 'query_parameter':
        value = req.queryParam(p.name);
        break;
      case 'source_ip':
        value = req.sourceIp;
        break;
      case 'cookie':
        value = cookieValue(req.header('cookie'), p.name);
        // Envoy generates the cookie only when a ttl is configured (0 s: a session cookie).
        if (value === undefined && p.ttlMs !== undefined) {
          value = generate();
          (setCookies ??= []).push(setCookieHeader(p.name, value, p.ttlMs, p.path));
        }
        break;
    }
    if (value === undefined) continue;
    const h = murmur3(value);
    hash = hash === undefined ? h : combineHashes(hash, h);
    if (p.terminal) break;
  }
  return { hash, setCookies: setCookies ?? [] };
}

/** The value of cookie `name` in a Cookie header (RFC 6265 `a=b; c=d`), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/;\s*/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const v = part.slice(eq + 1).trim();
      return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
    }
  }
  return undefined;
}

function setCookieHeader(name: string, value: string, ttlMs: number, path: string): string {
  let out = `${name}="${value}"`;
  if (ttlMs > 0) out += `; Max-Age=${Math.floor(ttlMs / 1000)}`;
  if (path) out += `; Path=${path}`;
  return out + '; HttpOnly';
}

/** Add generated affinity cookies to a response's headers, after any the upstream set. */
export function addSetCookies(headers: Record<string, unknown>, cookies: readonly string[]): void {
  if (cookies.length === 0) return;
  const prev = headers['set-cookie'];
  const list = prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev)];
  headers['set-cookie'] = [...list, ...cookies];
}
