// Wiring of the control plane: store + registry → snapshot → cache → ADS server, plus monitoring.
import type http from 'node:http';
import { aggregatedDiscoveryService } from '../api/envoy.js';
import { clientStatusDiscoveryService } from '../api/csds.js';
import type * as grpc from '@grpc/grpc-js';
import { csdsImplementation } from './xds/csds.js';
import { MeshCa, type MeshCaOptions } from './ca/mesh-ca.js';
import { Debouncer } from './debounce.js';
import { JwksResolver } from './jwks/resolver.js';
import { buildSnapshot, sameVersions } from './model/snapshot.js';
import { startMonitor } from './monitor.js';
import { ProxyRegistry, type RegistryLimits } from './registry/proxy-registry.js';
import { FileConfigStore } from './store/file.js';
import { compareConfigErrors, formatConfigError } from '../config/errors.js';
import { defaultMeshConfig, type MeshConfig } from '../config/mesh-config.js';
import { defaultVipRange, type VipRange } from './model/vips.js';
import { serviceVips } from './vip-view.js';
import { WEFT_VERSION } from '../api/version.js';
import { ConfigEventCounter } from './metrics/config-events.js';
import { PilotMetrics, type PushTrigger } from './metrics/pilot-metrics.js';
import { policyWarnings } from '../config/policy-warnings.js';
import { inventoryOf, trafficWarnings } from '../config/traffic-warnings.js';
import { answerDescribe } from './describe/query.js';
import { telemetryWarnings } from './translate/telemetry-policy.js';
import type { ConfigError, ConfigSet } from '../config/types.js';
import { XdsCache } from './xds/cache.js';
import { AdsServer } from './xds/server.js';
import { isIP } from 'node:net';
import { CONTROL_PLANE_NAMESPACE } from '../api/spiffe.js';
import type { InjectOptions } from '../inject/options.js';
import { InjectionWebhook } from './webhook/server.js';
import { dashboardRoutes } from './dashboard/routes.js';
import type { MetricsSource } from './observe/edges.js';
import { PrometheusSource } from './observe/prometheus-source.js';
import { ProxyScraper } from './observe/scraper.js';

/** The Service the API server calls the webhook through (its certificate names it). */
export const CONTROL_PLANE_SERVICE = 'weft-control-plane';

export interface ControlPlaneOptions {
  configDir: string;
  xdsAddress: string;
  monitorAddress: string;
  debounceMs: number;
  endpointGraceMs: number;
  /** After a start, how long proxies that reconnect (they already run a config) wait for their first
   * response while the registry refills; 0: none. See start(). */
  startupGraceMs?: number;
  domain: string;
  maxConcurrentPushes?: number;
  /** Bounds on registrations (in all, per peer host); defaults in proxy-registry.ts. */
  registryLimits?: Partial<RegistryLimits>;
  /** Mesh-wide settings (--mesh-config); Istio's defaults when absent. */
  mesh?: MeshConfig;
  /** Where services without declared addresses get their VIP (--service-vip-range; Istio's 240.240.0.0/16 when absent). */
  vipRange?: VipRange;
  log?: (msg: string) => void;
  /** The CA (--ca-dir) and the secure xDS port; absent: no CA, and registration is unauthenticated. */
  security?: Omit<MeshCaOptions, 'log' | 'secureHost'> & {
    /** host:port of xDS over mTLS (Istio's 15012) and the CA service. */
    secureXdsAddress: string;
    /** Serve the plaintext port too (--plaintext-xds). */
    plaintextXds: boolean;
  };
  /** The injection webhook (Istio's 15017); needs `security` for its certificate. */
  webhook?: {
    address: string;
    inject: InjectOptions;
    /** Put the CA's current root into each pod (annotation + downward API) instead of inject.caRoot. */
    carryCaRoot?: boolean;
    maxBodyBytes?: number;
  };
  /** Where the dashboard's numbers come from: a Prometheus (--prometheus-url), else the control plane
   * scrapes its proxies' telemetry ports every scrapeIntervalMs (default 5 s; 0: no scraping). */
  dashboard?: { prometheusUrl?: string; scrapeIntervalMs?: number };
}

