// `weft describe service`: everything that shapes calls to one service, from one model snapshot —
// the VirtualServices and DestinationRules that cover it (which one applies, for which client), its
// ServiceEntries, versions and endpoints, the policies on its workloads, warnings for rules that never
// match, and, given a request, the route it would take (route-trace.ts). Plain JSON out: the CLI,
// the monitor's /debug/describe and the dashboard's per-service view all render this.
import type { DestinationRule } from '../../config/types.js';
import { resolveHost, serviceFqdn } from '../model/hosts.js';
import type { ProxyNode } from '../model/proxy-node.js';
import { endpointKey, labelsMatch, type MeshEndpoint, type MeshService, type MeshSnapshot } from '../model/snapshot.js';
import { destinationRuleFor } from '../translate/destination-rules.js';
import { virtualServiceFor } from '../translate/routes.js';
import { matchText, policyText, ruleExtras } from './config-text.js';
import { traceRequest, type RouteTrace, type TraceRequest } from './route-trace.js';
import { inventoryOf, trafficWarnings } from '../../config/traffic-warnings.js';
import { workloadPolicies, type WorkloadPolicies } from './workload-policies.js';

export interface DescribeOptions {
  /** The calling proxy whose view routes and rules are shown from; absent: a synthetic client in the service's namespace. */
  client?: ProxyNode;
  /** Trace this request through the client's route table. */
  request?: TraceRequest;
  /** false: the snapshot has no registry (offline, on files): endpoints are only those config declares. */
  registry?: boolean;
  /** The snapshot analyze's findings are computed on, when `snap` carries an offline placeholder. */
  findingsSnapshot?: MeshSnapshot;
}

export interface DescribedRule {
  index: number;
  name?: string;
  matches: string[];
  /** `reviews/v2 (weight 50)`, `ratings:9080`. */
  destinations: string[];
  extras: string[];
}

export interface DescribedEndpoint {
  port: number;
  address: string;
  workload: string;
  version?: string;
  locality?: string;
  /** namespace/serviceAccount of its sidecar's certificate (auto mTLS sends mTLS to it). */
  identity?: string;
  /** What the control plane knows: `registered` (its proxy is connected), `declared` (config names it). */
  health: 'registered' | 'declared';
}

export interface ServiceDescription {
  service: { host: string; namespace: string; ports: string[]; origin: string; addresses: string[]; external: boolean };
  registry: boolean;
  client: { id: string; namespace: string; labels: Record<string, string>; synthetic: boolean };
  virtualServices: Array<{ name: string; file: string; applies: boolean; note?: string; rules: DescribedRule[] }>;
  destinationRules: Array<{ name: string; file: string; applies: boolean; note?: string; trafficPolicy: string[]; subsets: Array<{ name: string; labels: Record<string, string>; endpoints: string[]; trafficPolicy: string[] }> }>;
  serviceEntries: string[];
  /** Endpoints grouped by their `version` label. */
  versions: Array<{ version: string; endpoints: string[] }>;
  endpoints: DescribedEndpoint[];
  /** Workloads with the same policies, grouped. */
  policies: Array<{ workloads: string[] } & WorkloadPolicies>;
  /** Where health beyond registration (outlier ejections, per client) is seen. */
  healthNote: string;
  warnings: Array<{ resource: string; path: string; message: string }>;
  route?: RouteTrace;
}

export type DescribeResult = { ok: true; description: ServiceDescription } | { ok: false; error: string };

/** The service `name` (short, `name.ns`, or a full host) as `ns` would resolve it. */
export function findService(snap: MeshSnapshot, name: string, ns = 'default'): MeshService | undefined {
  const n = name.toLowerCase();
  const dots = n.split('.');
  return (
    snap.serviceByHost.get(n) ??
    snap.serviceByHost.get(resolveHost(n, ns, snap.domain)) ??
    (dots.length === 2 ? snap.serviceByHost.get(serviceFqdn(dots[0], dots[1], snap.domain)) : undefined) ??
    (n.endsWith('.svc') ? snap.serviceByHost.get(`${n}.${snap.domain}`) : undefined)
  );
}

/** A client with no labels in `namespace`, for describing without a connected proxy. */
export function syntheticClient(namespace: string): ProxyNode {
  return { id: `describe~${namespace}`, service: 'describe', namespace, labels: {}, serviceAccount: 'default', address: '127.0.0.1', workloadName: 'describe', ports: [], outboundPort: 15001, inboundPort: 15006, interceptionMode: 'NONE' };
}

