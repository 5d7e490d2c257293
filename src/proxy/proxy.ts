// The sidecar: wires the ADS client, the transactional applier, listeners, route tables,
// clusters and the admin endpoint. `close()` drains, `destroy()` aborts.
import * as grpc from '@grpc/grpc-js';
import type { NodeWire, XdsProtocol } from '../api/envoy.js';
import { AdminServer } from './admin/admin-server.js';
import { nackInfo, renderConfigDump } from './admin/config-dump.js';
import { renderSecretsDump } from './admin/secrets-dump.js';
import { IdentityAgent, type IdentityAgentOptions } from './identity/agent.js';
import { HcmRuntime, type HcmStats } from './http/connection-manager.js';
import { TcpProxyRuntime, type TcpProxyStats } from './tcp/tcp-proxy.js';
import { RouteStore } from './http/route-store.js';
import { ListenerManager } from './listener/listener-manager.js';
import { requireOriginalDst } from './listener/original-dst.js';
import { SecretStore } from './tls/secret-store.js';
import { ClusterManager } from './upstream/cluster-manager.js';
import { AdsClient, type XdsClient } from './xds/ads-client.js';
import { XdsApplier } from './xds/apply.js';
import { DeltaAdsClient } from './xds/delta-client.js';
import type { ChannelAuth } from './xds/xds-client-base.js';
import { buildNode, TLS_MODE_LABEL, type WorkloadIdentity } from './xds/node.js';
import { VhdsOnDemand } from './xds/vhds-on-demand.js';

export interface ProxyOptions {
  /** host:port of the ADS server. */
  xdsAddress: string;
  /** Delta ADS (with on-demand VHDS) or state of the world. Default delta. */
  xdsProtocol?: XdsProtocol;
  /** How long a request waits for an on-demand virtual host (tests shorten it). */
  onDemandTimeoutMs?: number;
  /** The workload this sidecar fronts (the Node is derived from it) … */
  workload?: WorkloadIdentity;
  /** … or an explicit Node. */
  node?: NodeWire;
  /** Admin port on adminHost (0: any free port). Default 15000. */
  adminPort?: number;
  /** Listener warming's wait for route configurations (Envoy's initial_fetch_timeout; 15 s). */
  initialFetchTimeoutMs?: number;
  adminHost?: string;
  /** How long close() lets in-flight requests finish. Default 5 s. */
  drainTimeoutMs?: number;
  /** Overload manager: downstream connections across listeners, and requests in flight per listener. */
  maxDownstreamConnections?: number;
  maxActiveRequestsPerListener?: number;
  /** Randomness for weighted routing, load balancing, faults and jitter (tests seed it). */
  random?: () => number;
  /** Clock (ms) for load-balancer slow start; tests drive it. Default Date.now. */
  now?: () => number;
  xdsBackoff?: { initialMs?: number; maxMs?: number };
  log?: (msg: string) => void;
  /** Workload identity: get a certificate from the CA before connecting, then xDS over mTLS with it
   * (xdsAddress is then the secure port). Absent: plaintext xDS, with `xdsToken` if given. */
  identity?: Omit<IdentityAgentOptions, 'secrets' | 'log'>;
  /** A workload token presented on plaintext xDS (authorization: Bearer) when there is no `identity`. */
  xdsToken?: string;
  /** Called after POST /quitquitquit finished a graceful close (the CLI exits here). */
  onShutdown?: () => void;
}

export class Proxy {
  readonly node: NodeWire;
  readonly clusters: ClusterManager;
  readonly routes: RouteStore;
  readonly listeners: ListenerManager;
  readonly applier: XdsApplier;
  readonly ads: XdsClient;
  readonly onDemand: VhdsOnDemand;
  /** TLS secrets: SDS fills what listeners and clusters name over ADS; the identity agent sets
   * WORKLOAD_SECRET and ROOT_CA_SECRET (Istio's `default` and `ROOTCA`) here. */
  readonly secrets = new SecretStore();
  readonly identity: IdentityAgent | undefined;
  private readonly admin: AdminServer;
  private readonly hcmStats = new Map<string, HcmStats>();
  private readonly tcpStats = new Map<string, TcpProxyStats>();
  private readonly networkFilterStats: Record<string, number> = {};
  private readonly o: ProxyOptions;
  private closing: Promise<void> | undefined;
  private started = false;

