// Per-request state shared by the HTTP filters. One object per request; derived values
// (path without query, parsed query) are computed lazily, once.
import type { DownstreamRequest, DownstreamResponse } from '../http1/server.js';
import type { Route, RouteConfiguration, VirtualHost } from '../xds/model.js';
import type { CompiledRoute } from './route-table.js';

/** What route matching reads from a request (RequestContext implements it; tests fake it). */
export interface RequestView {
  readonly method: string;
  /** Path with query string, as on the request line (origin-form). */
  readonly url: string;
  /** Path without the query string. */
  readonly path: string;
  readonly authority: string;
  header(name: string): string | undefined;
  queryParam(name: string): string | undefined;
}

export class RequestContext implements RequestView {
  readonly req: DownstreamRequest;
  readonly res: DownstreamResponse;
  readonly method: string;
  readonly url: string;
  readonly authority: string;
  /** Set by the connection manager before the filters run. */
  routeConfig: RouteConfiguration | undefined;
  vhost: VirtualHost | undefined;
  route: Route | undefined;
  compiledRoute: CompiledRoute | undefined;
  requestId = '';
  private pathOnly: string | undefined;
  private query: URLSearchParams | undefined;

  constructor(req: DownstreamRequest, res: DownstreamResponse) {
    this.req = req;
    this.res = res;
    this.method = req.method;
    const raw = req.url;
    // The parser admits at most one Host header.
    const host = req.headers.host as string | undefined;
    if (raw.charCodeAt(0) === 47 /* '/' */ || raw === '*') {
      this.url = raw;
      this.authority = host ?? '';
    } else {
      // Absolute-form (an app using the sidecar as its HTTP proxy): the URL names the host.
      let url: URL | undefined;
      try {
        url = new URL(raw);
      } catch {
        url = undefined;
      }
      this.url = url ? url.pathname + url.search : raw;
      this.authority = url?.host || host || '';
      if (url) req.headers.host = this.authority;
    }
  }

  get path(): string {
    if (this.pathOnly === undefined) {
      const q = this.url.indexOf('?');
      this.pathOnly = q < 0 ? this.url : this.url.slice(0, q);
    }
    return this.pathOnly;
  }

  header(name: string): string | undefined {
    if (name.charCodeAt(0) === 58 /* ':' */) {
      switch (name) {
        case ':authority':
          return this.authority;
        case ':path':
          return this.url;
        case ':method':
          return this.method;
        case ':scheme':
          return 'http';
        default:
          return undefined;
      }
    }
    const v = this.req.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  }

  queryParam(name: string): string | undefined {
    if (this.query === undefined) {
      const q = this.url.indexOf('?');
      this.query = new URLSearchParams(q < 0 ? '' : this.url.slice(q + 1));
    }
    return this.query.get(name) ?? undefined;
  }
}
