// Which parts of a VirtualService http route a proxyless gRPC client cannot honour, in config terms:
// what routes.ts leaves out or translates, said to the user by `weft analyze`.
import type { HTTPRoute } from '../../../config/types.js';

export interface ProxylessNote {
  /** Field path inside the http route, e.g. `directResponse`. */
  path: string;
  message: string;
}

export function proxylessRouteNotes(r: HTTPRoute): ProxylessNote[] {
  const notes: ProxylessNote[] = [];
  if (r.directResponse) notes.push({ path: 'directResponse', message: 'gRPC has no direct responses: the route is not served to proxyless gRPC clients' });
  if (r.redirect) notes.push({ path: 'redirect', message: 'gRPC does not follow redirects: the route is not served to proxyless gRPC clients' });
  r.match?.forEach((m, i) => {
    if (m.queryParams && Object.keys(m.queryParams).length)
      notes.push({ path: `match[${i}].queryParams`, message: 'gRPC requests have no query: the match is not served to proxyless gRPC clients' });
  });
  if (r.mirrors?.length) notes.push({ path: 'mirror', message: 'gRPC does not mirror: proxyless gRPC clients send no copies' });
  if (r.rewrite) notes.push({ path: 'rewrite', message: 'gRPC does not rewrite: proxyless gRPC clients send the path and authority unchanged' });
  if (r.headers) notes.push({ path: 'headers', message: 'gRPC does not add or remove headers: proxyless gRPC clients ignore the header operations' });
  if (r.retries?.attempts === 0) notes.push({ path: 'retries.attempts', message: 'gRPC rejects 0 retries: proxyless gRPC clients get a retry policy without retryable codes instead' });
  return notes;
}
