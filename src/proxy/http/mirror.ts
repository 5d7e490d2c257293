// request_mirror_policies: a copy of the request goes to another cluster, fire and forget. The copy's
// host gets Envoy's `-shadow` suffix, its answer is read and dropped, it never touches the caller's
// response or timing, and it is cut at the route timeout (15 s when the route has none). A body is
// mirrored when the router buffered it (small, known-length bodies); a streamed body is not copied
// (counted as upstream_rq_mirror_skipped on the mirror cluster).
import type { OutgoingHttpHeaders } from 'node:http';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { MirrorPolicy, Percent } from '../xds/model.js';
import { createHeaderMap, type HeaderMap } from './header-map.js';

const DEFAULT_MIRROR_TIMEOUT_MS = 15_000;

export interface MirrorCounters {
  upstream_rq_mirror: number;
  upstream_rq_mirror_skipped: number;
}

export interface MirroredRequest {
  method: string;
  path: string;
  headers: OutgoingHttpHeaders;
  /** undefined: no body; a Buffer: the buffered body; null: streamed (not mirrored). */
  body: Buffer | null | undefined;
  timeoutMs: number;
}

export function shadowHost(host: string): string {
  const colon = host.lastIndexOf(':');
  const hasPort = colon > 0 && !host.endsWith(']') && /^\d+$/.test(host.slice(colon + 1));
  return hasPort ? `${host.slice(0, colon)}-shadow${host.slice(colon)}` : `${host}-shadow`;
}

function hits(p: Percent, random: () => number): boolean {
  if (p.numerator <= 0) return false;
  return p.numerator >= p.denominator || random() * p.denominator < p.numerator;
}

/** Send each policy's copy; returns at once. */
export function sendMirrors(policies: readonly MirrorPolicy[], req: MirroredRequest, clusters: ClusterManager, random: () => number, counters: (cluster: string) => MirrorCounters | undefined): void {
  for (const m of policies) {
    if (!hits(m.percent, random)) continue;
    const cluster = clusters.get(m.cluster);
    const c = counters(m.cluster);
    if (!cluster) continue;
    if (req.body === null) {
      if (c) c.upstream_rq_mirror_skipped++;
      continue;
    }
    const host = cluster.pick();
    if (!host) continue;
    if (c) c.upstream_rq_mirror++;
    const headers = createHeaderMap<OutgoingHttpHeaders>();
    for (const k of Object.keys(req.headers)) headers[k] = req.headers[k];
    if (m.shadowSuffix && typeof headers.host === 'string') headers.host = shadowHost(headers.host);
    delete headers['x-envoy-attempt-count'];
    let timer: NodeJS.Timeout | undefined;
    const done = () => clearTimeout(timer);
    const exchange = host.poolFor(cluster.config.httpProtocol === 'http2' ? 'http2' : 'http1').request(
      { method: req.method, path: req.path, headers, body: req.body },
      { onResponse: (_s: number, _m: string, _h: HeaderMap) => {}, onData: () => {}, onEnd: done, onError: done },
    );
    timer = setTimeout(() => exchange.abort(), req.timeoutMs > 0 ? req.timeoutMs : DEFAULT_MIRROR_TIMEOUT_MS);
    timer.unref();
  }
}
