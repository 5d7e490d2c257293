// Transactional apply of xDS responses, for both protocols: a response is decoded and validated as a
// whole; only if every resource is valid (and, for LDS, every new address binds) does it change the
// current config — otherwise nothing changes and the ADS client NACKs with every error.
// State of the world replaces the CDS/LDS sets and upserts RDS/EDS; Delta upserts and removes by name
// for every type, and VHDS merges virtual hosts into the route tables that name `vhds`.
// It also derives the RDS/EDS/VHDS names the current config needs, and keeps what was applied
// (raw, version, time) for /config_dump.
import type { AnyWire, XdsProtocol } from '../../api/envoy.js';
import type { RouteStore } from '../http/route-store.js';
import type { ListenerManager } from '../listener/listener-manager.js';
import type { SecretStore } from '../tls/secret-store.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { ApplyOutcome, ResponseHandler, Subscriptions } from './ads-client.js';
import type { DeltaResponseHandler, DeltaUpdate } from './delta-client.js';
import { decodeResources, proxyXdsTypes, type DecodedResource, type ProxyXdsType } from './decode.js';
import { emptyHeaderMutation, type Cluster, type CommonTlsContext, type Listener, type RouteConfiguration } from './model.js';
import type { Raw } from './validate-common.js';
import { domainConflicts } from './validate-route.js';
import { redactSecret } from './validate-secret.js';
import { sdsNames } from './validate-tls.js';
import type { VhdsOnDemand } from './vhds-on-demand.js';
import type { Logger } from '../log.js';

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
  protocol: XdsProtocol;
  /** On-demand VHDS hosts; told which route configurations use VHDS, and of every answer. */
  onDemand: VhdsOnDemand;
  /** Where SDS secrets go (and the identity agent puts `default` and `ROOTCA`). */
  secrets: SecretStore;
  /** How long listener warming waits for its route configurations (Envoy's initial_fetch_timeout,
   * 15 s by default); after it the proxy is ready anyway and missing tables answer 404. */
  initialFetchTimeoutMs?: number;
  log?: (msg: string) => void;
  /** The `config` logger: a debug line per applied response. */
  debug?: Logger;
}

const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;

/** How a response changes a type: the whole set (SotW CDS/LDS), or upserts plus removed names. */
type Change = { kind: 'replace' } | { kind: 'update'; removed: readonly string[] };

type VhostsByRouteConfig = Map<string, Map<string, DecodedResource<'virtualHost'>>>;

export class XdsApplier {
  readonly status: Record<ProxyXdsType, TypeStatus>;
  private readonly o: XdsApplierOptions;
  private routeNames = new Set<string>();
  private edsNames = new Set<string>();
  private clusterSet = new Map<string, DecodedResource<'cluster'>>();
  private listenerSet = new Map<string, DecodedResource<'listener'>>();
  /** RDS configurations as received, before VHDS virtual hosts are merged in. */
  private readonly routeConfigs = new Map<string, DecodedResource<'route'>>();
  private vhosts: VhostsByRouteConfig = new Map();
  /** Secrets the applied clusters and listeners name, by provider (SDS over ADS, or the agent). */
  private clusterSecrets = { ads: new Set<string>(), agent: new Set<string>() };
  private listenerSecrets = { ads: new Set<string>(), agent: new Set<string>() };
  private subscribedSecrets: string[] = [];
  private cdsApplied = false;
  private ldsApplied = false;
  private readonly readyWaiters: (() => void)[] = [];

  constructor(o: XdsApplierOptions) {
    this.o = o;
    this.status = {} as Record<ProxyXdsType, TypeStatus>;
    for (const t of proxyXdsTypes) this.status[t] = { version: '', lastUpdated: undefined, resources: new Map() };
    o.secrets.onChange(() => this.checkReady());
  }

  /** True once a first CDS and LDS set are applied (and listeners bound), and every secret they name
   * has arrived: Envoy's init manager does not report ready while a listener or cluster warms. */
  get ready(): boolean {
    return this.cdsApplied && this.ldsApplied && this.missingSecrets().length === 0 && (this.routesWarmed ||= this.missingRoutes().length === 0);
  }

  /** Set once every route configuration the first listeners named had arrived (Envoy's listener
   * warming waits for its RDS): a later removal leaves an empty table, not an unready proxy. */
  private routesWarmed = false;

  /** RDS names the applied listeners use that have not arrived yet. */
  missingRoutes(): string[] {
    return [...this.routeNames].filter((n) => !this.routeConfigs.has(n)).sort();
  }