export function describeService(snap: MeshSnapshot, name: string, ns = 'default', opts: DescribeOptions = {}): DescribeResult {
  const svc = findService(snap, name, ns);
  if (!svc) return { ok: false, error: `no service ${name} in namespace ${ns}${opts.registry === false ? ' (offline: only ServiceEntries in the files declare services; give --control-plane for the registry)' : ''}` };
  const client = opts.client ?? syntheticClient(svc.namespace);
  const endpoints = serviceEndpoints(snap, svc);
  const chosenVs = virtualServiceFor(snap, svc.hostname, client.namespace);
  const chosenDr = destinationRuleFor(snap, svc.hostname, client.namespace, svc.namespace);
  const vss = snap.virtualServices.candidates(svc.hostname).map((c) => c.rule);
  const drs = snap.destinationRules.candidates(svc.hostname).map((c) => c.rule);
  const description: ServiceDescription = {
    service: { host: svc.hostname, namespace: svc.namespace, ports: svc.ports.map((p) => `${p.port}/${p.protocol}`), origin: svc.origin, addresses: svc.addresses, external: svc.external },
    registry: opts.registry !== false,
    client: { id: client.id, namespace: client.namespace, labels: client.labels, synthetic: !opts.client },
    virtualServices: unique(vss).map((vs) => ({
      name: id(vs),
      file: vs.origin.file,
      applies: vs === chosenVs,
      ...(vs === chosenVs ? {} : { note: `not used for this client: ${chosenVs ? `${id(chosenVs)} covers the host (one VirtualService per host for sidecars; the client's namespace, then an exact host, then config order)` : 'none applies'}` }),
      rules: vs.spec.http.map((r, i) => ({
        index: i,
        ...(r.name ? { name: r.name } : {}),
        matches: r.match?.length ? r.match.map(matchText) : ['*'],
        destinations: (r.route ?? []).map((d) => `${d.destination.host}${d.destination.subset ? `/${d.destination.subset}` : ''}${d.destination.port ? `:${d.destination.port.number}` : ''}${d.weight !== undefined ? ` (weight ${d.weight})` : ''}`),
        extras: ruleExtras(r),
      })),
    })),
    destinationRules: unique(drs).map((dr) => describeDr(dr, dr === chosenDr, chosenDr, endpoints)),
    serviceEntries: snap.config.serviceEntries.filter((se) => se.spec.hosts.some((h) => resolveHost(h, se.metadata.namespace, snap.domain) === svc.hostname)).map(id),
    versions: versionsOf(endpoints),
    endpoints: endpoints.map(({ port, ep }) => ({
      port,
      address: `${ep.address}:${ep.port}`,
      workload: ep.workload,
      ...(ep.labels.version ? { version: ep.labels.version } : {}),
      ...(ep.locality ? { locality: ep.locality } : {}),
      ...(ep.identity ? { identity: ep.identity } : {}),
      health: ep.workload.startsWith('ServiceEntry ') || ep.workload.startsWith('WorkloadEntry ') ? 'declared' : 'registered',
    })),
    policies: policiesOf(snap, svc, endpoints),
    healthNote: opts.registry === false
      ? 'offline: no registry, so only endpoints the files declare (ServiceEntries, WorkloadEntries) are shown'
      : 'registered: the endpoint\'s proxy is connected to the control plane (or within its grace period). Outlier ejections are per client: see the client proxy\'s admin /clusters (weft proxy-config endpoints CLIENT)',
    warnings: findingsFor(opts.findingsSnapshot ?? snap, opts.registry !== false, [...vss.map((vs) => `VirtualService ${id(vs)}`), ...drs.map((dr) => `DestinationRule ${id(dr)}`)]),
  };
  if (opts.request) description.route = traceRequest(snap, svc, client, opts.request, opts.client ? client.id : `synthetic client in namespace ${client.namespace}`);
  return { ok: true, description };
}

/** weft analyze's traffic findings about the resources shown (unreachable rules, undefined subsets, …). */
function findingsFor(snap: MeshSnapshot, registry: boolean, resources: string[]): ServiceDescription['warnings'] {
  const shown = new Set(resources);
  return trafficWarnings(snap, inventoryOf(snap, registry))
    .filter((w) => w.resource !== undefined && shown.has(w.resource))
    .map((w) => ({ resource: w.resource!, path: w.path, message: `${w.level === 'error' ? 'error: ' : ''}${w.message} [${w.code}${w.istio ? `; ${w.istio}` : ''}]` }));
}

const id = (r: { metadata: { namespace: string; name: string } }): string => `${r.metadata.namespace}/${r.metadata.name}`;
const unique = <T>(xs: T[]): T[] => [...new Set(xs)];

interface PortEndpoint {
  port: number;
  ep: MeshEndpoint;
}

function serviceEndpoints(snap: MeshSnapshot, svc: MeshService): PortEndpoint[] {
  return svc.ports.flatMap((p) => (snap.endpoints.get(endpointKey(svc.hostname, p.port)) ?? []).map((ep) => ({ port: p.port, ep })));
}

function describeDr(dr: DestinationRule, applies: boolean, chosen: DestinationRule | undefined, endpoints: PortEndpoint[]): ServiceDescription['destinationRules'][number] {
  return {
    name: id(dr),
    file: dr.origin.file,
    applies,
    ...(applies ? {} : { note: `not used for this client: ${chosen ? `${id(chosen)} applies (the client's namespace, then the service's, then any; an exact host before a wildcard)` : 'none applies'}` }),
    trafficPolicy: policyText(dr.spec.trafficPolicy),
    subsets: dr.spec.subsets.map((s) => ({
      name: s.name,
      labels: s.labels,
      endpoints: [...new Set(endpoints.filter(({ ep }) => labelsMatch(s.labels, ep.labels)).map(({ ep }) => `${ep.address}:${ep.port}`))],
      trafficPolicy: policyText(s.trafficPolicy),
    })),
  };
}

function versionsOf(endpoints: PortEndpoint[]): ServiceDescription['versions'] {
  const byVersion = new Map<string, Set<string>>();
  for (const { ep } of endpoints) {
    const v = ep.labels.version ?? '(no version label)';
    let set = byVersion.get(v);
    if (!set) byVersion.set(v, (set = new Set()));
    set.add(`${ep.address}:${ep.port}`);
  }
  return [...byVersion].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([version, eps]) => ({ version, endpoints: [...eps] }));
}

/** Policies per workload, grouped where they are the same (versions of one service usually are). */
function policiesOf(snap: MeshSnapshot, svc: MeshService, endpoints: PortEndpoint[]): ServiceDescription['policies'] {
  const groups = new Map<string, { workloads: string[] } & WorkloadPolicies>();
  const short = svc.hostname.split('.')[0];
  for (const ep of new Map(endpoints.map(({ ep }) => [ep.workload, ep])).values()) {
    const p = workloadPolicies(snap, { namespace: svc.namespace, labels: ep.labels, serviceAccount: ep.serviceAccount, services: [short] });
    const key = JSON.stringify(p);
    const g = groups.get(key);
    if (g) g.workloads.push(ep.workload);
    else groups.set(key, { workloads: [ep.workload], ...p });
  }
  return [...groups.values()];
}


/** Offline (files, no registry), a Kubernetes service is declared nowhere; if the config names it (a
 * VirtualService or DestinationRule host, a route destination), describe it as a placeholder on
 * `port` (HTTP) with no endpoints, so its rules and routes can still be shown and traced. */
export function withOfflinePlaceholder(snap: MeshSnapshot, name: string, ns: string, port: number): MeshSnapshot {
  if (findService(snap, name, ns)) return snap;
  const dots = name.toLowerCase().split('.');
  const host = dots.length === 2 ? serviceFqdn(dots[0], dots[1], snap.domain) : resolveHost(name, ns, snap.domain);
  const named = (h: string, n: string) => resolveHost(h, n, snap.domain) === host;
  const mentioned =
    snap.config.virtualServices.some((vs) => vs.spec.hosts.some((h) => named(h, vs.metadata.namespace)) || vs.spec.http.some((r) => (r.route ?? []).some((d) => named(d.destination.host, vs.metadata.namespace)))) ||
    snap.config.destinationRules.some((dr) => named(dr.spec.host, dr.metadata.namespace));
  if (!mentioned || host.startsWith('*')) return snap;
  const svcNs = host.endsWith(`.svc.${snap.domain}`) ? host.split('.')[1] : ns;
  const placeholder: MeshService = { hostname: host, namespace: svcNs, ports: [{ port, name: `http-${port}`, protocol: 'HTTP' }], resolution: 'EDS', external: false, origin: `offline placeholder: named in config, declared nowhere in the files (port ${port} assumed; --port)`, identities: [], addresses: [], passthrough: false };
  const services = [...snap.services, placeholder].sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
  return { ...snap, services, serviceByHost: new Map(services.map((s) => [s.hostname, s])) };
}
