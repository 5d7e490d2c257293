// One upstream endpoint of a cluster: its address, health, weight, counters, and its own
// keep-alive connection pool (an http.Agent with bounded sockets).
import http from 'node:http';
import type { HealthStatus } from '../xds/model.js';

export interface HostOptions {
  /** IP address the pool connects to. */
  ip: string;
  port: number;
  /** The name it was configured with (differs from ip for DNS clusters). */
  hostname: string;
  health: HealthStatus;
  weight: number;
  priority: number;
  maxConnections: number;
}

/** How long an idle pooled connection is kept (servers usually hint a shorter keep-alive). */
const IDLE_SOCKET_TIMEOUT_MS = 60_000;

export class UpstreamHost {
  readonly ip: string;
  readonly port: number;
  /** "ip:port" — the pool key and the x-weft-upstream-host value. */
  readonly key: string;
  hostname: string;
  health: HealthStatus;
  weight: number;
  priority: number;
  readonly agent: http.Agent;
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
    this.hostname = o.hostname;
    this.health = o.health;
    this.weight = o.weight;
    this.priority = o.priority;
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: o.maxConnections,
      maxFreeSockets: Math.min(o.maxConnections, 256),
      // LIFO keeps a few hot connections instead of cycling through all of them.
      scheduling: 'lifo',
      timeout: IDLE_SOCKET_TIMEOUT_MS,
      noDelay: true,
    } as http.AgentOptions);
  }

  get healthy(): boolean {
    return this.health === 'HEALTHY' || this.health === 'UNKNOWN';
  }

  /** Open sockets (in use + idle) in the pool. */
  get connections(): number {
    let n = 0;
    for (const list of Object.values(this.agent.sockets)) n += list?.length ?? 0;
    for (const list of Object.values(this.agent.freeSockets)) n += list?.length ?? 0;
    return n;
  }

  onRequestStart(): void {
    this.active++;
    this.total++;
  }

  onRequestEnd(): void {
    this.active--;
    if (this.retired && this.active === 0) this.agent.destroy();
  }

  /** Removed from its cluster: close idle connections now, busy ones when their requests end. */
  retire(): void {
    this.retired = true;
    if (this.active === 0) this.agent.destroy();
    else for (const list of Object.values(this.agent.freeSockets)) for (const s of list ?? []) s.destroy();
  }

  destroy(): void {
    this.retired = true;
    this.agent.destroy();
  }
}
