// The sidecar: wires the ADS client, the transactional applier, listeners, route tables,
// clusters and the admin endpoint. `close()` drains, `destroy()` aborts.
import * as grpc from '@grpc/grpc-js';
import type { NodeWire, XdsProtocol } from '../api/envoy.js';
import { AdminServer } from './admin/admin-server.js';
import { nackInfo, renderConfigDump, renderVirtualHostsDump } from './admin/config-dump.js';
import { renderSecretsDump } from './admin/secrets-dump.js';
import { IdentityAgent, type IdentityAgentOptions } from './identity/agent.js';
import { HcmRuntime, type HcmStats } from './http/connection-manager.js';
import { TcpProxyRuntime, type TcpProxyStats } from './tcp/tcp-proxy.js';
import { RouteStore } from './http/route-store.js';
import { ListenerManager } from './listener/listener-manager.js';
import { requireOriginalDst } from './listener/original-dst.js';
import { SecretStore, WORKLOAD_SECRET } from './tls/secret-store.js';
import { leafUriSan } from './tls/peer.js';
import { ClusterManager } from './upstream/cluster-manager.js';
import { AdsClient, type XdsClient } from './xds/ads-client.js';
import { XdsApplier } from './xds/apply.js';
import { DeltaAdsClient } from './xds/delta-client.js';
import type { ChannelAuth } from './xds/xds-client-base.js';
import { buildNode, TLS_MODE_LABEL, workloadNameOf, type WorkloadIdentity } from './xds/node.js';
import { peerWorkload } from '../api/peer-metadata.js';
import { adminKey, renderEnvoyPrometheus, type StatEntry, type StatScope } from './telemetry/envoy-stats.js';
import { prometheusHandler, type AppMetricsTarget } from './telemetry/prometheus-handler.js';
import { TelemetryServer } from './telemetry/telemetry-server.js';
import { MESH_DOMAIN, ProxyTelemetry } from './telemetry/telemetry.js';
import { VhdsOnDemand } from './xds/vhds-on-demand.js';
import { AccessLogSinks } from './telemetry/access-log/sinks.js';
import { OtelLogSinks } from './telemetry/access-log/otel-sink.js';
import type { AccessLogDeps } from './telemetry/access-log/logger.js';
import { Loggers, type LogLevel } from './log.js';
import { renderBootstrapDump } from './admin/bootstrap-dump.js';
import { ADMIN_ADDRESS_METADATA } from '../api/mesh-names.js';
import { TraceProviders } from './telemetry/tracing/providers.js';
import type { TracingDeps } from './telemetry/tracing/tracer.js';

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
  /** The level every logger starts at (Envoy's --log-level; default info); POST /logging changes it live. */
  logLevel?: LogLevel;
  /** Workload identity: get a certificate from the CA before connecting, then xDS over mTLS with it
   * (xdsAddress is then the secure port). Absent: plaintext xDS, with `xdsToken` if given. */
  identity?: Omit<IdentityAgentOptions, 'secrets' | 'log'>;
  /** A workload token presented on plaintext xDS (authorization: Bearer) when there is no `identity`. */
  xdsToken?: string;
  /** Called after POST /quitquitquit finished a graceful close (the CLI exits here). */
  onShutdown?: () => void;
  /** Istio's standard metrics (default on; needs `workload`). */
  metrics?: boolean;
  /** The merged telemetry port serving /stats/prometheus (Istio's 15020; the CLI's default). Absent
   * or 0: not served (the metrics are still kept). Bound on telemetryHost, default 0.0.0.0. */
  telemetryPort?: number;
  telemetryHost?: string;
  /** The app's own metrics endpoint, appended to /stats/prometheus (Istio's prometheus.io merge). */
  appMetrics?: AppMetricsTarget;
  /** The cluster id in metric labels (Istio's CLUSTER_ID); default "Kubernetes", Istio's. */
  clusterId?: string;
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
  private drainStarted = false;
  /** Istio metrics and the telemetry port (absent when metrics are off). */
  readonly telemetry: ProxyTelemetry | undefined;
  private readonly telemetryServer: TelemetryServer | undefined;
  /** Access-log sinks (files by path, stdout; OTLP collectors), shared by every HCM and tcp_proxy. */
  private readonly accessLogSinks: AccessLogSinks;
  private readonly otelLogSinks: OtelLogSinks;
  /** Named, leveled loggers (src/proxy/log.ts); `log` is their sink. */
  readonly loggers: Loggers;
  /** Span pipelines of the HCMs' tracing providers (exported through this.clusters). */
  readonly traceProviders: TraceProviders;

  constructor(o: ProxyOptions) {
    if (!o.node && !o.workload) throw new TypeError('Proxy needs a workload or a node');
    this.o = o;
    const random = o.random ?? Math.random;
    this.loggers = new Loggers(o.log ?? (() => {}), o.logLevel);
    const main = this.loggers.get('main');
    const log = (msg: string) => main.info(msg);
    // A sidecar with an identity agent holds mesh certificates: it says so as Istio's injector does
    // (label security.istio.io/tlsMode=istio), and the control plane then sends it and its callers mTLS.
    // A copy: start() adds the admin address to its metadata, and a caller's node is left as it was.
    this.node = o.node ? { ...o.node } : buildNode(o.identity ? { ...o.workload!, labels: { ...o.workload!.labels, [TLS_MODE_LABEL]: 'istio' } } : o.workload!);
    const upstream = this.loggers.get('upstream');
    this.clusters = new ClusterManager({ random, log: (m) => upstream.info(m), now: o.now, secrets: this.secrets });
    this.accessLogSinks = new AccessLogSinks({ log });
    this.otelLogSinks = new OtelLogSinks({ clusters: this.clusters, node: { id: this.node.id, cluster: this.node.cluster } });
    const accessLogs: AccessLogDeps = { sinks: this.accessLogSinks, otel: (c) => this.otelLogSinks.sink(c) };
    if (o.workload && o.metrics !== false) {
      const w = o.workload;
      // This workload's principal: its certificate's URI SAN (the identity agent's or one sent over SDS).
      let principal = '';
      this.secrets.watch(WORKLOAD_SECRET, (s) => (principal = s.kind === 'tls_certificate' ? leafUriSan(s.certificateChain) : ''));
      this.telemetry = new ProxyTelemetry({
        workload: peerWorkload({ workload: workloadNameOf(w), namespace: w.namespace, labels: w.labels, cluster: o.clusterId }),
        service: { host: `${w.service}.${w.namespace}.svc.${MESH_DOMAIN}`, name: w.service, namespace: w.namespace },
        principal: () => principal,
      });
    }
    if (o.telemetryPort) {
      this.telemetryServer = new TelemetryServer();
      this.telemetryServer.mount(
        prometheusHandler({
          render: (out, openMetrics) => this.renderPrometheus(out, openMetrics),
          appMetrics: o.appMetrics,
        }),
      );
    }
    this.traceProviders = new TraceProviders(this.clusters);
    const tracing: TracingDeps = { nodeId: this.node.id, zone: this.node.locality?.zone ?? '', providers: this.traceProviders, telemetry: this.telemetry, random };
    const protocol = o.xdsProtocol ?? 'delta';
    this.onDemand = new VhdsOnDemand({ subscribe: (names) => this.ads.subscribe('virtualHost', names), timeoutMs: o.onDemandTimeoutMs });
    this.routes = new RouteStore({ onDemand: (routeConfig, host) => this.onDemand.request(routeConfig, host) });
    this.listeners = new ListenerManager({
      terminals: {
        hcm: (cfg, load, direction) =>
          new HcmRuntime(cfg, { routes: this.routes, clusters: this.clusters, random, stats: this.hcmStats, load, telemetry: this.telemetry, direction, tracing, log: this.loggers.get('http'), accessLogs }),
        tcpProxy: (cfg, direction) => new TcpProxyRuntime(cfg, { clusters: this.clusters, random, stats: this.tcpStats, telemetry: this.telemetry, direction, accessLogs }),
        networkFilterStats: this.networkFilterStats,
      },
      secrets: this.secrets,
      maxDownstreamConnections: o.maxDownstreamConnections,
      maxActiveRequestsPerListener: o.maxActiveRequestsPerListener,
      drainTimeoutMs: o.drainTimeoutMs,
      log,
    });
    this.applier = new XdsApplier({ clusters: this.clusters, listeners: this.listeners, routes: this.routes, protocol, onDemand: this.onDemand, secrets: this.secrets, initialFetchTimeoutMs: o.initialFetchTimeoutMs, log, debug: this.loggers.get('config') });
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
      prometheus: (openMetrics) => this.prometheusText(openMetrics),
      loggers: this.loggers,
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
    // Where `weft proxy-config` reaches this admin, told to the control plane in the node (its
    // /debug/syncz shows it); known only now when the port was 0.
    this.node.metadata = { fields: { ...this.node.metadata?.fields, [ADMIN_ADDRESS_METADATA]: { stringValue: `${adminHost}:${this.admin.port}` } } };
    if (this.telemetryServer) {
      const host = this.o.telemetryHost ?? '0.0.0.0';
      await this.telemetryServer.listen(host, this.o.telemetryPort!).catch((err: NodeJS.ErrnoException) => {
        // Several sidecars on one host each need their own (Istio's pods each have a 15020).
        throw new Error(`telemetry port ${host}:${this.o.telemetryPort}: ${err.code ?? err.message} (--telemetry-port: another port, or 0 for none)`);
      });
    }
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

  /** The telemetry port bound (0: not served). */
  get telemetryPort(): number {
    return this.telemetryServer?.port ?? 0;
  }

  /** The bound port of a listener by name (useful when the config asked for port 0). */
  listenerPort(name: string): number | undefined {
    return this.listeners.get(name)?.port;
  }

  configDump(): unknown {
    const bootstrap = renderBootstrapDump({ node: this.node, adminAddress: `${this.o.adminHost ?? '127.0.0.1'}:${this.admin.port}`, xdsAddress: this.o.xdsAddress, protocol: this.ads.protocol });
    const dump = renderConfigDump(this.applier.status, {
      connected: this.ads.connected,
      control_plane: this.ads.address,
      protocol: this.ads.protocol,
      last_nack: nackInfo(this.ads.lastNack),
    });
    // Envoy puts the bootstrap first; here it follows the sections readers already index by position.
    const configs = dump.configs as unknown[];
    configs.push(renderSecretsDump(this.secrets), bootstrap);
    if (this.ads.protocol === 'delta') configs.push(renderVirtualHostsDump(this.applier.status.virtualHost));
    return dump;
  }

  /** /stats/prometheus without app metrics (the admin port's; the telemetry port merges the app's). */
  prometheusText(openMetrics: boolean): string {
    const out: string[] = [];
    this.renderPrometheus(out, openMetrics);
    if (openMetrics) out.push('# EOF\n');
    return out.join('');
  }

  /** Istio's metrics, then the proxy's own stats with Envoy's Prometheus names. */
  private renderPrometheus(out: string[], openMetrics: boolean): void {
    this.telemetry?.metrics.registry.render(out, openMetrics);
    renderEnvoyPrometheus(this.statEntries(), out, openMetrics);
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.statEntries()) out[adminKey(e)] = e.value;
    return out;
  }

  /** Every counter and gauge of the proxy itself, once: admin /stats and the Prometheus endpoint render these. */
  statEntries(): StatEntry[] {
    const out: StatEntry[] = [];
    const add = (scope: StatScope, instance: string | undefined, stats: object, tag?: string) => {
      for (const [stat, value] of Object.entries(stats)) out.push({ scope, ...(instance === undefined ? {} : { instance }), ...(tag ? { tag } : {}), stat, value: value as number });
    };
    const c = this.ads.counters;
    add('control_plane', undefined, {
      connected_state: this.ads.connected ? 1 : 0,
      streams_total: c.streams,
      stream_failures_total: c.streamFailures,
      responses_total: c.responses,
      ack_total: c.acks,
      nack_total: c.nacks,
    });
    // Istio's name for the proxy's xDS connection (the control-plane dashboard counts connected proxies with it).
    add('cluster', 'xds-grpc', { upstream_cx_active: this.ads.connected ? 1 : 0 });
    add('listener_manager', undefined, { total_listeners_active: this.listeners.list().length });
    add('overload', undefined, { downstream_cx_active: this.listeners.connections.active });
    for (const l of [...this.listeners.list()].sort((a, b) => a.name.localeCompare(b.name))) {
      // Envoy tags listener stats with the listener's address ("0.0.0.0_15006").
      add('listener', l.name, { ...l.stats, downstream_rq_active: l.load.active }, `${l.config.address.host}_${l.port}`);
    }
    for (const [prefix, s] of [...this.tcpStats].sort(([a], [b]) => a.localeCompare(b))) add('tcp', prefix, s);
    const fileStats: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.accessLogSinks.stats)) fileStats[`file.${k}`] = v;
    for (const [k, v] of Object.entries(this.otelLogSinks.stats)) fileStats[`otel.${k}`] = v;
    add('access_logs', undefined, fileStats);
    // Envoy counts its OpenTelemetry tracer's work as tracing.opentelemetry.*.
    for (const [k, v] of Object.entries(this.traceProviders.stats)) out.push({ scope: 'filter', stat: `tracing.opentelemetry.${k}`, value: v });
    for (const k of Object.keys(this.networkFilterStats).sort()) out.push({ scope: 'filter', stat: k, value: this.networkFilterStats[k] });
    const mem = process.memoryUsage();
    const uptime = Math.round(process.uptime());
    // Envoy's names (live, uptime) beside the older Weft ones kept for existing readers.
    add('server', undefined, { memory_rss_bytes: mem.rss, memory_heap_used_bytes: mem.heapUsed, uptime_seconds: uptime, uptime, live: this.closing || this.drainStarted ? 0 : 1 });
    for (const [prefix, s] of [...this.hcmStats].sort(([a], [b]) => a.localeCompare(b))) add('http', prefix, s);
    for (const rt of [...this.clusters.all()].sort((a, b) => a.name.localeCompare(b.name))) {
      add('cluster', rt.name, rt.stats);
      const cb: Record<string, number> = {};
      for (const [k, v] of Object.entries(rt.resources.gauges())) cb[`circuit_breakers.default.${k}`] = v;
      add('cluster', rt.name, cb);
      if (rt.outlier) {
        const od: Record<string, number> = {};
        for (const [k, v] of Object.entries(rt.outlier.stats)) od[`outlier_detection.${k}`] = v;
        add('cluster', rt.name, od);
      }
      add('cluster', rt.name, {
        upstream_rq_active: rt.active,
        upstream_cx_active: rt.hosts.reduce((n, h) => n + h.connections, 0),
        membership_total: rt.hosts.length,
        membership_healthy: rt.hosts.filter((h) => h.healthy).length,
      });
    }
    return out;
  }

  /** SIGTERM: a drain period in which listeners still accept but every connection closes after its
   * response (callers move elsewhere), then close(). */
  shutdown(drainPeriodMs: number): Promise<void> {
    this.drainStarted = true;
    this.listeners.startDraining();
    return new Promise<void>((resolve) => setTimeout(resolve, drainPeriodMs)).then(() => this.close());
  }

  /** Graceful: stop taking config, stop accepting, let in-flight requests finish, close pools. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.identity?.close();
      this.ads.close();
      await this.listeners.close();
      // The last requests' lines are written before the proxy goes.
      await Promise.all([this.accessLogSinks.close(), this.otelLogSinks.close()]);
      // Queued spans go out before the collector's cluster closes.
      await this.traceProviders.close();
      this.clusters.close();
      await this.admin.close();
      await this.telemetryServer?.close();
    })();
    return this.closing;
  }

  /** Abort everything now. */
  destroy(): void {
    this.identity?.close();
    this.ads.close();
    this.listeners.destroy();
    void this.accessLogSinks.close();
    void this.otelLogSinks.close();
    void this.traceProviders.close();
    this.clusters.destroy();
    this.admin.destroy();
    this.telemetryServer?.destroy();
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
