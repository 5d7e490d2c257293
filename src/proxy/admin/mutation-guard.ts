// Who may change the sidecar through its admin port. The admin port listens on loopback, but a browser
// on the same machine can still be made to send a request there: a page's form POST or no-cors fetch
// (a "simple" CORS request, sent without a preflight), or a page whose own host name was re-bound to
// 127.0.0.1 (DNS rebinding). Envoy's admin answers mutations only to POST from local callers; a
// mutation here must also look like it came from a local tool, not a web page:
// - the method is POST (a GET is what <img src> and links send);
// - no foreign Origin (browsers send Origin with every POST; curl and the CLI send none);
// - a Host that names loopback or the admin's own address (a re-bound name is refused);
// - no content type a form or a simple request can carry (form-urlencoded, multipart, text/plain);
// - no Sec-Fetch-Site other than same-origin/none (modern browsers mark cross-site requests).
import type http from 'node:http';
import { isIP } from 'node:net';

export type GuardVerdict = { ok: true } | { ok: false; status: 403 | 405; reason: string };

/** Content types a browser sends without a CORS preflight (Fetch spec, CORS-safelisted). */
const SIMPLE_CONTENT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

/** Host names that reach this machine's loopback only. */
function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** `[::1]:15000` → `::1`; `127.0.0.1:15000` → `127.0.0.1`; `localhost` → `localhost`. */
function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](:\d+)?$/.exec(h);
  if (bracketed) return bracketed[1];
  return h.replace(/:\d+$/, '');
}

export function checkMutation(req: http.IncomingMessage, adminHost: string): GuardVerdict {
  if (req.method !== 'POST') return { ok: false, status: 405, reason: `${req.method} cannot change the proxy: use POST` };
  const host = hostName(req.headers.host ?? '');
  if (!host || !(isLoopbackHost(host) || host === adminHost.toLowerCase()))
    return { ok: false, status: 403, reason: `Host ${JSON.stringify(req.headers.host ?? '')} is not a loopback or admin address` };
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost = '';
    try {
      originHost = hostName(new URL(origin).host);
    } catch {
      // "null" (a sandboxed page or a file:) and anything unparsable are foreign
    }
    if (!originHost || !(isLoopbackHost(originHost) || originHost === adminHost.toLowerCase()))
      return { ok: false, status: 403, reason: `cross-origin request from ${JSON.stringify(origin)} refused` };
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return { ok: false, status: 403, reason: `Sec-Fetch-Site ${site} refused` };
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (SIMPLE_CONTENT_TYPES.has(type)) return { ok: false, status: 403, reason: `content type ${type} refused (a form or a simple cross-origin request)` };
  return { ok: true };
}