  /** Secrets named by the applied config that neither SDS nor the identity agent has provided yet. */
  missingSecrets(): string[] {
    const all = new Set([...this.clusterSecrets.ads, ...this.clusterSecrets.agent, ...this.listenerSecrets.ads, ...this.listenerSecrets.agent]);
    return [...all].filter((n) => !this.o.secrets.has(n)).sort();
  }

  /** The SDS names to subscribe to over ADS. */
  private secretNames(): string[] {
    return [...new Set([...this.clusterSecrets.ads, ...this.listenerSecrets.ads])].sort();
  }

  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** State of the world: CDS/LDS responses are the whole set, RDS/EDS carry what changed. */
  readonly handle: ResponseHandler = async (type, resources, version) => {
    if (type === 'virtualHost') return nack(['VHDS needs the Delta protocol']);
    const whole = type === 'cluster' || type === 'listener';
    return this.apply(type, resources, version, whole ? { kind: 'replace' } : { kind: 'update', removed: [] });
  };

  /** Delta: every type carries upserts and removed names; VHDS merges into route tables. */
  readonly handleDelta: DeltaResponseHandler = async (type, update) => {
    if (type === 'virtualHost') return this.applyVirtualHosts(update);
    // A Resource without a body answers a name that does not exist; for these types the control
    // plane reports that as a removal, which is what this proxy acts on.
    const resources = update.resources.flatMap((r) => (r.resource ? [r.resource] : []));
    return this.apply(type, resources, update.version, { kind: 'update', removed: update.removed });
  };

  private apply(type: Exclude<ProxyXdsType, 'virtualHost'>, resources: AnyWire[], version: string, change: Change): Promise<ApplyOutcome> | ApplyOutcome {
    switch (type) {
      case 'secret':
        return this.applySecrets(resources, version, change);
      case 'cluster':
        return this.applyClusters(resources, version, change);
      case 'endpoint':
        return this.applyEndpoints(resources, version, change);
      case 'listener':
        return this.applyListeners(resources, version, change);
      case 'route':
        return this.applyRoutes(resources, version, change);
    }
  }

  private applyClusters(resources: AnyWire[], version: string, change: Change): ApplyOutcome {
    const d = decodeResources('cluster', resources);
    if (!d.valid) return nack(d.errors);
    const next = changedSet(this.clusterSet, d.result, change);
    this.o.clusters.applyClusters([...next.values()].map((r) => r.model));
    this.clusterSet = next;
    this.record('cluster', d.result, version, change);
    this.edsNames = new Set(this.o.clusters.edsServiceNames());
    this.o.clusters.retainAssignments(this.edsNames);
    this.prune('endpoint', this.edsNames);
    this.clusterSecrets = secretsOf([...next.values()].flatMap((r) => clusterTlsContexts(r.model)));
    this.prune('secret', new Set(this.secretNames()));
    this.cdsApplied = true;
    this.checkReady();
    return { ok: true, subscriptions: this.withSecretChanges({ endpoint: [...this.edsNames] }) };
  }

  /** SDS: secrets this proxy subscribes to go into the store; their watchers swap TLS contexts. */
  private applySecrets(resources: AnyWire[], version: string, change: Change): ApplyOutcome {
    const d = decodeResources('secret', resources);
    if (!d.valid) return nack(d.errors);
    const wanted = new Set(this.secretNames());
    const taken = d.result.filter((r) => wanted.has(r.name));
    for (const r of taken) this.o.secrets.set(r.name, r.model.secret);
    if (change.kind === 'update') for (const name of change.removed) if (wanted.has(name)) this.o.secrets.delete(name);
    this.record('secret', taken.map((r) => ({ ...r, raw: redactSecret(r.raw) })), version, change);
    return { ok: true };
  }

  private applyEndpoints(resources: AnyWire[], version: string, change: Change): ApplyOutcome {
    const d = decodeResources('endpoint', resources);
    if (!d.valid) return nack(d.errors);
    // Only what we subscribe to; a server may send more (e.g. legacy wildcard EDS).
    const wanted = d.result.filter((r) => this.edsNames.has(r.name));
    // A removed assignment leaves its cluster without endpoints.
    const emptied = change.kind === 'update' ? change.removed.filter((n) => this.edsNames.has(n)) : [];
    this.o.clusters.applyAssignments([...wanted.map((r) => r.model), ...emptied.map((clusterName) => ({ clusterName, endpoints: [], overprovisioningFactor: 140 }))]);
    this.record('endpoint', wanted, version, change);
    return { ok: true };
  }

