// One upstream endpoint of a cluster: its address, health, weight, counters, and its own
// keep-alive connection pool (an undici Pool: bounded connections, connect timeout, no
// request timeouts of its own — the route's timeouts govern).
import { Pool } from 'undici';
import type { HealthStatus } from '../xds/model.js';

export interface PoolSettings {
  maxConnections: number;
  connectTimeoutMs: number;
}

export interface HostOptions extends PoolSettings {
  /** IP address the pool connects to. */
  ip: string;
  port: number;
  /** The name it was configured with (differs from ip for DNS clusters). */
  hostname: string;
  health: HealthStatus;
  weight: number;
  priority: number;
}

/** Idle pooled connections are closed after this (a server's keep-alive hint may shorten it). */
const IDLE_CONNECTION_TIMEOUT_MS = 30_000;

export function poolKey(s: PoolSettings): string {
  return `${s.maxConnections}|${s.connectTimeoutMs}`;
}

export class UpstreamHost {
  readonly ip: string;
  readonly port: number;
  /** "ip:port" — the pool key and the x-weft-upstream-host value. */
  readonly key: string;
  /** Settings the pool was built with; a change means a new host object. */
  readonly poolKey: string;
  hostname: string;
  health: HealthStatus;
  weight: number;
  priority: number;
  readonly pool: Pool;
  /** Requests in flight (least-request balancing reads this). */
  active = 0;
  total = 0;
  errors = 0;
  connectFailures = 0;
  private retired = false;

  constructor(o: HostOptions) {
    this.ip = o.ip;
    this.port = o.port;
    this.key = o.ip.includes(':') ? `[${o.ip}]:${o.port}` : `${o.ip}:${o.port}`;
    this.poolKey = poolKey(o);
    this.hostname = o.hostname;
    this.health = o.health;
    this.weight = o.weight;
    this.priority = o.priority;
    this.pool = new Pool(`http://${this.key}`, {
      connections: o.maxConnections,
      pipelining: 1,
      connectTimeout: o.connectTimeoutMs > 0 ? o.connectTimeoutMs : undefined,
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: IDLE_CONNECTION_TIMEOUT_MS,
      keepAliveMaxTimeout: 600_000,
    });
    // A pool reports connection errors through requests; nothing to do at pool level.
    this.pool.on('connectionError', () => {});
  }

  get healthy(): boolean {
    return this.health === 'HEALTHY' || this.health === 'UNKNOWN';
  }

  /** Open connections in the pool. */
  get connections(): number {
    return this.pool.stats.connected;
  }

  onRequestStart(): void {
    this.active++;
    this.total++;
  }

  onRequestEnd(): void {
    this.active--;
  }

  /** Removed from its cluster: requests in flight finish, then the pool closes. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.pool.close().catch(() => {});
  }

  destroy(): void {
    this.retired = true;
    this.pool.destroy().catch(() => {});
  }
}
