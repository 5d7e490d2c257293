// Clusters at run time: each keeps its hosts (with their connection pools) across config and
// endpoint updates, and a load balancer rebuilt only when the host set changes.
import { SecretStore } from '../tls/secret-store.js';
import type { Cluster, ClusterLoadAssignment, LbEndpoint } from '../xds/model.js';
import { createConnector, type Connector } from './connector.js';
import { ClusterResources } from './circuit-breaker.js';
import { OutlierDetector, type UpstreamResult } from './outlier-detector.js';
import { DnsResolver, type ResolvedEndpoint } from './dns.js';
import { poolKey, UpstreamHost, type PoolSettings } from './host.js';
import type { LbContext, LoadBalancer } from './load-balancer.js';
import { OriginalDstHosts } from './original-dst-hosts.js';
import { createPrioritySetLb, DEFAULT_OVERPROVISIONING_FACTOR } from './priority-set.js';

export interface ClusterStats {
  upstream_rq_total: number;
  upstream_rq_2xx: number;
  upstream_rq_3xx: number;
  upstream_rq_4xx: number;
  upstream_rq_5xx: number;
  upstream_rq_timeout: number;
  upstream_rq_retry: number;
  upstream_rq_retry_success: number;
  upstream_rq_retry_limit_exceeded: number;
  upstream_rq_pending_overflow: number;
  upstream_rq_retry_overflow: number;
  upstream_cx_overflow: number;
  upstream_cx_connect_fail: number;
  upstream_rq_reset: number;
  no_healthy_upstream: number;
  /** Mirror copies sent to this cluster, and those skipped because their body was streamed. */
  upstream_rq_mirror: number;
  upstream_rq_mirror_skipped: number;
}

function newStats(): ClusterStats {
  return {
    upstream_rq_total: 0,
    upstream_rq_2xx: 0,
    upstream_rq_3xx: 0,
    upstream_rq_4xx: 0,
    upstream_rq_5xx: 0,
    upstream_rq_timeout: 0,
    upstream_rq_retry: 0,
    upstream_rq_retry_success: 0,
    upstream_rq_retry_limit_exceeded: 0,
    upstream_rq_pending_overflow: 0,
    upstream_rq_retry_overflow: 0,
    upstream_cx_overflow: 0,
    upstream_cx_connect_fail: 0,
    upstream_rq_reset: 0,
    no_healthy_upstream: 0,
    upstream_rq_mirror: 0,
    upstream_rq_mirror_skipped: 0,
  };
}

export interface ClusterManagerOptions {
  random?: () => number;
  log?: (msg: string) => void;
  /** Clock for slow start (ms); tests may pass their own. */
  now?: () => number;
  /** Where upstream TLS contexts read their SDS secrets. */
  secrets?: SecretStore;
}

/** A cluster's transport sockets at run time: the default and each transport_socket_matches entry. */
interface Transports {
  /** The config they were built from; another config builds new connectors (and so new pools). */
  key: string;
  byName: Map<string, Connector>;
  /** transport_socket_matches in order: name and labels. */
  matches: { name: string; match: Readonly<Record<string, string>> }[];
}

const DEFAULT_TRANSPORT = 'default';

export class ClusterRuntime {
  config: Cluster;
  /** Every host, healthy or not (for /clusters). */
  hosts: UpstreamHost[] = [];
  readonly stats: ClusterStats = newStats();
  /** Circuit-breaker resources: connections, pending requests, requests and retries in flight. */
  readonly resources: ClusterResources;
  /** Present when the cluster has outlier_detection. */
  outlier: OutlierDetector | undefined;
  private lb: LoadBalancer<UpstreamHost> = { pick: () => undefined };
  private dns: DnsResolver | undefined;
  /** The last assignment's overprovisioning factor (percent). */
  private overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR;
  private transports: Transports | undefined;
  private readonly secrets: SecretStore;
  /** ORIGINAL_DST clusters: hosts made per original destination, dropped when unused. */
  private originalDst: OriginalDstHosts | undefined;