  constructor(o: ProxyOptions) {
    if (!o.node && !o.workload) throw new TypeError('Proxy needs a workload or a node');
    this.o = o;
    const random = o.random ?? Math.random;
    const log = o.log ?? (() => {});
    // A sidecar with an identity agent holds mesh certificates: it says so as Istio's injector does
    // (label security.istio.io/tlsMode=istio), and the control plane then sends it and its callers mTLS.
    this.node = o.node ?? buildNode(o.identity ? { ...o.workload!, labels: { ...o.workload!.labels, [TLS_MODE_LABEL]: 'istio' } } : o.workload!);
    this.clusters = new ClusterManager({ random, log, now: o.now, secrets: this.secrets });
    const protocol = o.xdsProtocol ?? 'delta';
    this.onDemand = new VhdsOnDemand({ subscribe: (names) => this.ads.subscribe('virtualHost', names), timeoutMs: o.onDemandTimeoutMs });
    this.routes = new RouteStore({ onDemand: (routeConfig, host) => this.onDemand.request(routeConfig, host) });
    this.listeners = new ListenerManager({
      terminals: {
        hcm: (cfg, load) => new HcmRuntime(cfg, { routes: this.routes, clusters: this.clusters, random, stats: this.hcmStats, load }),
        tcpProxy: (cfg) => new TcpProxyRuntime(cfg, { clusters: this.clusters, random, stats: this.tcpStats }),
        networkFilterStats: this.networkFilterStats,
      },
      secrets: this.secrets,
      maxDownstreamConnections: o.maxDownstreamConnections,
      maxActiveRequestsPerListener: o.maxActiveRequestsPerListener,
      drainTimeoutMs: o.drainTimeoutMs,
      log,
    });
    this.applier = new XdsApplier({ clusters: this.clusters, listeners: this.listeners, routes: this.routes, protocol, onDemand: this.onDemand, secrets: this.secrets, initialFetchTimeoutMs: o.initialFetchTimeoutMs, log });
    if (o.identity) this.identity = new IdentityAgent({ ...o.identity, secrets: this.secrets, log });
    const channel = this.identity ?? (o.xdsToken ? bearerOnly(o.xdsToken) : undefined);
    const client = { address: o.xdsAddress, node: this.node, log, backoff: o.xdsBackoff, random, channel };
    this.ads =
      protocol === 'delta' ? new DeltaAdsClient({ ...client, handler: this.applier.handleDelta }) : new AdsClient({ ...client, handler: this.applier.handle });
    this.admin = new AdminServer({
      ready: () => this.ready,
      configDump: () => this.configDump(),
      clusters: () => this.clusters.all(),
      listeners: () => this.listeners.list().map((l) => ({ name: l.name, address: `${l.config.address.host}:${l.port}` })),
      stats: () => this.stats(),
      shutdown: () => void this.close().then(() => this.o.onShutdown?.()),
    });
  }

