// envoy.filters.network.tcp_proxy: the other terminal network filter, sibling of the HTTP
// connection manager. Each downstream connection gets one upstream connection to a host of the
// chosen cluster (weighted clusters pick per connection), bytes flow both ways with backpressure,
// a FIN from either side is passed on (half-close both ways), and a connection idle in both
// directions for idle_timeout is closed. Server-speaks-first protocols work: nothing here waits
// for the client to talk first.
import type net from 'node:net';
import { pickIndex } from '../upstream/load-balancer.js';
import { murmur3 } from '../upstream/hash.js';
import type { ClusterManager, ClusterRuntime } from '../upstream/cluster-manager.js';
import type { UpstreamHost } from '../upstream/host.js';
import type { LbContext } from '../upstream/load-balancer.js';
import { addressText, connectionInfoOf, restoredDestination } from '../listener/connection-info.js';
import { StreamInfo } from '../http/stream-info.js';
import type { ResponseFlag } from '../http/response-flags.js';
import { createAccessLoggers, logAll, type AccessLogDeps, type AccessLogger } from '../telemetry/access-log/logger.js';
import { TcpLogInput } from '../telemetry/access-log/log-input.js';
import type { TcpProxy, TrafficDirection } from '../xds/model.js';
import type { TcpSeries } from '../telemetry/istio-metrics.js';
import { TcpStatsReporter } from '../telemetry/tcp-stats.js';
import { reporterFor, type ProxyTelemetry } from '../telemetry/telemetry.js';
import type { PeerWorkload } from '../../api/peer-metadata.js';
import { encodePreamble, PEER_EXCHANGE_ALPN, readPreamble } from './peer-exchange.js';

export interface TcpProxyStats {
  downstream_cx_total: number;
  downstream_cx_active: number;
  /** No cluster, or no healthy host in it. */
  downstream_cx_no_route: number;
  upstream_cx_connect_fail: number;
  upstream_cx_overflow: number;
  idle_timeout: number;
  downstream_cx_rx_bytes_total: number;
  downstream_cx_tx_bytes_total: number;
}

function newStats(): TcpProxyStats {
  return {
    downstream_cx_total: 0,
    downstream_cx_active: 0,
    downstream_cx_no_route: 0,
    upstream_cx_connect_fail: 0,
    upstream_cx_overflow: 0,
    idle_timeout: 0,
    downstream_cx_rx_bytes_total: 0,
    downstream_cx_tx_bytes_total: 0,
  };
}

export interface TcpProxyDeps {
  clusters: ClusterManager;
  random: () => number;
  /** Counters by stat_prefix. */
  stats: Map<string, TcpProxyStats>;
  /** Istio TCP metrics, when the proxy has telemetry and the chain an istio.stats filter. */
  telemetry?: ProxyTelemetry;
  direction?: TrafficDirection;
  /** Where access-log lines go (absent: access_log is not run). */
  accessLogs?: AccessLogDeps;
}

export class TcpProxyRuntime {
  readonly config: TcpProxy;
  readonly stats: TcpProxyStats;
  readonly istio: TcpStatsReporter | undefined;
  readonly accessLoggers: AccessLogger[];
  private readonly cumulative: number[] = [];
  private readonly sessions = new Set<TcpSession>();