export class ControlPlane {
  private readonly store: FileConfigStore;
  private readonly registry: ProxyRegistry;
  private readonly cache: XdsCache;
  readonly ads: AdsServer;
  private readonly debouncer: Debouncer;
  private monitor: http.Server | undefined;
  private started = false;
  private warmupTimer: NodeJS.Timeout | undefined;
  private meshCa: MeshCa | undefined;
  private webhook: InjectionWebhook | undefined;
  webhookPort = 0;
  /** The dashboard's metrics: the embedded scraper or a Prometheus. */
  private dashboardMetrics: MetricsSource | undefined;
  /** Fetches RequestAuthentication jwksUris; a changed key set triggers a push. */
  private readonly jwks: JwksResolver;
  /** istiod-named metrics on the monitor port (/metrics). */
  readonly metrics: PilotMetrics;
  private readonly events: ConfigEventCounter;
  /** performance.now() of the first change not yet pushed (each proxy's convergence time starts here). */
  private changedAt: number | undefined;
  private warnedConfig: ConfigSet | undefined;
  private warned = new Set<string>();
  private configzWarnings: { snap: unknown; config: ConfigSet; warnings: ConfigError[] } | undefined;
  xdsPort = 0;
  secureXdsPort = 0;
  monitorPort = 0;

  constructor(private readonly opts: ControlPlaneOptions) {
    const log = opts.log ?? (() => {});
    this.cache = new XdsCache({ log });
    this.store = new FileConfigStore({ dir: opts.configDir, log });
    this.registry = new ProxyRegistry({ graceMs: opts.endpointGraceMs, limits: opts.registryLimits });
    this.metrics = new PilotMetrics({
      version: WEFT_VERSION,
      connectedProxies: () => this.ads.connectedByVersion(),
      caExpiry: () => {
        const ca = this.meshCa?.describe();
        if (!ca) return undefined;
        return { rootMs: Math.min(...ca.roots.map((r) => Date.parse(r.not_after))), chainMs: Date.parse(ca.signing.not_after) };
      },
    });
    this.events = new ConfigEventCounter(this.metrics);
    this.ads = new AdsServer({ cache: this.cache, registry: this.registry, log, maxConcurrentPushes: opts.maxConcurrentPushes, observer: this.metrics });
    this.debouncer = new Debouncer(() => this.rebuild(), opts.debounceMs, Math.max(opts.debounceMs * 10, 1000));
    this.jwks = new JwksResolver({ onChange: () => this.changed('secret'), onError: log });
  }