  /** Bind the admin port and connect to the control plane (does not wait for config). */
  async start(): Promise<void> {
    if (this.started) return;
    // Transparent capture is useless without original destinations: refuse clearly, before binding.
    if (this.o.workload?.capture === 'transparent') requireOriginalDst();
    this.started = true;
    const adminHost = this.o.adminHost ?? '127.0.0.1';
    // The admin port can read config and shut the proxy down: loopback only, as Istio binds Envoy's.
    if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(adminHost)) throw new Error(`admin host ${adminHost}: the admin port binds a loopback address only [WEFT_E_BAD_FLAG]`);
    await this.admin.listen(adminHost, this.o.adminPort ?? 15000);
    if (!this.identity) return this.ads.start();
    // No config before the certificate: xDS runs over mTLS with it, and ready waits for both.
    this.identity.start();
    void this.identity.whenReady().then(() => {
      if (!this.closing) this.ads.start();
    });
  }

  get ready(): boolean {
    return this.applier.ready && (this.identity?.ready ?? true);
  }

  /** Resolves once the first CDS and LDS are applied (rejects after timeoutMs, if given). */
  whenReady(timeoutMs?: number): Promise<void> {
    const ready = Promise.all([this.applier.whenReady(), this.identity?.whenReady()]).then(() => {});
    if (timeoutMs === undefined) return ready;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`proxy not ready after ${timeoutMs} ms`)), timeoutMs);
      ready.then(() => {
        clearTimeout(t);
        resolve();
      }, reject);
    });
  }

  get adminPort(): number {
    return this.admin.port;
  }

  /** The bound port of a listener by name (useful when the config asked for port 0). */
  listenerPort(name: string): number | undefined {
    return this.listeners.get(name)?.port;
  }

  configDump(): unknown {
    const dump = renderConfigDump(this.applier.status, {
      connected: this.ads.connected,
      control_plane: this.ads.address,
      protocol: this.ads.protocol,
      last_nack: nackInfo(this.ads.lastNack),
    });
    (dump.configs as unknown[]).push(renderSecretsDump(this.secrets));
    return dump;
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    const c = this.ads.counters;
    out['control_plane.connected_state'] = this.ads.connected ? 1 : 0;
    out['control_plane.streams_total'] = c.streams;
    out['control_plane.stream_failures_total'] = c.streamFailures;
    out['control_plane.responses_total'] = c.responses;
    out['control_plane.ack_total'] = c.acks;
    out['control_plane.nack_total'] = c.nacks;
    out['listener_manager.total_listeners_active'] = this.listeners.list().length;
    out['overload.downstream_cx_active'] = this.listeners.connections.active;
    for (const l of [...this.listeners.list()].sort((a, b) => a.name.localeCompare(b.name))) {
      for (const [k, v] of Object.entries(l.stats)) out[`listener.${l.name}.${k}`] = v;
      out[`listener.${l.name}.downstream_rq_active`] = l.load.active;
    }
    for (const [prefix, s] of [...this.tcpStats].sort(([a], [b]) => a.localeCompare(b))) {
      for (const [k, v] of Object.entries(s)) out[`tcp.${prefix}.${k}`] = v;
    }
    for (const k of Object.keys(this.networkFilterStats).sort()) out[k] = this.networkFilterStats[k];
    const mem = process.memoryUsage();
    out['server.memory_rss_bytes'] = mem.rss;
    out['server.memory_heap_used_bytes'] = mem.heapUsed;
    out['server.uptime_seconds'] = Math.round(process.uptime());
    for (const [prefix, s] of [...this.hcmStats].sort(([a], [b]) => a.localeCompare(b))) {
      for (const [k, v] of Object.entries(s)) out[`http.${prefix}.${k}`] = v;
    }
    for (const rt of [...this.clusters.all()].sort((a, b) => a.name.localeCompare(b.name))) {
      const p = `cluster.${rt.name}`;
      for (const [k, v] of Object.entries(rt.stats)) out[`${p}.${k}`] = v;
      for (const [k, v] of Object.entries(rt.resources.gauges())) out[`${p}.circuit_breakers.default.${k}`] = v;
      if (rt.outlier) for (const [k, v] of Object.entries(rt.outlier.stats)) out[`${p}.outlier_detection.${k}`] = v;
      out[`${p}.upstream_rq_active`] = rt.active;
      out[`${p}.membership_total`] = rt.hosts.length;
      out[`${p}.membership_healthy`] = rt.hosts.filter((h) => h.healthy).length;
    }
    return out;
  }

  /** SIGTERM: a drain period in which listeners still accept but every connection closes after its
   * response (callers move elsewhere), then close(). */
  shutdown(drainPeriodMs: number): Promise<void> {
    this.listeners.startDraining();
    return new Promise<void>((resolve) => setTimeout(resolve, drainPeriodMs)).then(() => this.close());
  }

  /** Graceful: stop taking config, stop accepting, let in-flight requests finish, close pools. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.identity?.close();
      this.ads.close();
      await this.listeners.close();
      this.clusters.close();
      await this.admin.close();
    })();
    return this.closing;
  }

  /** Abort everything now. */
  destroy(): void {
    this.identity?.close();
    this.ads.close();
    this.listeners.destroy();
    this.clusters.destroy();
    this.admin.destroy();
  }
}

/** Plaintext xDS presenting a token (no certificate). */
function bearerOnly(token: string): ChannelAuth {
  return {
    generation: () => 0,
    credentials: () => grpc.credentials.createInsecure(),
    metadata: () => {
      const m = new grpc.Metadata();
      m.set('authorization', `Bearer ${token}`);
      return m;
    },
  };
}

/** The same class under a name that does not shadow the global `Proxy`. */
export { Proxy as WeftProxy };
