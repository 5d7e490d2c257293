// Transactional apply of xDS responses: a response is decoded and validated as a whole; only
// if every resource is valid (and, for LDS, every new address binds) does it replace the
// current config — otherwise nothing changes and the ADS client NACKs with every error.
// It also derives the RDS/EDS names the current listeners/clusters need, and keeps what was
// applied (raw, version, time) for /config_dump.
import type { AnyWire } from '../../api/envoy.js';
import type { RouteStore } from '../http/route-store.js';
import type { ListenerManager } from '../listener/listener-manager.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { ApplyOutcome, ResponseHandler } from './ads-client.js';
import { decodeResources, proxyXdsTypes, type DecodedResource, type ProxyXdsType } from './decode.js';
import type { Listener } from './model.js';
import type { Raw } from './validate-common.js';

export interface AppliedResource {
  name: string;
  raw: Raw;
  version: string;
  lastUpdated: string;
}

export interface TypeStatus {
  version: string;
  lastUpdated: string | undefined;
  resources: Map<string, AppliedResource>;
}

export interface XdsApplierOptions {
  clusters: ClusterManager;
  listeners: ListenerManager;
  routes: RouteStore;
  log?: (msg: string) => void;
}

export class XdsApplier {
  readonly status: Record<ProxyXdsType, TypeStatus>;
  private readonly o: XdsApplierOptions;
  private routeNames = new Set<string>();
  private edsNames = new Set<string>();
  private cdsApplied = false;
  private ldsApplied = false;
  private readonly readyWaiters: (() => void)[] = [];

  constructor(o: XdsApplierOptions) {
    this.o = o;
    this.status = {} as Record<ProxyXdsType, TypeStatus>;
    for (const t of proxyXdsTypes) this.status[t] = { version: '', lastUpdated: undefined, resources: new Map() };
  }

  /** True once a first CDS and LDS set are applied (and listeners bound). */
  get ready(): boolean {
    return this.cdsApplied && this.ldsApplied;
  }

  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  readonly handle: ResponseHandler = async (type, resources, version) => {
    switch (type) {
      case 'cluster':
        return this.applyClusters(resources, version);
      case 'endpoint':
        return this.applyEndpoints(resources, version);
      case 'listener':
        return this.applyListeners(resources, version);
      case 'route':
        return this.applyRoutes(resources, version);
    }
  };

  private applyClusters(resources: AnyWire[], version: string): ApplyOutcome {
    const d = decodeResources('cluster', resources);
    if (!d.valid) return nack(d.errors);
    this.o.clusters.applyClusters(d.result.map((r) => r.model));
    this.record('cluster', d.result, version, true);
    this.edsNames = new Set(this.o.clusters.edsServiceNames());
    this.o.clusters.retainAssignments(this.edsNames);
    this.prune('endpoint', this.edsNames);
    this.cdsApplied = true;
    this.checkReady();
    return { ok: true, subscriptions: { endpoint: [...this.edsNames] } };
  }

  private applyEndpoints(resources: AnyWire[], version: string): ApplyOutcome {
    const d = decodeResources('endpoint', resources);
    if (!d.valid) return nack(d.errors);
    // Only what we subscribe to; a server may send more (e.g. legacy wildcard EDS).
    const wanted = d.result.filter((r) => this.edsNames.has(r.name));
    this.o.clusters.applyAssignments(wanted.map((r) => r.model));
    this.record('endpoint', wanted, version, false);
    return { ok: true };
  }

  private async applyListeners(resources: AnyWire[], version: string): Promise<ApplyOutcome> {
    const d = decodeResources('listener', resources);
    if (!d.valid) return nack(d.errors);
    const models = d.result.map((r) => r.model);
    const names = new Set(rdsNames(models));
    const errors = await this.o.listeners.apply(models);
    if (errors.length > 0) return nack(errors);
    this.record('listener', d.result, version, true);
    this.routeNames = names;
    this.o.routes.retain(names);
    this.prune('route', names);
    this.ldsApplied = true;
    this.checkReady();
    return { ok: true, subscriptions: { route: [...names] } };
  }

  private applyRoutes(resources: AnyWire[], version: string): ApplyOutcome {
    const d = decodeResources('route', resources);
    if (!d.valid) return nack(d.errors);
    const wanted = d.result.filter((r) => this.routeNames.has(r.name));
    this.o.routes.apply(wanted.map((r) => r.model));
    this.record('route', wanted, version, false);
    return { ok: true };
  }

  /** SotW: CDS/LDS replace the whole set; RDS/EDS upsert the names they carry. */
  private record<K extends ProxyXdsType>(type: K, list: DecodedResource<K>[], version: string, replace: boolean): void {
    const st = this.status[type];
    const now = new Date().toISOString();
    if (replace) st.resources.clear();
    for (const r of list) st.resources.set(r.name, { name: r.name, raw: r.raw, version, lastUpdated: now });
    st.version = version;
    st.lastUpdated = now;
  }

  private prune(type: ProxyXdsType, keep: ReadonlySet<string>): void {
    for (const name of this.status[type].resources.keys()) if (!keep.has(name)) this.status[type].resources.delete(name);
  }

  private checkReady(): void {
    if (!this.ready) return;
    for (const w of this.readyWaiters.splice(0)) w();
  }
}

function nack(errors: string[]): ApplyOutcome {
  return { ok: false, message: errors.join('; ') };
}

/** Route configuration names referenced through `rds` by any chain of these listeners. */
export function rdsNames(listeners: readonly Listener[]): string[] {
  const out = new Set<string>();
  for (const l of listeners) {
    const chains = l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
    for (const fc of chains) if (fc.hcm.routes.kind === 'rds') out.add(fc.hcm.routes.name);
  }
  return [...out].sort();
}