  constructor(
    config: TcpProxy,
    private readonly deps: TcpProxyDeps,
  ) {
    this.config = config;
    let stats = deps.stats.get(config.statPrefix);
    if (!stats) {
      stats = newStats();
      deps.stats.set(config.statPrefix, stats);
    }
    this.stats = stats;
    this.accessLoggers = createAccessLoggers(config.accessLog, deps.accessLogs);
    this.istio = deps.telemetry && config.istioStats && !config.istioStats.allDropped ? new TcpStatsReporter(deps.telemetry, reporterFor(deps.direction ?? 'UNSPECIFIED'), config.istioStats) : undefined;
    if (config.cluster.kind === 'weighted') {
      let sum = 0;
      for (const c of config.cluster.clusters) this.cumulative.push((sum += c.weight));
    }
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** This workload's peer header value for the TCP peer exchange ('' without telemetry). */
  get peerHeader(): string {
    return this.deps.telemetry?.peerHeader ?? '';
  }

  /** A peer's header value decoded (cached), for the Istio labels. */
  peer(raw: string | undefined): PeerWorkload | undefined {
    return this.deps.telemetry?.peer(raw);
  }

  pickClusterName(): string {
    const c = this.config.cluster;
    if (c.kind === 'cluster') return c.name;
    return c.clusters[pickIndex(this.cumulative, this.deps.random() * c.totalWeight)].name;
  }

  /** Take over an accepted connection; `head` holds bytes a listener filter already read. */
  onConnection(socket: net.Socket, head?: Buffer): void {
    this.stats.downstream_cx_total++;
    this.stats.downstream_cx_active++;
    const session = new TcpSession(this, this.deps.clusters, socket, head);
    this.sessions.add(session);
    session.start();
  }

  forget(s: TcpSession): void {
    if (this.sessions.delete(s)) this.stats.downstream_cx_active--;
  }

  /** Close every connection (the chain was removed and its drain time is over). */
  destroy(): void {
    for (const s of [...this.sessions]) s.close();
  }
}

class TcpSession {
  private upstream: net.Socket | undefined;
  private host: UpstreamHost | undefined;
  private cluster: ClusterRuntime | undefined;
  private attempts = 0;
  private closed = false;
  private counted = false;
  /** Istio metrics: the connection's series once known, the upstream's principal, why no upstream. */
  private series: TcpSeries | undefined;
  private upstreamPrincipal: string | undefined;
  private failureFlag: ResponseFlag | '-' = '-';
  private clusterName = '';
  /** The connection's record (Envoy keeps a StreamInfo per TCP connection too): access logs read it. */
  private readonly info = new StreamInfo(undefined);
  /** The other sidecar's peer header value, from the TCP peer exchange (peer-exchange.ts). */
  private peerHeader: string | undefined;

  constructor(
    private readonly proxy: TcpProxyRuntime,
    private readonly clusters: ClusterManager,
    private readonly downstream: net.Socket,
    private pending: Buffer | undefined,
  ) {}

  start(): void {
    const down = this.downstream;
    // Until the upstream is connected, hold what the client sends.
    down.pause();
    down.on('error', () => this.close());
    down.on('close', () => this.close());
    // A client sidecar that negotiated the peer exchange sent its preamble; ours goes back at once
    // (before any byte of a server-speaks-first app).
    if (connectionInfoOf(down).tls?.alpn === PEER_EXCHANGE_ALPN) {
      down.write(encodePreamble(this.proxy.peerHeader));
      const head = this.pending;
      this.pending = undefined;
      return readPreamble(down, head, (r) => {
        if ('error' in r) return this.close();
        this.peerHeader = r.peer;
        this.connect();
      });
    }
    this.connect();
  }

  private connect(): void {
    const proxy = this.proxy;
    const name = proxy.pickClusterName();
    this.clusterName = name;
    this.info.clusterName = name;
    const cluster = this.clusters.get(name);
    const host = cluster?.pick(this.host, this.lbContext(cluster));
    if (!cluster || !host) {
      proxy.stats.downstream_cx_no_route++;
      this.failureFlag = cluster ? 'UH' : 'NC';
      return this.close();
    }
    if (!cluster.resources.canOpenConnection()) {
      proxy.stats.upstream_cx_overflow++;
      this.failureFlag = 'UO';
      return this.close();
    }
    this.attempts++;
    this.info.attempts = this.attempts;
    this.host = host;
    this.info.upstreamHost = host.key;
    // Through the host's transport: TLS (with the peer's identity checked) to a meshed endpoint.
    const up = host.connector.open({ ip: host.ip, port: host.port, allowHalfOpen: true }, (tls) => {
      if (tls?.alpn !== PEER_EXCHANGE_ALPN) return onReady(tls?.peerUriSans[0]);
      // The server sidecar agreed to the peer exchange: ours first, then read and strip its own.
      up.write(encodePreamble(proxy.peerHeader));
      readPreamble(up, undefined, (r) => {
        if ('error' in r) return up.destroy(new Error(r.error));
        this.peerHeader = r.peer;
        onReady(tls.peerUriSans[0]);
      });
    });
    this.upstream = up;
    const timeoutMs = cluster.config.connectTimeoutMs;
    const timer = timeoutMs > 0 ? setTimeout(() => up.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), timeoutMs) : undefined;
    const onReady = (principal: string | undefined) => {
      clearTimeout(timer);
      this.upstreamPrincipal = principal;
      if (this.closed) return up.destroy();
      this.info.upstreamLocalAddress = addressText(up.localAddress, up.localPort);
      if (principal) this.info.upstreamPeerUriSans = [principal];
      cluster.resources.connectionOpened();
      host.onRequestStart();
      this.cluster = cluster;
      this.counted = true;
      this.relay(up);
    };
    up.once('error', () => {
      clearTimeout(timer);
      if (this.upstream !== up || this.closed) return;
      if (!this.counted) {
        proxy.stats.upstream_cx_connect_fail++;
        cluster.stats.upstream_cx_connect_fail++;
        host.connectFailures++;
        this.upstream = undefined;
        this.failureFlag = 'UF';
        if (this.attempts < proxy.config.maxConnectAttempts) return this.connect();
      }
      this.close();
    });
  }

