// Header handling on the proxied path: hop-by-hop removal (RFC 9110 §7.6.1), header mutations
// from route config. The proxy's own replies are in local-reply.ts.
import type { OutgoingHttpHeaders } from 'node:http';
import type { MessageHeaders } from '../http1/parser.js';
import type { HeaderMutation } from '../xds/model.js';
import { createHeaderMap } from './header-map.js';

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authenticate', 'proxy-authorization']);
/** Headers the Connection option may not remove: framing is decided by the codec from the parsed
 * message (a peer naming content-length in Connection must not unframe the body it sends). */
const notNominable = new Set(['content-length', 'host']);

/** Copy headers minus hop-by-hop ones and those the Connection header names. */
export function forwardableHeaders(src: MessageHeaders): OutgoingHttpHeaders {
  const out = createHeaderMap<OutgoingHttpHeaders>();
  const raw = src.connection;
  const connection = Array.isArray(raw) ? raw.join(',') : raw;
  let named: Set<string> | undefined;
  if (connection && connection !== 'keep-alive' && connection !== 'close') {
    named = new Set(connection.toLowerCase().split(',').map((s) => s.trim()));
  }
  for (const key in src) {
    // `te: trailers` is end-to-end intent (gRPC needs it over HTTP/2); any other te is hop-by-hop.
    if (key === 'te' && src.te === 'trailers') {
      out.te = 'trailers';
      continue;
    }
    if (hopByHop.has(key)) continue;
    if (named?.has(key) && !notNominable.has(key)) continue;
    out[key] = src[key];
  }
  return out;
}

export function applyHeaderMutation(headers: OutgoingHttpHeaders, m: HeaderMutation): void {
  for (let i = 0; i < m.remove.length; i++) delete headers[m.remove[i]];
  for (let i = 0; i < m.add.length; i++) {
    const { key, value, action } = m.add[i];
    const existing = headers[key];
    switch (action) {
      case 'append':
        if (existing === undefined) headers[key] = value;
        else if (Array.isArray(existing)) headers[key] = [...existing, value];
        else headers[key] = key === 'set-cookie' ? [String(existing), value] : `${existing},${value}`;
        break;
      case 'add_if_absent':
        if (existing === undefined) headers[key] = value;
        break;
      case 'overwrite':
        headers[key] = value;
        break;
      case 'overwrite_if_exists':
        if (existing !== undefined) headers[key] = value;
        break;
    }
  }
}
