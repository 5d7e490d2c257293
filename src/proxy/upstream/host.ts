// One upstream endpoint of a cluster: its address, health, weight, counters, and its own
// connection pools, one per protocol, over the transport (TCP or TLS connector) its cluster's
// transport_socket_matches chose for it (bounded connections, connect timeout, no request
// timeouts of its own — the route's timeouts govern).
import type { PeerWorkload } from '../../api/peer-metadata.js';
import type { HealthStatus } from '../xds/model.js';
import { Http1Pool, type PoolResources } from '../http1/client.js';
import { Http2Pool } from '../http2/client.js';
import type { Connector } from './connector.js';
import type { UpstreamPool } from './pool.js';

export interface PoolSettings {
  /** The HTTP/2 pool's own session cap; HTTP/1.1 connections count against the cluster's resources. */
  h2MaxConnections: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** 0: unlimited. */
  maxRequestsPerConnection: number;
  tcpKeepaliveMs: number | undefined;
  /** HTTP/2: streams per session this side opens at most (0: the peer's limit). */
  h2MaxConcurrentStreams: number;
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
  /** The cluster's circuit-breaker resources (max_connections, max_pending_requests). */
  resources: PoolResources;
  /** The transport socket chosen for this endpoint, and its name (part of the pool key). */
  connector: Connector;
  transportName: string;
  /** The cluster's transport config key: new connectors mean new pools. */
  poolKeySuffix: string;
}

export function poolKey(s: PoolSettings): string {
  return `${s.h2MaxConnections}|${s.connectTimeoutMs}|${s.idleTimeoutMs}|${s.maxRequestsPerConnection}|${s.tcpKeepaliveMs}|${s.h2MaxConcurrentStreams}`;
}

export class UpstreamHost {
  readonly ip: string;
  readonly port: number;
  /** "ip:port" — the pool key and the x-weft-upstream-host value. */
  readonly key: string;
  /** Settings the pool was built with; a change means a new host object. */
  readonly poolKey: string;
  /** The transport socket's name ('default' or a transport_socket_matches entry). */
  readonly transportName: string;
  /** How connections to this host are made (tcp_proxy opens its upstream with it too). */
  readonly connector: Connector;
  hostname: string;
  health: HealthStatus;
  weight: number;
  priority: number;
  /** Locality group ("region/zone/sub_zone") and its weight, for locality-weighted balancing. */
  locality = '';
  /** The endpoint's workload from its EDS metadata (telemetry's destination labels). */
  workload: PeerWorkload | undefined;
  localityWeight = 0;
  /** When it joined a cluster that already had hosts (slow start); undefined for the first set. */
  addedAtMs: number | undefined;
  /** The HTTP/1.1 pool; an HTTP/2 pool is made the first time a request needs one. */
  readonly pool: Http1Pool;
  private h2: Http2Pool | undefined;
  private readonly settings: HostOptions;
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
    this.poolKey = `${poolKey(o)}|${o.poolKeySuffix}`;
    this.transportName = o.transportName;
    this.connector = o.connector;
    this.hostname = o.hostname;
    this.health = o.health;
    this.weight = o.weight;
    this.priority = o.priority;
    this.settings = o;
    this.pool = new Http1Pool({
      ip: o.ip,
      port: o.port,
      authority: this.key,
      // The connection limit is the cluster's (resources); a host has none of its own.
      maxConnections: Infinity,
      connectTimeoutMs: o.connectTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      maxRequestsPerConnection: o.maxRequestsPerConnection,
      tcpKeepaliveMs: o.tcpKeepaliveMs,
      resources: o.resources,
      connector: o.connector,
    });
  }

  get healthy(): boolean {
    return this.health === 'HEALTHY' || this.health === 'UNKNOWN';
  }

  /** The pool for a protocol (the host's transport is fixed: another transport is another host object). */
  poolFor(protocol: 'http1' | 'http2'): UpstreamPool {
    if (protocol === 'http1') return this.pool;
    this.h2 ??= new Http2Pool({
      ip: this.ip,
      port: this.port,
      authority: this.key,
      maxConnections: this.settings.h2MaxConnections,
      connectTimeoutMs: this.settings.connectTimeoutMs,
      idleTimeoutMs: this.settings.idleTimeoutMs,
      resources: this.settings.resources,
      maxConcurrentStreams: this.settings.h2MaxConcurrentStreams,
      connector: this.settings.connector,
    });
    return this.h2;
  }

  /** Open connections in the pools. */
  get connections(): number {
    return this.pool.connected + (this.h2?.connected ?? 0);
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
    void this.pool.close();
    void this.h2?.close();
  }

  destroy(): void {
    this.retired = true;
    this.pool.destroy();
    this.h2?.destroy();
  }
}
