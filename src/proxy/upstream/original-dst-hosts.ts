// The hosts of an ORIGINAL_DST cluster (lb_policy CLUSTER_PROVIDED): no endpoint list, each pick
// is the downstream connection's original destination (or the address an x-envoy-original-dst-host
// header names, when use_http_header is set). A host is made the first time its address is picked
// and, as in Envoy, removed by a sweep every cleanup_interval once it has been neither picked nor
// busy since the previous sweep; its pool then closes.
import { isIP } from 'node:net';
import { restoredDestination, type ConnectionInfo } from '../listener/connection-info.js';
import type { OriginalDstConfig } from '../xds/model.js';
import type { UpstreamHost } from './host.js';

export interface OriginalDstHostsDeps {
  make(address: string, port: number): UpstreamHost;
  /** The current host list (the cluster's /clusters view). */
  onChange(hosts: UpstreamHost[]): void;
}

interface Entry {
  host: UpstreamHost;
  used: boolean;
}

export class OriginalDstHosts {
  private readonly byKey = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly config: OriginalDstConfig,
    private readonly deps: OriginalDstHostsDeps,
  ) {
    this.timer = setInterval(() => this.sweep(), config.cleanupIntervalMs);
    this.timer.unref();
  }

  /** The host for this destination; undefined without one (Envoy: no healthy upstream). */
  pick(dst: { address: string; port: number } | undefined): UpstreamHost | undefined {
    if (!dst || isIP(dst.address) === 0) return undefined;
    const port = this.config.portOverride ?? dst.port;
    const key = dst.address.includes(':') ? `[${dst.address}]:${port}` : `${dst.address}:${port}`;
    let e = this.byKey.get(key);
    if (!e) {
      e = { host: this.deps.make(dst.address, port), used: true };
      this.byKey.set(key, e);
      this.deps.onChange(this.hosts());
    }
    e.used = true;
    return e.host;
  }

  private hosts(): UpstreamHost[] {
    return [...this.byKey.values()].map((e) => e.host);
  }

  /** Drop hosts neither picked nor carrying requests or connections since the last sweep. */
  sweep(): void {
    let changed = false;
    for (const [key, e] of this.byKey) {
      if (e.used || e.host.active > 0) {
        e.used = false;
        continue;
      }
      e.host.retire();
      this.byKey.delete(key);
      changed = true;
    }
    if (changed) this.deps.onChange(this.hosts());
  }

  close(): void {
    clearInterval(this.timer);
    for (const e of this.byKey.values()) e.host.retire();
    this.byKey.clear();
  }
}

/** The x-envoy-original-dst-host value ("ip:port" or "[ipv6]:port") as a destination. */
export function parseOriginalDstHeader(value: string | undefined): { address: string; port: number } | undefined {
  if (!value) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(value.trim());
  if (!m) return undefined;
  const address = m[1] ?? m[2];
  const port = Number(m[3]);
  if (isIP(address) === 0 || port < 1 || port > 65535) return undefined;
  return { address, port };
}

/** An ORIGINAL_DST cluster's destination for a request: the header's address when use_http_header
 * is set and the header is there, else the downstream connection's restored original destination. */
export function originalDstFor(config: OriginalDstConfig, header: (name: string) => string | undefined, conn: ConnectionInfo): { address: string; port: number } | undefined {
  if (config.useHttpHeader) {
    const named = parseOriginalDstHeader(header(config.httpHeaderName));
    if (named) return named;
  }
  return restoredDestination(conn);
}
