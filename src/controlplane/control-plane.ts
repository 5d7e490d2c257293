// Wiring of the control plane: store + registry → snapshot → cache → ADS server, plus monitoring.
import type http from 'node:http';
import { aggregatedDiscoveryService } from '../api/envoy.js';
import { Debouncer } from './debounce.js';
import { buildSnapshot, sameVersions } from './model/snapshot.js';
import { startMonitor } from './monitor.js';
import { ProxyRegistry, type RegistryLimits } from './registry/proxy-registry.js';
import { FileConfigStore } from './store/file.js';
import { XdsCache } from './xds/cache.js';
import { AdsServer } from './xds/server.js';

export interface ControlPlaneOptions {
  configDir: string;
  xdsAddress: string;
  monitorAddress: string;
  debounceMs: number;
  endpointGraceMs: number;
  domain: string;
  maxConcurrentPushes?: number;
  /** Bounds on registrations (in all, per peer host); defaults in proxy-registry.ts. */
  registryLimits?: Partial<RegistryLimits>;
  log?: (msg: string) => void;
}

export class ControlPlane {
  private readonly store: FileConfigStore;
  private readonly registry: ProxyRegistry;
  private readonly cache = new XdsCache();
  readonly ads: AdsServer;
  private readonly debouncer: Debouncer;
  private monitor: http.Server | undefined;
  private started = false;
  xdsPort = 0;
  monitorPort = 0;

  constructor(private readonly opts: ControlPlaneOptions) {
    const log = opts.log ?? (() => {});
    this.store = new FileConfigStore({ dir: opts.configDir, log });
    this.registry = new ProxyRegistry({ graceMs: opts.endpointGraceMs, limits: opts.registryLimits });
    this.ads = new AdsServer({ cache: this.cache, registry: this.registry, log, maxConcurrentPushes: opts.maxConcurrentPushes });
    this.debouncer = new Debouncer(() => this.rebuild(), opts.debounceMs, Math.max(opts.debounceMs * 10, 1000));
  }

  async start(): Promise<void> {
    await this.store.start();
    this.rebuild();
    this.store.onChange(() => this.debouncer.trigger());
    this.registry.onChange(() => this.debouncer.trigger());
    this.xdsPort = await this.ads.listen(this.opts.xdsAddress, aggregatedDiscoveryService().service);
    this.monitor = await startMonitor(this.opts.monitorAddress, {
      ready: () => this.started,
      syncz: () => ({ pushes: this.ads.pushes, bytesPushed: this.ads.bytesPushed, proxies: this.ads.status() }),
      configz: () => {
        const s = this.store.current();
        return { version: s.version, files: s.files, errors: s.errors, skipped: s.skipped };
      },
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
    const snap = buildSnapshot({ config: this.store.current().config, proxies: this.registry.proxies(), domain: this.opts.domain });
    const prev = this.cache.snapshot();
    if (prev && sameVersions(prev.versions, snap.versions)) return;
    this.cache.setSnapshot(snap);
    this.ads.push();
  }

  async close(): Promise<void> {
    this.debouncer.cancel();
    this.store.close();
    this.registry.close();
    await this.ads.close();
    await new Promise<void>((resolve) => (this.monitor ? this.monitor.close(() => resolve()) : resolve()));
    this.monitor?.closeAllConnections();
  }
}