  async start(): Promise<void> {
    await this.store.start();
    // A restarted control plane knows no proxies yet: its first snapshots lack every endpoint whose
    // proxy has not reconnected, and proxies that reconnect first would drop those endpoints (a
    // restart used to fail 20% of requests for 2–4 s). Like istiod waiting for its caches to sync,
    // it first lets the registry refill: proxies that come back with a config are accepted and
    // registered but not answered until the grace period ends, so they keep what they run; new
    // proxies (nothing to lose) are served at once. Proxies reconnect within their backoff ceiling
    // (5 s, src/proxy/xds/reconnecting-stream.ts), so the default grace is above it.
    const grace = this.opts.startupGraceMs ?? 0;
    if (grace > 0) {
      this.ads.warming = true;
      this.warmupTimer = setTimeout(() => {
        this.warmupTimer = undefined;
        this.opts.log?.(`startup grace over: ${this.registry.size} proxies registered; answering held streams`);
        this.rebuild();
        this.ads.endWarmup();
      }, grace);
      this.warmupTimer.unref();
    }
    this.rebuild();
    const loaded = this.store.current();
    this.events.config(loaded.config, loaded.errors);
    this.store.onChange((state) => {
      this.events.config(state.config, state.errors);
      this.changed('config');
    });
    this.registry.onChange(() => this.changed('endpoint'));
    const ads = aggregatedDiscoveryService().service;
    // CSDS beside ADS on every xDS port (as istiod serves it): the sync state /debug/syncz shows.
    const csds: [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] = [clientStatusDiscoveryService().service, csdsImplementation(() => this.ads.status())];
    const security = this.opts.security;
    if (security) {
      const secureHost = security.secureXdsAddress.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
      this.meshCa = await MeshCa.start({ ...security, secureHost, log: this.opts.log ?? (() => {}), onCsrOutcome: (o) => this.metrics.csrOutcome(o) });
      this.ads.admit = this.meshCa.admit;
      this.secureXdsPort = await this.ads.listen(security.secureXdsAddress, ads, { credentials: this.meshCa.servingCredentials, services: [this.meshCa.caService, csds] });
    }
    if (this.opts.webhook) await this.startWebhook(this.opts.webhook);
    if (!security || security.plaintextXds) this.xdsPort = await this.ads.listen(this.opts.xdsAddress, ads, { services: [csds] });
    const dashboardMetrics = this.startDashboardMetrics();
    const configz = () => {
      const s = this.store.current();
      const fe = this.cache.snapshot()?.frontEnds;
      // statuses: what Gateway API routes' and gateways' status would say (the file store cannot write it).
      return { version: s.version, files: s.files, errors: s.errors, skipped: s.skipped, warnings: this.configWarnings(), statuses: fe?.statuses ?? [], conflicts: fe?.conflicts ?? [] };
    };
    this.monitor = await startMonitor(this.opts.monitorAddress, {
      ready: () => this.started,
      syncz: () => ({ warming: this.ads.warming, pushes: this.ads.pushes, bytesPushed: this.ads.bytesPushed, proxies: this.ads.status() }),
      configz,
      describe: (q) => answerDescribe(this.cache.snapshot(), this.registry.proxies(), q, true),
      consistencyz: () => this.cache.consistencyReport(),
      configDump: (proxyId) => this.ads.configDump(proxyId),
      ca: () => this.meshCa?.describe() ?? { enabled: false },
      vips: () => serviceVips(this.cache.snapshot(), this.opts.vipRange ?? defaultVipRange),
      metrics: (accept) => this.metrics.expose(accept),
      registryz: () => {
        const snap = this.cache.snapshot();
        return {
          services: snap?.services ?? [],
          endpoints: snap ? Object.fromEntries(snap.endpoints) : {},
          proxies: this.registry.proxies().map((p) => ({ id: p.id, workload: p.workloadName, namespace: p.namespace, address: p.address, telemetryPort: p.telemetryPort ?? null })),
        };
      },
      dashboard: dashboardRoutes({
        metrics: dashboardMetrics,
        snapshot: () => this.cache.snapshot(),
        proxies: () => this.ads.status(),
        registered: () => this.registry.proxies(),
        configz,
        scrapes: dashboardMetrics instanceof ProxyScraper ? () => dashboardMetrics.status() : undefined,
      }),
    });
    const addr = this.monitor.address();
    this.monitorPort = typeof addr === 'object' && addr ? addr.port : 0;
    this.started = true;
  }

  private startDashboardMetrics(): MetricsSource {
    const d = this.opts.dashboard ?? {};
    if (d.prometheusUrl) return (this.dashboardMetrics = new PrometheusSource(d.prometheusUrl));
    const scraper = new ProxyScraper({
      intervalMs: d.scrapeIntervalMs || 5000,
      // Every registered proxy that reports a telemetry port (node metadata WEFT_TELEMETRY_PORT).
      targets: () => this.registry.proxies().flatMap((p) => (p.telemetryPort ? [{ id: p.id, address: p.address, port: p.telemetryPort }] : [])),
    });
    if (d.scrapeIntervalMs !== 0) scraper.start();
    return (this.dashboardMetrics = scraper);
  }

  private async startWebhook(w: NonNullable<ControlPlaneOptions['webhook']>): Promise<void> {
    const meshCa = this.meshCa;
    if (!meshCa) throw new Error('the injection webhook needs the CA (--ca-dir) for its serving certificate');
    const host = w.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const svc = `${CONTROL_PLANE_SERVICE}.${CONTROL_PLANE_NAMESPACE}`;
    // The Service names in the default namespace, and those --serving-dns-names gives (weft install's, in its namespace).
    const dnsNames = [...new Set([CONTROL_PLANE_SERVICE, svc, `${svc}.svc`, `${svc}.svc.${this.opts.domain}`, 'localhost', ...(isIP(host) ? [] : [host]), ...(this.opts.security?.servingDnsNames ?? [])])];
    const ips = ['127.0.0.1', ...(isIP(host) && host !== '127.0.0.1' && host !== '0.0.0.0' && host !== '::' ? [host] : [])];
    this.webhook = await InjectionWebhook.start({
      host,
      port: Number(/:(\d+)$/.exec(w.address)?.[1] ?? 0),
      inject: () => (w.carryCaRoot ? { ...w.inject, caRoot: { pem: meshCa.rootsPem } } : w.inject),
      maxBodyBytes: w.maxBodyBytes,
      log: this.opts.log ?? (() => {}),
      certificate: (apply) => meshCa.certificate({ purpose: 'injection webhook', dnsNames, ips }, apply),
      onOutcome: (outcome) => this.metrics.injectionOutcome(outcome),
    });
    this.webhookPort = this.webhook.port;
  }

