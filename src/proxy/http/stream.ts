// One HTTP stream as the connection manager, the filters and the router see it: the request, the
// response it will get, the route chosen for it and its record (StreamInfo). Derived request values
// (path without query, parsed query) are computed lazily, once. Response heads go out through
// respond(), the one place where the filters' onResponseHeaders run, for proxied and local replies.
import type { OutgoingHttpHeaders } from 'node:http';
import type { DownstreamRequest, DownstreamResponse } from './codec.js';
import type { HeaderMap } from './header-map.js';
import type { Route, RouteConfiguration, VirtualHost } from '../xds/model.js';
import type { HttpFilter } from './filter.js';
import type { CompiledRoute } from './route-table.js';
import { StreamInfo } from './stream-info.js';
import { connectionInfoOf, type ConnectionInfo } from '../listener/connection-info.js';

/** What route matching reads from a request (HttpStream implements it; tests fake it). */
export interface RequestView {
  readonly method: string;
  /** Path with query string, as on the request line (origin-form), after path normalisation. */
  readonly url: string;
  /** Path without the query string. */
  readonly path: string;
  readonly authority: string;
  header(name: string): string | undefined;
  queryParam(name: string): string | undefined;
}

export class HttpStream implements RequestView {
  readonly req: DownstreamRequest;
  readonly res: DownstreamResponse;
  readonly method: string;
  url: string;
  readonly authority: string;
  readonly info: StreamInfo;
  /** The HCM's filters, in order (responses pass them in reverse). */
  filters: readonly HttpFilter[] = [];
  /** Set by route selection (again after an on-demand virtual host arrives). */
  routeConfig: RouteConfiguration | undefined;
  vhost: VirtualHost | undefined;
  route: Route | undefined;
  compiledRoute: CompiledRoute | undefined;
  /** Why route is undefined (the router answers 404 with this). */
  noRouteDetails = '';
  /** Epoch ms of the last bytes either way (stream_idle_timeout), and the request body bytes seen then. */
  lastActivity = Date.now();
  bodyBytesSeen = 0;
  /** Upgrade types the HCM lets through (routes may override), and the one this request asks for
   * and was allowed (set by the router). */
  hcmUpgrades: ReadonlySet<string> = new Set();
  upgradeType: string | undefined;
  /** Request headers the router sends only to endpoints that are mesh workloads (their EDS metadata
   * names one): the peer metadata must not leak to services outside the mesh. */
  meshRequestHeaders: Record<string, string> | undefined;
  /** The response head sent (proxied or local) and the upstream's trailers: what access logs'
   * RESP() and TRAILER() read once the stream is over. */
  responseHeaders: OutgoingHttpHeaders | undefined;
  responseTrailers: HeaderMap | undefined;
  /** The router's upstream request, while there is one (ended by the stream's completion). */
  upstream: { onStreamComplete(): void } | undefined;
  private pathOnly: string | undefined;
  private query: URLSearchParams | undefined;
  private grpc: boolean | undefined;

  constructor(req: DownstreamRequest, res: DownstreamResponse) {
    this.req = req;
    this.res = res;
    this.method = req.method;
    this.info = new StreamInfo(req.httpVersion === '2' ? 'HTTP/2' : req.httpVersion === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1');
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

  /** The downstream connection: addresses and, over TLS, the peer's identity. */
  get connection(): ConnectionInfo {
    return connectionInfoOf(this.req.socket);
  }

  get path(): string {
    if (this.pathOnly === undefined) {
      const q = this.url.indexOf('?');
      this.pathOnly = q < 0 ? this.url : this.url.slice(0, q);
    }
    return this.pathOnly;
  }

  /** Replace the path (path normalisation), keeping the query. */
  setPath(path: string): void {
    const q = this.url.indexOf('?');
    this.url = q < 0 ? path : path + this.url.slice(q);
    this.pathOnly = undefined;
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

  responseHeader(name: string): string | undefined {
    return headerText(this.responseHeaders?.[name]);
  }

  responseTrailer(name: string): string | undefined {
    return headerText(this.responseTrailers?.[name]);
  }

  queryParam(name: string): string | undefined {
    if (this.query === undefined) {
      const q = this.url.indexOf('?');
      this.query = new URLSearchParams(q < 0 ? '' : this.url.slice(q + 1));
    }
    return this.query.get(name) ?? undefined;
  }

  /** The upgrade this request asks for (HTTP/1.1 `Connection: upgrade` + `Upgrade: x`), lower-case. */
  get requestedUpgrade(): string | undefined {
    const up = this.req.headers.upgrade;
    const conn = this.req.headers.connection;
    if (typeof up !== 'string' || this.req.httpVersion !== '1.1') return undefined;
    const tokens = (Array.isArray(conn) ? conn.join(',') : (conn ?? '')).toLowerCase().split(',').map((t) => t.trim());
    return tokens.includes('upgrade') ? up.toLowerCase() : undefined;
  }

  /** A gRPC call (local replies answer it in gRPC: HTTP 200 with grpc-status). */
  get isGrpc(): boolean {
    if (this.grpc === undefined) {
      const ct = this.req.headers['content-type'];
      this.grpc = typeof ct === 'string' && ct.startsWith('application/grpc');
    }
    return this.grpc;
  }

  /** The route's typed_per_filter_config for filter `name`, else the virtual host's. */
  perFilterConfig<T>(name: string, typeUrl: string): T | undefined {
    const e = this.route?.perFilter.get(name) ?? this.vhost?.perFilter.get(name);
    return e && e.typeUrl === typeUrl ? (e.config as T) : undefined;
  }

  /** Send the response head: filters see it last-to-first, then it is written. */
  respond(status: number, headers: OutgoingHttpHeaders, statusMessage?: string): void {
    const filters = this.filters;
    for (let i = filters.length - 1; i >= 0; i--) filters[i].onResponseHeaders?.(this, status, headers);
    this.info.responseCode = status;
    this.responseHeaders = headers;
    if (statusMessage) this.res.writeHead(status, statusMessage, headers);
    else this.res.writeHead(status, headers);
  }
}

function headerText(v: string | string[] | number | undefined): string | undefined {
  return v === undefined ? undefined : Array.isArray(v) ? v.join(',') : String(v);
}
