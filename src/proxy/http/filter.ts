// HTTP filters: small units an HCM runs for each stream, in order on the request and in reverse on
// the response head, each told once when the stream is over. A filter *type* comes from the
// registry (filters/registry.ts) keyed by type URL: parse its config at the xDS edge, parse a
// per-route config, create a filter instance for one HCM. fault → … → router today; rbac and stats
// are siblings. Tracing is not a filter: it is the HCM's own `tracing` (telemetry/tracing/tracer.ts).
import type { OutgoingHttpHeaders } from 'node:http';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { HcmStats } from './connection-manager.js';
import type { Problems, Raw } from '../xds/validate-common.js';
import type { RouteSlot } from './route-store.js';
import type { HttpStream } from './stream.js';
import type { ProxyTelemetry, Reporter } from '../telemetry/telemetry.js';

export const CONTINUE = 0;
export const STOP = 1;
export type FilterStatus = typeof CONTINUE | typeof STOP;

export interface HttpFilter {
  readonly name: string;
  /** Continue to the next filter, stop (it answered, or handed the stream upstream), or a promise of either. */
  onRequest(stream: HttpStream): FilterStatus | Promise<FilterStatus>;
  /** The response head about to be sent (proxied or local); headers may be edited. */
  onResponseHeaders?(stream: HttpStream, status: number, headers: OutgoingHttpHeaders): void;
  /** The stream ended (answered, reset, or the client left): release what it holds. Called once. */
  onStreamComplete?(stream: HttpStream): void;
}

/** What a filter instance may use; one set per HCM. */
export interface HttpFilterDeps {
  clusters: ClusterManager;
  random: () => number;
  /** The HCM's route slot, and how to pick the route again once it changed (on-demand VHDS). */
  routes: RouteSlot;
  reselectRoute(stream: HttpStream): void;
  /** The HCM's counters (filters add theirs under their own names). */
  stats: HcmStats;
  /** The proxy's Istio metrics and workload identity (absent: metrics off), and the reporter this
   * HCM's listener reports as. */
  telemetry: ProxyTelemetry | undefined;
  reporter: Reporter;
}

export interface HttpFilterType<C = unknown> {
  readonly typeUrl: string;
  /** http_filters[].typed_config → config; problems get field paths under `path`. */
  parse(raw: Raw, path: string, p: Problems): C;
  /** typed_per_filter_config entry → config; absent: the type takes no per-route config. */
  parsePerRoute?(raw: Raw, path: string, p: Problems): unknown;
  /** The per-route config's own type URL when it differs from the filter's (RBAC's RBACPerRoute). */
  readonly perRouteTypeUrl?: string;
  /** The router is terminal: it must be the last filter of a chain. */
  readonly terminal?: boolean;
  create(name: string, config: C, deps: HttpFilterDeps): HttpFilter;
}

/** Run filters from index i; synchronous filters cost no promise. */
export function runFilters(filters: readonly HttpFilter[], stream: HttpStream, i = 0): void {
  for (; i < filters.length; i++) {
    const status = filters[i].onRequest(stream);
    if (status === STOP) return;
    if (status !== CONTINUE) {
      const next = i + 1;
      status.then(
        (s) => {
          // The client may have gone while the filter waited.
          if (s === CONTINUE && !stream.info.finalized) runFilters(filters, stream, next);
        },
        (err) => {
          stream.res.destroy(err as Error);
        },
      );
      return;
    }
  }
}