  private async applyListeners(resources: AnyWire[], version: string, change: Change): Promise<ApplyOutcome> {
    const d = decodeResources('listener', resources);
    if (!d.valid) return nack(d.errors);
    if (!this.ldsApplied && !this.routesWarmed) {
      const t = setTimeout(() => {
        if (this.routesWarmed) return;
        this.o.log?.(`listener warming: route configurations ${this.missingRoutes().join(', ')} did not arrive within the initial fetch timeout; serving without them`);
        this.routesWarmed = true;
        this.checkReady();
      }, this.o.initialFetchTimeoutMs ?? DEFAULT_INITIAL_FETCH_TIMEOUT_MS);
      t.unref();
    }
    const next = changedSet(this.listenerSet, d.result, change);
    const models = [...next.values()].map((r) => r.model);
    const names = new Set(rdsNames(models));
    const errors = await this.o.listeners.apply(models);
    if (errors.length > 0) return nack(errors);
    this.listenerSet = next;
    this.record('listener', d.result, version, change);
    this.routeNames = names;
    this.o.routes.retain(names);
    this.prune('route', names);
    for (const name of this.routeConfigs.keys()) {
      if (names.has(name)) continue;
      this.routeConfigs.delete(name);
      this.vhosts.delete(name);
    }
    this.o.onDemand.setRouteConfigs(this.vhdsRouteConfigs());
    this.prune('virtualHost', new Set([...this.vhosts.values()].flatMap((m) => [...m.keys()])));
    this.listenerSecrets = secretsOf(models.flatMap(listenerTlsContexts));
    this.prune('secret', new Set(this.secretNames()));
    this.ldsApplied = true;
    this.checkReady();
    return { ok: true, subscriptions: this.withSecretChanges(this.routeSubscriptions()) };
  }

  private applyRoutes(resources: AnyWire[], version: string, change: Change): ApplyOutcome {
    const d = decodeResources('route', resources);
    if (!d.valid) return nack(d.errors);
    const wanted = d.result.filter((r) => this.routeNames.has(r.name));
    const errors: string[] = [];
    if (this.o.protocol !== 'delta') {
      for (const r of wanted) if (r.model.vhds) errors.push(`route ${r.name}: vhds: needs the Delta xDS protocol (weft proxy --xds-protocol delta)`);
    }
    // VHDS virtual hosts outlive an update of their route configuration; they go with its vhds.
    const vhosts: VhostsByRouteConfig = new Map(this.vhosts);
    for (const r of wanted) if (!r.model.vhds) vhosts.delete(r.name);
    const merged = wanted.map((r) => mergeVirtualHosts(r, vhosts.get(r.name)));
    for (const m of merged) errors.push(...domainConflicts(m.model.virtualHosts).map((e) => `route ${m.name}: ${e}`));
    if (errors.length) return nack(errors);
    const removed = change.kind === 'update' ? change.removed.filter((n) => this.routeConfigs.has(n)) : [];
    for (const name of removed) {
      this.routeConfigs.delete(name);
      vhosts.delete(name);
    }
    for (const r of wanted) this.routeConfigs.set(r.name, r);
    this.vhosts = vhosts;
    // A removed configuration leaves its listeners an empty table (404 for every host).
    this.o.routes.apply([...merged.map((m) => m.model), ...removed.map((name) => emptyRouteConfig(name))]);
    this.record('route', merged, version, change);
    this.o.onDemand.setRouteConfigs(this.vhdsRouteConfigs());
    this.checkReady();
    return { ok: true, subscriptions: this.routeSubscriptions() };
  }

  private applyVirtualHosts(update: DeltaUpdate): ApplyOutcome {
    const present = update.resources.filter((r) => r.resource);
    const d = decodeResources('virtualHost', present.map((r) => r.resource!));
    const errors = d.valid ? [] : [...d.errors];
    const next: VhostsByRouteConfig = new Map(this.vhosts);
    const touched = new Set<string>();
    const edit = (routeConfig: string) => {
      if (!touched.has(routeConfig)) next.set(routeConfig, new Map(next.get(routeConfig)));
      touched.add(routeConfig);
      return next.get(routeConfig)!;
    };
    for (const name of update.removed) {
      for (const [rc, m] of next) if (m.has(name)) edit(rc).delete(name);
    }
    for (const vh of d.valid ? d.result : []) {
      const rc = vh.name.slice(0, vh.name.lastIndexOf('/'));
      if (!this.routeConfigs.get(rc)?.model.vhds) errors.push(`virtual host ${vh.name}: route configuration "${rc}" is not one this proxy runs with vhds`);
      else edit(rc).set(vh.name, vh);
    }
    const merged = [...touched].map((rc) => mergeVirtualHosts(this.routeConfigs.get(rc)!, next.get(rc)));
    for (const m of merged) errors.push(...domainConflicts(m.model.virtualHosts).map((e) => `route ${m.name}: ${e}`));
    if (errors.length) {
      this.o.onDemand.rejected(update.resources.flatMap((r) => [r.name, ...r.aliases]));
      return nack(errors);
    }
    this.vhosts = next;
    this.o.routes.apply(merged.map((m) => m.model));
    this.record('route', merged, this.status.route.version, { kind: 'update', removed: [] });
    this.record('virtualHost', d.valid ? d.result : [], update.version, { kind: 'update', removed: update.removed });
    for (const name of update.removed) this.o.onDemand.removed(name);
    for (const r of update.resources) for (const name of [r.name, ...r.aliases]) this.o.onDemand.answered(name, r.resource ? r.name : null);
    return { ok: true };
  }

