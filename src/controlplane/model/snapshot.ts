// The immutable mesh snapshot: config (from the store) + workloads (from the registry), resolved into
// services and endpoints. Every push translates one snapshot; nothing mutates it afterwards.
import { createHash } from 'node:crypto';
import { TLS_MODE_LABEL } from '../../api/mesh-names.js';
import { peerWorkload, type PeerWorkload } from '../../api/peer-metadata.js';
import { resourceFingerprint } from '../../config/config-set.js';
import { CONFIG_LISTS } from '../../config/kinds.js';
import type { ConfigListName, ConfigSet, DestinationRule, MeshResource, ServiceEntry, VirtualService, WorkloadEntrySpec } from '../../config/types.js';
import { defaultMeshConfig, type MeshConfig } from '../../config/mesh-config.js';
import { lowerFrontEnds } from '../../config/frontends/index.js';
import type { EffectiveConfig } from '../../config/frontends/types.js';
import { hostMatches, resolveHost, serviceFqdn } from './hosts.js';
import type { ProxyNode } from './proxy-node.js';
import { allocateVips, defaultVipRange, type VipRange } from './vips.js';

export interface MeshPort {
  port: number;
  name: string;
  protocol: string;
}

export type Resolution = 'EDS' | 'DNS';

export interface MeshService {
  hostname: string;
  namespace: string;
  ports: MeshPort[];
  resolution: Resolution;
  external: boolean;
  /** Who declared it: `registry` (proxies registered it) or `ServiceEntry ns/name`. */
  origin: string;
  /** "namespace/serviceAccount" of its endpoints that have a sidecar with an identity (sorted):
   * auto mTLS goes to those, and a client accepts exactly these SPIFFE IDs. */
  identities: string[];
  /** Where apps reach it under transparent capture: a ServiceEntry's `addresses` (IPs or CIDRs), or
   * one VIP auto-allocated from the snapshot's range (vips.ts); empty for a ServiceEntry with
   * resolution NONE and no addresses (its traffic passes through to the original destination). */
  addresses: string[];
  /** A ServiceEntry with resolution NONE: the caller's original destination is the endpoint. */
  passthrough: boolean;
}

export interface MeshEndpoint {
  address: string;
  port: number;
  labels: Record<string, string>;
  serviceAccount: string;
  weight: number;
  /** "region/zone/subzone" from the workload's registration or WorkloadEntry; absent when unknown. */
  locality?: string;
  /** Proxy id or `WorkloadEntry ns/name` / `ServiceEntry ns/name`, for debugging. */
  workload: string;
  /** "namespace/serviceAccount" when the endpoint has a sidecar holding a workload certificate
   * (label security.istio.io/tlsMode=istio, as Istio's injector sets it): auto mTLS sends mTLS to it. */
  identity?: string;
  /** The workload's own port behind this endpoint (Istio's targetPort; PeerAuthentication's
   * portLevelMtls keys), when known. */
  targetPort?: number;
  /** The workload behind the endpoint, for the destination labels of the client's metrics (EDS metadata). */
  peer?: PeerWorkload;
}

export { TLS_MODE_LABEL };

const identityOf = (labels: Record<string, string>, namespace: string, serviceAccount: string | undefined): { identity?: string } =>
  labels[TLS_MODE_LABEL] === 'istio' ? { identity: `${namespace}/${serviceAccount || 'default'}` } : {};

export interface MeshSnapshot {
  domain: string;
  /** Mesh-wide settings (--mesh-config). */
  mesh: MeshConfig;
  config: ConfigSet;
  /** Sorted by hostname. */
  services: MeshService[];
  serviceByHost: ReadonlyMap<string, MeshService>;
  /** Keyed by `endpointKey(hostname, servicePort)`; sorted by address:port. */
  endpoints: ReadonlyMap<string, MeshEndpoint[]>;
  /** Rules indexed by the host they name, resolved once per snapshot (Istio's PushContext idea). */
  destinationRules: HostIndex<DestinationRule>;
  /** Only VirtualServices that apply to sidecars (no gateways, or `mesh` among them). */
  virtualServices: HostIndex<VirtualService>;
  /** Label keys some VirtualService's `sourceLabels` reads: the only client labels routes depend on. */
  sourceLabelKeys: readonly string[];
  /** RequestAuthentication jwksUri → the key set (JSON text) the control plane fetched for it;
   * translated inline into the proxies' JWT filters, as istiod does. */
  jwks: ReadonlyMap<string, string>;
  /** Content hashes: caches key on these so an endpoint change does not rebuild clusters or routes. */
  versions: SnapshotVersions;
  /** What lowering the front ends (Gateway API, SMI, Kubernetes Services) reported: `config` above is
   * already the lowered one. Shown by `weft analyze` and /debug/configz; no translator part reads it. */
  frontEnds: Omit<EffectiveConfig, 'config'>;
}