  /** The hash of the client's address (hash_policy source_ip), and for an ORIGINAL_DST cluster
   * the connection's original destination. */
  private lbContext(cluster: ClusterRuntime | undefined): LbContext | undefined {
    const hash = this.proxy.config.hashSourceIp ? murmur3(this.downstream.remoteAddress ?? '') : undefined;
    if (!cluster?.config.originalDst) return hash === undefined ? undefined : { hash };
    return { hash, originalDst: restoredDestination(connectionInfoOf(this.downstream)) };
  }

  private relay(up: net.Socket): void {
    const down = this.downstream;
    const series = this.openSeries('-');
    if (series) {
      series.received.value += this.pending?.length ?? 0;
      down.on('data', (c: Buffer) => (series.received.value += c.length));
      up.on('data', (c: Buffer) => (series.sent.value += c.length));
    }
    if (this.pending) up.write(this.pending);
    this.pending = undefined;
    // pipe(): backpressure both ways, and each side's FIN ends the other's writing side.
    down.pipe(up);
    up.pipe(down);
    up.on('close', () => this.close());
    const idle = this.proxy.config.idleTimeoutMs;
    if (idle > 0) {
      // A socket's timeout counts its own reads and writes, so data in either direction keeps both alive.
      const onIdle = () => {
        this.proxy.stats.idle_timeout++;
        this.close();
      };
      down.setTimeout(idle, onIdle);
      up.setTimeout(idle, onIdle);
    }
    down.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const down = this.downstream;
    const up = this.upstream;
    this.proxy.stats.downstream_cx_rx_bytes_total += down.bytesRead;
    this.proxy.stats.downstream_cx_tx_bytes_total += down.bytesWritten;
    const info = this.info;
    info.bytesReceived = down.bytesRead;
    info.bytesSent = down.bytesWritten;
    // A connection that never reached an upstream carries why (a failed attempt that was retried does not).
    if (!this.counted && this.failureFlag !== '-') info.addFlag(this.failureFlag);
    info.finalize();
    down.destroy();
    up?.destroy();
    // A connection that never reached an upstream is reported once, with why (Istio: UF, UH, …).
    const series = this.series ?? this.openSeries(this.failureFlag);
    if (series) series.closed.value++;
    if (this.counted) {
      this.host!.onRequestEnd();
      this.cluster!.resources.connectionClosed();
    }
    this.proxy.forget(this);
    if (this.proxy.accessLoggers.length > 0) logAll(this.proxy.accessLoggers, new TcpLogInput(info, connectionInfoOf(down)));
  }

  /** The connection's Istio series, counted as opened (undefined when metrics are off). */
  private openSeries(flags: string): TcpSeries | undefined {
    const istio = this.proxy.istio;
    if (!istio) return undefined;
    const tls = connectionInfoOf(this.downstream).tls;
    const destination = istio.reporter === 'destination';
    this.series = istio.series({
      clusterName: this.clusterName,
      upstreamHost: this.host?.key ?? '',
      upstreamWorkload: this.host?.workload,
      peerHeader: this.peerHeader,
      peer: this.proxy.peer(this.peerHeader),
      peerPrincipal: destination ? tls?.peerUriSans[0] : this.upstreamPrincipal,
      localPrincipal: destination ? tls?.localUriSan || undefined : undefined,
      flags,
    });
    this.series.opened.value++;
    return this.series;
  }
}