  private vhdsRouteConfigs(): string[] {
    return [...this.routeConfigs.values()].filter((r) => r.model.vhds).map((r) => r.name);
  }

  private routeSubscriptions(): Subscriptions {
    const route = [...this.routeNames];
    return this.o.protocol === 'delta' ? { route, virtualHost: this.o.onDemand.names() } : { route };
  }

  /** SDS names ride on the CDS and LDS outcomes, only when they changed (the client resends otherwise). */
  private withSecretChanges(subs: Subscriptions): Subscriptions {
    const secret = this.secretNames();
    if (secret.join('\n') === this.subscribedSecrets.join('\n')) return subs;
    this.subscribedSecrets = secret;
    return { ...subs, secret };
  }

  private record<K extends ProxyXdsType>(type: K, list: DecodedResource<K>[], version: string, change: Change): void {
    const st = this.status[type];
    const now = new Date().toISOString();
    if (change.kind === 'replace') st.resources.clear();
    else for (const name of change.removed) st.resources.delete(name);
    for (const r of list) st.resources.set(r.name, { name: r.name, raw: r.raw, version, lastUpdated: now });
    st.version = version;
    st.lastUpdated = now;
    const debug = this.o.debug;
    if (debug?.debugOn) debug.debug(`applied ${type} version ${version}: ${list.length} resource(s) ${change.kind === 'replace' ? 'replacing the set' : `updated, ${change.removed.length} removed`}: ${list.map((r) => r.name).join(', ')}`);
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

/** The set after a response: replaced by it, or updated with its resources and removed names. */
function changedSet<K extends ProxyXdsType>(current: Map<string, DecodedResource<K>>, list: DecodedResource<K>[], change: Change): Map<string, DecodedResource<K>> {
  const next = change.kind === 'replace' ? new Map<string, DecodedResource<K>>() : new Map(current);
  if (change.kind === 'update') for (const name of change.removed) next.delete(name);
  for (const r of list) next.set(r.name, r);
  return next;
}

/** A route configuration with its VHDS virtual hosts after the inline ones (raw too, for /config_dump). */
function mergeVirtualHosts(route: DecodedResource<'route'>, vhosts: ReadonlyMap<string, DecodedResource<'virtualHost'>> | undefined): DecodedResource<'route'> {
  if (!vhosts?.size) return route;
  const extra = [...vhosts.values()];
  const model: RouteConfiguration = { ...route.model, virtualHosts: [...route.model.virtualHosts, ...extra.map((v) => v.model)] };
  const raw = { ...route.raw, virtual_hosts: [...((route.raw.virtual_hosts as Raw[] | undefined) ?? []), ...extra.map((v) => v.raw)] };
  return { name: route.name, raw, model };
}

function emptyRouteConfig(name: string): RouteConfiguration {
  return { name, virtualHosts: [], vhds: false, requestHeaders: emptyHeaderMutation, responseHeaders: emptyHeaderMutation };
}

function secretsOf(contexts: readonly CommonTlsContext[]): { ads: Set<string>; agent: Set<string> } {
  const out = { ads: new Set<string>(), agent: new Set<string>() };
  for (const c of contexts) {
    const n = sdsNames(c);
    for (const name of n.ads) out.ads.add(name);
    for (const name of n.agent) out.agent.add(name);
  }
  return out;
}

function listenerTlsContexts(l: Listener): CommonTlsContext[] {
  const chains = l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
  return chains.flatMap((fc) => (fc.transport.kind === 'tls' ? [fc.transport.context] : []));
}

function clusterTlsContexts(c: Cluster): CommonTlsContext[] {
  return [c.transport, ...c.transportMatches.map((m) => m.transport)].flatMap((t) => (t.kind === 'tls' ? [t.context] : []));
}

/** Route configuration names referenced through `rds` by any chain of these listeners. */
export function rdsNames(listeners: readonly Listener[]): string[] {
  const out = new Set<string>();
  for (const l of listeners) {
    const chains = l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
    for (const fc of chains) if (fc.terminal.kind === 'http_connection_manager' && fc.terminal.hcm.routes.kind === 'rds') out.add(fc.terminal.hcm.routes.name);
  }
  return [...out].sort();
}
