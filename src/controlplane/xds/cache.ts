// The cache decides WHAT each proxy should have: encoded resources and a version per type.
// Translation is pure, so memoising its parts is safe when the key holds exactly their inputs:
// outbound parts depend on (config, services[, endpoints], client namespace[, labels]); the rest on the
// proxy alone. An endpoint change therefore re-encodes only EDS.
import { createHash } from 'node:crypto';
import { packAny, TypeUrl, type AnyWire, type XdsProtocol, type XdsType } from '../../api/envoy.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import { inboundClusters, outboundClusters } from '../translate/clusters.js';
import { clusterLoadAssignments } from '../translate/endpoints.js';
import { failoverLabelKeys } from '../translate/locality.js';
import { listeners } from '../translate/listeners.js';
import { OUTBOUND_ROUTE } from '../translate/names.js';
import { outboundRouteConfig, vhdsRouteConfig, vhdsVirtualHosts } from '../translate/routes.js';
import type { XdsResource } from '../translate/types.js';
import { VirtualHostIndex } from './vhds-index.js';

export interface EncodedPart {
  resources: ReadonlyMap<string, AnyWire>;
  digest: string;
  /** VHDS parts: resolves the names proxies ask for to these resources. */
  hosts?: VirtualHostIndex;
}

export interface EncodedType {
  version: string;
  /** name → encoded resource; a type can be assembled from several parts. */
  parts: readonly EncodedPart[];
}

export type EncodedSet = Record<XdsType, EncodedType>;

export function encodePart(type: XdsType, resources: XdsResource[]): EncodedPart {
  const h = createHash('sha256');
  const map = new Map<string, AnyWire>();
  for (const r of resources) {
    const any = packAny(TypeUrl[type], r.body);
    map.set(r.name, any);
    h.update(r.name).update('\0').update(any.value).update('\0');
  }
  return { resources: map, digest: h.digest('hex').slice(0, 16) };
}

function combine(parts: EncodedPart[]): EncodedType {
  const version = parts.length === 1 ? parts[0].digest : createHash('sha256').update(parts.map((p) => p.digest).join(',')).digest('hex').slice(0, 16);
  return { version, parts };
}

const versions = new WeakMap<AnyWire, string>();
/** Delta xDS per-resource version: a digest of the encoded bytes, computed once per encoding. */
export function resourceVersion(any: AnyWire): string {
  let v = versions.get(any);
  if (v === undefined) {
    v = createHash('sha256').update(any.value).digest('hex').slice(0, 16);
    versions.set(any, v);
  }
  return v;
}

export function lookup(t: EncodedType, name: string): AnyWire | undefined {
  for (const p of t.parts) {
    const r = p.resources.get(name);
    if (r) return r;
  }
  return undefined;
}

export function allResources(t: EncodedType): AnyWire[] {
  return t.parts.flatMap((p) => [...p.resources.values()]);
}

const EMPTY = encodePart('secret', []);

function encodeVirtualHosts(vhosts: XdsResource[]): EncodedPart {
  const hosts = new VirtualHostIndex(OUTBOUND_ROUTE, vhosts.map((vh) => ({ name: vh.name, domains: vh.body.domains as string[] })));
  return { ...encodePart('virtualHost', vhosts), hosts };
}
const EMPTY_VHDS = encodeVirtualHosts([]);

export class XdsCache {
  private snap: MeshSnapshot | undefined;
  /** Memoised parts and the snapshot generation that last used each. */
  private readonly memo = new Map<string, { part: EncodedPart; usedIn: number }>();
  private generation = 0;
  /** Encodings done, for tests and the monitor: memo hits do not count. */
  encodeCount = 0;

  setSnapshot(snap: MeshSnapshot): void {
    this.snap = snap;
    // Keys hold every input, so an entry stays valid as long as its inputs do; entries no proxy asked
    // for during the previous snapshot (changed inputs, departed proxies) are dropped.
    for (const [key, e] of this.memo) if (e.usedIn < this.generation) this.memo.delete(key);
    this.generation++;
  }

  snapshot(): MeshSnapshot | undefined {
    return this.snap;
  }

  /** What `proxy` should run. Delta streams get their outbound virtual hosts over VHDS (the route
   * configuration names `vhds` instead of listing them) and the on-demand filter in the listener. */
  resourcesFor(proxy: ProxyNode, protocol: XdsProtocol): EncodedSet {
    const snap = this.snap;
    if (!snap) throw new Error('no snapshot yet');
    const v = snap.versions;
    const ns = proxy.namespace;
    // Routes read a client's labels only through sourceLabels, so only those keys split the cache.
    const labels = snap.sourceLabelKeys.map((k) => `${k}=${proxy.labels[k] ?? ''}`).join(',');
    const own = `proxy:${JSON.stringify([proxy.address, proxy.ports, proxy.outboundPort, proxy.inboundPort])}`;
    const outboundCds = this.part(`cds:${v.destinationRules}:${v.services}:${v.dnsEndpoints}:${v.mesh}|${ns}`, () => encodePart('cluster', outboundClusters(snap, ns)));
    const inboundCds = this.part(`${own}|cds`, () => encodePart('cluster', inboundClusters(proxy)));
    // EDS ranks and weights localities from the client's locality (and failoverPriority labels): those split it too.
    const loc = proxy.locality ?? '';
    const foLabels = failoverLabelKeys(snap).map((k) => `${k}=${proxy.labels[k] ?? ''}`).join(',');
    const eds = this.part(`eds:${v.destinationRules}:${v.services}:${v.endpoints}|${ns}|${loc}|${foLabels}`, () =>
      encodePart('endpoint', clusterLoadAssignments(snap, ns, { locality: loc, labels: proxy.labels })),
    );
    // Routes carry hash_policy from DestinationRules' consistentHash.
    const routesKey = `${v.virtualServices}:${v.destinationRules}:${v.services}|${ns}|${labels}`;
    const delta = protocol === 'delta';
    const rds = delta
      ? this.part('rds-vhds', () => encodePart('route', [vhdsRouteConfig()]))
      : this.part(`rds:${routesKey}`, () => encodePart('route', [outboundRouteConfig(snap, proxy)]));
    const vhds = delta ? this.part(`vhds:${routesKey}`, () => encodeVirtualHosts(vhdsVirtualHosts(snap, proxy))) : EMPTY_VHDS;
    // The mesh config is an input of LDS: its version is in the key.
    const mesh = snap.mesh;
    const lds = this.part(`${own}|lds|${protocol}|${mesh.version}`, () => encodePart('listener', listeners(proxy, { onDemandVhds: delta, mesh })));
    return {
      cluster: combine([outboundCds, inboundCds]),
      endpoint: combine([eds]),
      listener: combine([lds]),
      route: combine([rds]),
      virtualHost: combine([vhds]),
      secret: combine([EMPTY]),
    };
  }

  private part(key: string, build: () => EncodedPart): EncodedPart {
    let e = this.memo.get(key);
    if (!e) {
      e = { part: build(), usedIn: this.generation };
      this.encodeCount++;
      this.memo.set(key, e);
    }
    e.usedIn = this.generation;
    return e.part;
  }
}
