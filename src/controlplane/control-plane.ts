// Wiring of the control plane: store + registry → snapshot → cache → ADS server, plus monitoring.
import type http from 'node:http';
import { aggregatedDiscoveryService } from '../api/envoy.js';
import { Debouncer } from './debounce.js';
import { buildSnapshot, sameVersions } from './model/snapshot.js';
import { startMonitor } from './monitor.js';
import { ProxyRegistry, type RegistryLimits } from './registry/proxy-registry.js';
import { FileConfigStore } from './store/file.js';
import type { MeshConfig } from '../config/mesh-config.js';
import { XdsCache } from './xds/cache.js';
import { AdsServer } from './xds/server.js';

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
  log?: (msg: string) => void;
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
  xdsPort = 0;
  monitorPort = 0;

  constructor(private readonly opts: ControlPlaneOptions) {
    const log = opts.log ?? (() => {});
    this.cache = new XdsCache({ log });
    this.store = new FileConfigStore({ dir: opts.configDir, log });
    this.registry = new ProxyRegistry({ graceMs: opts.endpointGraceMs, limits: opts.registryLimits });
    this.ads = new AdsServer({ cache: this.cache, registry: this.registry, log, maxConcurrentPushes: opts.maxConcurrentPushes });
    this.debouncer = new Debouncer(() => this.rebuild(), opts.debounceMs, Math.max(opts.debounceMs * 10, 1000));
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
    this.store.onChange(() => this.debouncer.trigger());
    this.registry.onChange(() => this.debouncer.trigger());
    this.xdsPort = await this.ads.listen(this.opts.xdsAddress, aggregatedDiscoveryService().service);
    this.monitor = await startMonitor(this.opts.monitorAddress, {
      ready: () => this.started,
      syncz: () => ({ warming: this.ads.warming, pushes: this.ads.pushes, bytesPushed: this.ads.bytesPushed, proxies: this.ads.status() }),
      configz: () => {
        const s = this.store.current();
        return { version: s.version, files: s.files, errors: s.errors, skipped: s.skipped };
      },
      consistencyz: () => this.cache.consistencyReport(),
      registryz: () => {
        const snap = this.cache.snapshot();
        return {
          services: snap?.services ?? [],
          endpoints: snap ? Object.fromEntries(snap.endpoints) : {},
        };
      },
    });
    const addr = this.monitor.address();
    this.monitorPort = typeof addr === 'object' && addr ? addr.port : 0;
    this.started = true;
  }

  /** Build a new snapshot from the current config and registry, and push what changed. */
  private rebuild(): void {
    const snap = buildSnapshot({ config: this.store.current().config, proxies: this.registry.proxies(), domain: this.opts.domain, mesh: this.opts.mesh });
    const prev = this.cache.snapshot();
    if (prev && sameVersions(prev.versions, snap.versions)) return;
    this.cache.setSnapshot(snap);
    this.ads.push();
  }

  async close(): Promise<void> {
    clearTimeout(this.warmupTimer);
    this.debouncer.cancel();
    this.store.close();
    this.registry.close();
    await this.ads.close();
    await new Promise<void>((resolve) => (this.monitor ? this.monitor.close(() => resolve()) : resolve()));
    this.monitor?.closeAllConnections();
  }
}