  constructor(
    config: Cluster,
    private readonly o: ClusterManagerOptions,
  ) {
    this.config = config;
    this.resources = new ClusterResources(config.circuitBreakers, this.stats);
    this.secrets = o.secrets ?? new SecretStore();
  }

  /** Build the connectors when the transport config changed (hosts then get new pools). */
  private configureTransports(config: Cluster): Transports {
    const key = JSON.stringify([config.transport, config.transportMatches, config.upstreamBindAddress]);
    if (this.transports?.key === key) return this.transports;
    for (const c of this.transports?.byName.values() ?? []) c.close();
    const bind = config.upstreamBindAddress;
    const byName = new Map<string, Connector>([[DEFAULT_TRANSPORT, createConnector(config.transport, this.secrets, bind)]]);
    for (const m of config.transportMatches) if (!byName.has(m.name)) byName.set(m.name, createConnector(m.transport, this.secrets, bind));
    this.transports = { key, byName, matches: config.transportMatches.map((m) => ({ name: m.name, match: m.match })) };
    return this.transports;
  }

  /** Envoy's transport_socket_matches: the first entry whose labels the endpoint's
   * filter_metadata["envoy.transport_socket_match"] all carry (an empty match fits every endpoint);
   * none: the cluster's transport_socket. */
  private transportFor(t: Transports, labels: Readonly<Record<string, string>>): string {
    const m = t.matches.find((x) => Object.entries(x.match).every(([k, v]) => labels[k] === v));
    return m ? m.name : DEFAULT_TRANSPORT;
  }

  /** Requests in flight across the cluster. */
  get active(): number {
    return this.resources.requests.count;
  }

  /** One attempt's outcome, for outlier detection. */
  putResult(host: UpstreamHost, result: UpstreamResult): void {
    this.outlier?.putResult(host.key, result);
  }

  get name(): string {
    return this.config.name;
  }

  /** `ctx.hash`: the request's hash from the route's hash_policy (src/proxy/http/hash-policy.ts). */
  pick(avoid?: UpstreamHost, ctx?: LbContext): UpstreamHost | undefined {
    if (this.originalDst) return this.originalDst.pick(ctx?.originalDst);
    return this.lb.pick(avoid, ctx);
  }

  /** Point the cluster at its endpoint source (the load assignment for STATIC, DNS names, or EDS). */
  configure(config: Cluster, eds: ClusterLoadAssignment | undefined): void {
    this.config = config;
    this.resources.update(config.circuitBreakers);
    this.configureOutlierDetection(config);
    this.dns?.stop();
    this.dns = undefined;
    if (config.type === 'ORIGINAL_DST') return this.configureOriginalDst(config);
    this.originalDst?.close();
    this.originalDst = undefined;
    if (config.type === 'EDS') this.setEndpoints(eds?.endpoints ?? [], eds?.overprovisioningFactor);
    else if (config.type === 'STATIC') this.setEndpoints(config.loadAssignment?.endpoints ?? []);
    else {
      this.dns = new DnsResolver({
        endpoints: config.loadAssignment?.endpoints ?? [],
        family: config.dnsFamily,
        refreshMs: config.dnsRefreshMs,
        firstOnly: config.type === 'LOGICAL_DNS',
        onUpdate: (eps) => this.setEndpoints(eps),
        log: this.o.log,
      });
      this.dns.start();
    }
  }

  private poolSettings(): PoolSettings {
    const co = this.config.connectionOptions;
    return {
      h2MaxConnections: this.config.circuitBreakers.maxConnections,
      connectTimeoutMs: this.config.connectTimeoutMs,
      idleTimeoutMs: co.idleTimeoutMs,
      maxRequestsPerConnection: co.maxRequestsPerConnection,
      tcpKeepaliveMs: co.tcpKeepaliveTimeMs,
      h2MaxConcurrentStreams: this.config.http2MaxConcurrentStreams,
    };
  }