/** Config rules by resolved host: exact names in a map, wildcards in a list; config order kept. */
export class HostIndex<T> {
  private readonly exact = new Map<string, Array<{ host: string; rule: T }>>();
  private readonly wildcards: Array<{ host: string; rule: T }> = [];

  add(host: string, rule: T): void {
    if (host.startsWith('*')) this.wildcards.push({ host, rule });
    else {
      let list = this.exact.get(host);
      if (!list) this.exact.set(host, (list = []));
      list.push({ host, rule });
    }
  }

  /** Every rule whose host covers `hostname`, exact ones first. */
  candidates(hostname: string): Array<{ host: string; rule: T }> {
    const exact = this.exact.get(hostname) ?? [];
    const wild = this.wildcards.filter((w) => hostMatches(w.host, hostname));
    return wild.length ? [...exact, ...wild] : exact;
  }
}

/** Content hashes of the snapshot's parts. Each xDS type is keyed on exactly the parts it reads, so a
 * VirtualService edit does not re-translate clusters and an endpoint change does not touch routes. */
export type SnapshotVersions = Record<ConfigListName, string> & DerivedVersions;

/** Versions of what the snapshot resolves from config and registry together (the config lists'
 * own versions come from the kind registry: one per ConfigSet list). */
export interface DerivedVersions {
  services: string;
  endpoints: string;
  /** Endpoints of DNS services only: they ride inline in CDS. */
  dnsEndpoints: string;
  /** The mesh config's version (clusters and listeners read it). */
  mesh: string;
  /** The fetched JWKS key sets (the inbound JWT filter reads them). */
  jwks: string;
}

export const sameVersions = (a: SnapshotVersions, b: SnapshotVersions): boolean =>
  (Object.keys(a) as (keyof SnapshotVersions)[]).every((k) => a[k] === b[k]);

export const endpointKey = (hostname: string, port: number): string => `${hostname}|${port}`;

export interface SnapshotInput {
  config: ConfigSet;
  proxies: readonly ProxyNode[];
  domain: string;
  /** Istio's defaults when absent. */
  mesh?: MeshConfig;
  /** Key sets fetched for jwksUris (absent: none fetched yet). */
  jwks?: ReadonlyMap<string, string>;
  /** Where services without declared addresses get their VIP (--service-vip-range; Istio's 240.240.0.0/16). */
  vipRange?: VipRange;
}

const NO_JWKS: ReadonlyMap<string, string> = new Map();