  /** Something the snapshot is built from changed: count why, and rebuild after the debounce. */
  private changed(reason: PushTrigger): void {
    this.metrics.triggered(reason);
    this.changedAt ??= performance.now();
    this.debouncer.trigger();
  }

  /** Build a new snapshot from the current config and registry, and push what changed. */
  private rebuild(): void {
    const config = this.store.current().config;
    // Key sets known so far for every jwksUri in config (a first ask starts the fetch; its arrival
    // triggers another rebuild). Until then the JWT filter gets an empty set: tokens fail, never pass.
    const jwks = new Map<string, string>();
    for (const ra of config.requestAuthentications)
      for (const rule of ra.spec.jwtRules)
        if (rule.jwksUri && !rule.jwks) {
          const keys = this.jwks.get(rule.jwksUri);
          if (keys !== undefined) jwks.set(rule.jwksUri, keys);
        }
    this.logPolicyWarnings(config);
    const proxies = this.registry.proxies();
    this.events.registry(proxies);
    const snap = buildSnapshot({ config, proxies, domain: this.opts.domain, mesh: this.opts.mesh, jwks, vipRange: this.opts.vipRange });
    const changedAt = this.changedAt;
    this.changedAt = undefined;
    const prev = this.cache.snapshot();
    if (prev && sameVersions(prev.versions, snap.versions)) return;
    this.cache.setSnapshot(snap);
    this.ads.push(changedAt);
  }

  /** `weft analyze`'s warnings for the config being served (an SMI part left out, STRICT where no
   * sidecar can enforce it), each logged once while it lasts: the translators are pure and drop such
   * parts silently. */
  private logPolicyWarnings(config: ConfigSet): void {
    if (config === this.warnedConfig) return;
    this.warnedConfig = config;
    const mesh = this.opts.mesh ?? defaultMeshConfig;
    const warnings = [...policyWarnings(config, mesh.rootNamespace), ...telemetryWarnings(mesh.telemetry, config.telemetries)];
    const lines = new Set(warnings.map((w) => `config: warning: ${formatConfigError(w)}`));
    for (const l of lines) if (!this.warned.has(l)) this.opts.log?.(l);
    this.warned = lines;
  }

  /** What `weft analyze` would say about the config being served, checked against the live registry. */
  private configWarnings(): ConfigError[] {
    const snap = this.cache.snapshot();
    const config = this.store.current().config;
    // Polled by tools: computed once per (snapshot, config) pair.
    const memo = this.configzWarnings;
    if (memo && memo.snap === snap && memo.config === config) return memo.warnings;
    const mesh = this.opts.mesh ?? defaultMeshConfig;
    const traffic = snap ? trafficWarnings(snap, inventoryOf(snap, true)) : [];
    const warnings = [...policyWarnings(config, mesh.rootNamespace), ...telemetryWarnings(mesh.telemetry, config.telemetries), ...traffic, ...(snap?.frontEnds.findings ?? [])].sort(compareConfigErrors);
    this.configzWarnings = { snap, config, warnings };
    return warnings;
  }

  async close(): Promise<void> {
    clearTimeout(this.warmupTimer);
    this.dashboardMetrics?.close();
    await this.webhook?.close();
    this.meshCa?.close();
    this.jwks.close();
    this.debouncer.cancel();
    this.store.close();
    this.registry.close();
    await this.ads.close();
    await new Promise<void>((resolve) => (this.monitor ? this.monitor.close(() => resolve()) : resolve()));
    this.monitor?.closeAllConnections();
  }
}