  /** ORIGINAL_DST: a new config drops the hosts made so far (their pools may have other settings). */
  private configureOriginalDst(config: Cluster): void {
    for (const h of this.hosts) h.retire();
    this.hosts = [];
    this.originalDst?.close();
    const transports = this.configureTransports(config);
    const settings = this.poolSettings();
    this.originalDst = new OriginalDstHosts(config.originalDst!, {
      make: (address, port) =>
        new UpstreamHost({
          ip: address,
          port,
          hostname: address,
          health: 'HEALTHY',
          weight: 1,
          priority: 0,
          resources: this.resources,
          ...settings,
          connector: transports.byName.get(DEFAULT_TRANSPORT)!,
          transportName: DEFAULT_TRANSPORT,
          poolKeySuffix: transports.key,
        }),
      onChange: (hosts) => (this.hosts = hosts),
    });
  }

  /** Replace the host set, keeping the pools of hosts that stay (with unchanged pool settings). */
  setEndpoints(endpoints: readonly (LbEndpoint | ResolvedEndpoint)[], overprovisioningFactor = DEFAULT_OVERPROVISIONING_FACTOR): void {
    this.overprovisioningFactor = overprovisioningFactor;
    // Slow start applies to hosts that join a cluster already serving, not to its first hosts.
    const joinedAt = this.hosts.length > 0 ? (this.o.now ?? Date.now)() : undefined;
    // A host rebuilt for new pool settings is not new to the cluster.
    const joined = new Map(this.hosts.map((h) => [h.key, h.addedAtMs]));
    const settings = this.poolSettings();
    const transports = this.configureTransports(this.config);
    const wantPool = `${poolKey(settings)}|${transports.key}`;
    const old = new Map(this.hosts.filter((h) => h.poolKey === wantPool).map((h) => [h.key, h]));
    const stale = this.hosts.filter((h) => h.poolKey !== wantPool);
    const next: UpstreamHost[] = [];
    const seen = new Set<string>();
    for (const e of endpoints) {
      const key = e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const hostname = 'hostname' in e ? e.hostname : e.host;
      const transportName = this.transportFor(transports, e.transportSocketMatch);
      let h = old.get(key);
      // An endpoint whose metadata now picks another transport socket needs other pools.
      if (h && h.transportName !== transportName) {
        stale.push(h);
        h = undefined;
      }
      if (h) {
        old.delete(key);
        h.health = e.health;
        h.weight = e.weight;
        h.priority = e.priority;
        h.hostname = hostname;
      } else {
        h = new UpstreamHost({
          ip: e.host,
          port: e.port,
          hostname,
          health: e.health,
          weight: e.weight,
          priority: e.priority,
          resources: this.resources,
          ...settings,
          connector: transports.byName.get(transportName)!,
          transportName,
          poolKeySuffix: transports.key,
        });
        h.addedAtMs = joined.has(key) ? joined.get(key) : joinedAt;
      }
      h.locality = e.locality;
      h.localityWeight = e.localityWeight;
      next.push(h);
    }
    for (const h of old.values()) h.retire();
    for (const h of stale) h.retire();
    this.hosts = next;
    this.outlier?.setHosts(next.map((h) => h.key));
    this.rebuildLb();
  }

  private configureOutlierDetection(config: Cluster): void {
    const od = config.outlierDetection;
    if (!od) {
      this.outlier?.stop();
      this.outlier = undefined;
      return;
    }
    if (this.outlier) this.outlier.update(od);
    else {
      this.outlier = new OutlierDetector(od, { random: this.o.random, onChange: () => this.rebuildLb() });
      this.outlier.setHosts(this.hosts.map((h) => h.key));
      this.outlier.start();
    }
  }