export function buildSnapshot({ config: userConfig, proxies, domain, mesh = defaultMeshConfig, jwks = NO_JWKS, vipRange = defaultVipRange }: SnapshotInput): MeshSnapshot {
  // Gateway API, SMI and Kubernetes Services become Istio-model resources first: everything below
  // (and every translator part) reads one model.
  const { config, ...frontEnds } = lowerFrontEnds(userConfig, { domain });
  const services = new Map<string, MeshService>();
  const endpoints = new Map<string, MeshEndpoint[]>();
  const addEndpoint = (hostname: string, servicePort: number, ep: MeshEndpoint) => {
    const key = endpointKey(hostname, servicePort);
    let list = endpoints.get(key);
    if (!list) endpoints.set(key, (list = []));
    list.push(ep);
  };

  // Services whose instances registered themselves over ADS (universal mode).
  for (const p of proxies) {
    const hostname = serviceFqdn(p.service, p.namespace, domain);
    let svc = services.get(hostname);
    if (!svc) {
      svc = { hostname, namespace: p.namespace, ports: [], resolution: 'EDS', external: false, origin: 'registry', identities: [], addresses: [], passthrough: false };
      services.set(hostname, svc);
    }
    for (const port of p.ports) {
      if (!svc.ports.some((x) => x.port === port.servicePort))
        svc.ports.push({ port: port.servicePort, name: `${port.protocol.toLowerCase()}-${port.servicePort}`, protocol: port.protocol });
      addEndpoint(hostname, port.servicePort, {
        address: p.address,
        port: port.endpointPort,
        labels: p.labels,
        serviceAccount: p.serviceAccount,
        weight: 1,
        workload: p.id,
        targetPort: port.appPort,
        peer: peerWorkload({ workload: p.workloadName, namespace: p.namespace, labels: p.labels }),
        ...identityOf(p.labels, p.namespace, p.serviceAccount),
        ...(p.locality ? { locality: p.locality } : {}),
      });
    }
  }

  // WorkloadEntries join a registry service of their namespace through the `app` label, as a
  // Kubernetes Service's selector would select them.
  for (const we of config.workloadEntries) {
    const app = we.spec.labels.app ?? we.metadata.labels.app;
    const svc = app ? services.get(serviceFqdn(app, we.metadata.namespace, domain)) : undefined;
    if (!svc || svc.origin !== 'registry') continue;
    for (const port of svc.ports)
      addEndpoint(svc.hostname, port.port, workloadEndpoint(we.spec, port, we.metadata.namespace, we.metadata.name));
  }

  for (const se of config.serviceEntries) addServiceEntry(se, config, proxies, domain, services, addEndpoint);

  const sortedServices = [...services.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
  assignVips(sortedServices, vipRange);
  for (const s of sortedServices) s.ports.sort((a, b) => a.port - b.port);
  for (const list of endpoints.values())
    list.sort((a, b) => (a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1));
  for (const s of sortedServices) {
    const ids = new Set<string>();
    for (const port of s.ports) for (const e of endpoints.get(endpointKey(s.hostname, port.port)) ?? []) if (e.identity) ids.add(e.identity);
    s.identities = [...ids].sort();
  }

  const sortedEndpoints = [...endpoints.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const destinationRules = new HostIndex<DestinationRule>();
  for (const dr of config.destinationRules) destinationRules.add(resolveHost(dr.spec.host, dr.metadata.namespace, domain), dr);
  const virtualServices = new HostIndex<VirtualService>();
  const sourceLabelKeys = new Set<string>();
  for (const vs of config.virtualServices) {
    for (const r of vs.spec.http) for (const m of r.match ?? []) for (const k of Object.keys(m.sourceLabels ?? {})) sourceLabelKeys.add(k);
    if (vs.spec.gateways.length && !vs.spec.gateways.includes('mesh')) continue;
    for (const h of new Set(vs.spec.hosts.map((h) => resolveHost(h, vs.metadata.namespace, domain)))) virtualServices.add(h, vs);
  }

  return {
    domain,
    mesh,
    config,
    destinationRules,
    virtualServices,
    sourceLabelKeys: [...sourceLabelKeys].sort(),
    services: sortedServices,
    serviceByHost: new Map(sortedServices.map((s) => [s.hostname, s])),
    endpoints,
    jwks,
    frontEnds,
    versions: {
      ...configVersions(config),
      services: hash(sortedServices),
      endpoints: hash(sortedEndpoints),
      dnsEndpoints: hash(sortedEndpoints.filter(([key]) => services.get(key.slice(0, key.lastIndexOf('|')))?.resolution === 'DNS')),
      mesh: mesh.version,
      jwks: jwks.size === 0 ? '' : hash([...jwks.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
    },
  };
}

function addServiceEntry(
  se: ServiceEntry,
  config: ConfigSet,
  proxies: readonly ProxyNode[],
  domain: string,
  services: Map<string, MeshService>,
  addEndpoint: (hostname: string, servicePort: number, ep: MeshEndpoint) => void,
): void {
  const ns = se.metadata.namespace;
  const origin = `ServiceEntry ${ns}/${se.metadata.name}`;
  const selector = se.spec.workloadSelector?.labels;
  const selectedEntries = selector
    ? config.workloadEntries.filter((we) => we.metadata.namespace === ns && labelsMatch(selector, we.spec.labels))
    : [];
  const selectedProxies = selector ? proxies.filter((p) => p.namespace === ns && labelsMatch(selector, p.labels)) : [];
  const hasEndpoints = se.spec.endpoints.length > 0 || selector !== undefined;
  // DNS: the proxy resolves the endpoints' names (or the host itself). NONE without endpoints has no
  // original destination to pass through to in explicit mode, so it resolves the host by DNS too.
  const resolution: Resolution = se.spec.resolution === 'DNS' || se.spec.resolution === 'DNS_ROUND_ROBIN' || !hasEndpoints ? 'DNS' : 'EDS';

  for (const rawHost of se.spec.hosts) {
    const hostname = resolveHost(rawHost, ns, domain);
    if (hostname.startsWith('*')) continue; // wildcard hosts only shape routing, they name no cluster
    if (services.has(hostname)) continue; // first declaration wins (registry, then ServiceEntries in order)
    const ports = se.spec.ports.map((p) => ({ port: p.number, name: p.name, protocol: p.protocol }));
    services.set(hostname, {
      hostname,
      namespace: ns,
      ports,
      resolution,
      external: se.spec.location !== 'MESH_INTERNAL',
      origin,
      identities: [],
      addresses: [...se.spec.addresses],
      passthrough: se.spec.resolution === 'NONE' && !hasEndpoints,
    });
    for (const port of ports) {
      if (!hasEndpoints) {
        addEndpoint(hostname, port.port, { address: hostname, port: port.port, labels: {}, serviceAccount: '', weight: 1, workload: origin });
        continue;
      }
      for (const ep of se.spec.endpoints) addEndpoint(hostname, port.port, workloadEndpoint(ep, port, ns, undefined, origin));
      for (const we of selectedEntries)
        addEndpoint(hostname, port.port, workloadEndpoint(we.spec, port, ns, we.metadata.name));
      for (const p of selectedProxies) {
        const pp = p.ports.find((x) => x.servicePort === port.port) ?? p.ports[0];
        if (pp)
          addEndpoint(hostname, port.port, {
            address: p.address,
            port: pp.endpointPort,
            labels: p.labels,
            serviceAccount: p.serviceAccount,
            weight: 1,
            workload: p.id,
            targetPort: pp.appPort,
            peer: peerWorkload({ workload: p.workloadName, namespace: p.namespace, labels: p.labels }),
            ...identityOf(p.labels, p.namespace, p.serviceAccount),
            ...(p.locality ? { locality: p.locality } : {}),
          });
      }
    }
  }
}

/** Services without declared addresses get one VIP each (a passthrough ServiceEntry needs none: the
 * app connects to the real destination). Declared addresses are never handed out again. */
function assignVips(services: MeshService[], range: VipRange): void {
  const taken = new Set(services.flatMap((s) => s.addresses));
  const need = services.filter((s) => s.addresses.length === 0 && !s.passthrough);
  const vips = allocateVips(need.map((s) => s.hostname), range, taken);
  for (const s of need) s.addresses = [vips.get(s.hostname)!];
}

/** A WorkloadEntry's endpoint (its name is the workload's name in metrics, as Istio reports it), or
 * a ServiceEntry's inline endpoint (no workload: `origin` names the ServiceEntry). */
function workloadEndpoint(we: WorkloadEntrySpec, port: MeshPort, namespace: string, name: string | undefined, origin = `WorkloadEntry ${namespace}/${name}`): MeshEndpoint {
  return {
    ...(name ? { peer: peerWorkload({ workload: name, namespace, labels: we.labels }) } : {}),
    ...identityOf(we.labels, namespace, we.serviceAccount),
    address: we.address,
    port: we.ports[port.name] ?? port.port,
    labels: we.labels,
    serviceAccount: we.serviceAccount ?? '',
    weight: we.weight ?? 1,
    workload: origin,
    ...(we.locality ? { locality: we.locality } : {}),
  };
}

export function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/** One version per ConfigSet list (kind), so a part that reads AuthorizationPolicies keys on those alone. */
function configVersions(config: ConfigSet): Record<ConfigListName, string> {
  return Object.fromEntries(CONFIG_LISTS.map((l) => [l, digestOf(config[l])])) as Record<ConfigListName, string>;
}

/** Config resources by their fingerprints (computed once per resource, often off the main thread by
 * the parser): `origin` is left out, so moving a rule within or between files changes no version. */
function digestOf(resources: readonly MeshResource[]): string {
  const h = createHash('sha256');
  for (const r of resources) h.update(resourceFingerprint(r)).update('\0');
  return h.digest('hex').slice(0, 16);
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