  private rebuildLb(): void {
    // Priority levels spill over by health and localities share by weight (priority-set.ts). The
    // eligible list is where an "is this host usable" check (outlier ejection) narrows the set.
    const outlier = this.outlier;
    const eligible = this.hosts.filter((h) => h.healthy && !outlier?.isEjected(h.key));
    const lb = this.config.lb;
    this.lb = createPrioritySetLb(this.hosts, eligible, {
      policy: this.config.lbPolicy,
      random: this.o.random,
      now: this.o.now,
      choiceCount: this.config.choiceCount,
      activeRequestBias: lb.activeRequestBias,
      ringHash: lb.ringHash,
      maglevTableSize: lb.maglevTableSize,
      slowStart: lb.slowStart,
      localityWeighted: lb.localityWeighted,
      overprovisioningFactor: this.overprovisioningFactor,
      panicThresholdPercent: this.config.healthyPanicThreshold,
    });
  }

  close(): void {
    this.dns?.stop();
    this.outlier?.stop();
    this.originalDst?.close();
    this.originalDst = undefined;
    for (const h of this.hosts) h.retire();
    this.hosts = [];
    this.lb = { pick: () => undefined };
    this.closeTransports();
  }

  destroy(): void {
    this.dns?.stop();
    this.outlier?.stop();
    this.originalDst?.close();
    this.originalDst = undefined;
    for (const h of this.hosts) h.destroy();
    this.hosts = [];
    this.closeTransports();
  }

  private closeTransports(): void {
    for (const c of this.transports?.byName.values() ?? []) c.close();
    this.transports = undefined;
  }
}

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterRuntime>();
  /** EDS assignments by service name; kept while subscribed, even before their cluster exists. */
  private readonly assignments = new Map<string, ClusterLoadAssignment>();
  private readonly configKeys = new Map<string, string>();

  constructor(private readonly o: ClusterManagerOptions = {}) {}

  get(name: string): ClusterRuntime | undefined {
    return this.clusters.get(name);
  }

  all(): IterableIterator<ClusterRuntime> {
    return this.clusters.values();
  }

  /** SotW CDS: this set replaces the previous one. Unchanged clusters are left untouched. */
  applyClusters(models: readonly Cluster[]): void {
    const keep = new Set<string>();
    for (const m of models) {
      keep.add(m.name);
      const key = JSON.stringify(m);
      const existing = this.clusters.get(m.name);
      if (existing && this.configKeys.get(m.name) === key) continue;
      this.configKeys.set(m.name, key);
      const rt = existing ?? new ClusterRuntime(m, this.o);
      rt.configure(m, m.edsServiceName ? this.assignments.get(m.edsServiceName) : undefined);
      this.clusters.set(m.name, rt);
    }
    for (const [name, rt] of this.clusters) {
      if (keep.has(name)) continue;
      rt.close();
      this.clusters.delete(name);
      this.configKeys.delete(name);
    }
  }

  /** EDS: upsert the assignments in this response (absent names keep their last value). */
  applyAssignments(list: readonly ClusterLoadAssignment[]): void {
    const changed = new Set<string>();
    for (const cla of list) {
      this.assignments.set(cla.clusterName, cla);
      changed.add(cla.clusterName);
    }
    for (const rt of this.clusters.values()) {
      const svc = rt.config.edsServiceName;
      if (rt.config.type === 'EDS' && svc && changed.has(svc)) {
        const cla = this.assignments.get(svc)!;
        rt.setEndpoints(cla.endpoints, cla.overprovisioningFactor);
      }
    }
  }

  /** Forget assignments nobody subscribes to any more. */
  retainAssignments(names: ReadonlySet<string>): void {
    for (const name of this.assignments.keys()) if (!names.has(name)) this.assignments.delete(name);
  }

  edsServiceNames(): string[] {
    const out = new Set<string>();
    for (const rt of this.clusters.values()) if (rt.config.type === 'EDS' && rt.config.edsServiceName) out.add(rt.config.edsServiceName);
    return [...out].sort();
  }

  close(): void {
    for (const rt of this.clusters.values()) rt.close();
    this.clusters.clear();
    this.configKeys.clear();
  }

  destroy(): void {
    for (const rt of this.clusters.values()) rt.destroy();
    this.clusters.clear();
    this.configKeys.clear();
  }
}
