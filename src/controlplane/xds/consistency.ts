// Before a proxy is sent a set of resources, the set must hold together (go-control-plane's
// Snapshot.Consistent): every cluster a route or listener names is in CDS, every EDS cluster has its
// ClusterLoadAssignment, every RDS name a listener uses is in RDS, every secret named over ADS is in
// SDS. A set that fails is not published; the proxy keeps what it has (XdsCache).
import type { XdsType } from '../../api/envoy.js';
import type { XdsResource } from '../translate/types.js';

export type ReferenceKind = 'cluster' | 'endpoints' | 'route' | 'secret';

/** One name a resource depends on, with the resource that names it. */
export interface Reference {
  kind: ReferenceKind;
  name: string;
  from: string;
}

/** Istio's agent serves the workload's own SDS secrets (`default`, `ROOTCA`) through this cluster;
 * they are the proxy's, never the control plane's, to provide. */
import { AGENT_SDS_CLUSTER as PROXY_SDS_CLUSTER } from '../../api/mesh-names.js';
export { PROXY_SDS_CLUSTER };

/** Where each kind of reference must resolve. */
export const TARGET: { readonly [K in ReferenceKind]: XdsType } = { cluster: 'cluster', endpoints: 'endpoint', route: 'route', secret: 'secret' };

/** The names `resources` of `type` depend on, found by walking their bodies once at build time. */
export function referencesOf(type: XdsType, resources: readonly XdsResource[]): Reference[] {
  const out: Reference[] = [];
  for (const r of resources) {
    if (type === 'cluster') {
      const eds = r.body.eds_cluster_config as { service_name?: string } | undefined;
      if (r.body.type === 'EDS' || eds) out.push({ kind: 'endpoints', name: eds?.service_name || r.name, from: r.name });
    }
    walk(r.body, (o) => {
      // Route actions and mirrors name clusters (only routes, virtual hosts and inline route tables do).
      if (type === 'route' || type === 'virtualHost' || type === 'listener') {
        if (typeof o.cluster === 'string') out.push({ kind: 'cluster', name: o.cluster, from: r.name });
        const weighted = (o.weighted_clusters as { clusters?: Array<{ name?: string }> } | undefined)?.clusters;
        for (const c of weighted ?? []) if (c.name) out.push({ kind: 'cluster', name: c.name, from: r.name });
      }
      if (typeof o.route_config_name === 'string') out.push({ kind: 'route', name: o.route_config_name, from: r.name });
      if (o.sds_config !== undefined && typeof o.name === 'string' && !servedByProxy(o.sds_config)) out.push({ kind: 'secret', name: o.name, from: r.name });
    });
  }
  return out;
}

function servedByProxy(sdsConfig: unknown): boolean {
  const services = (sdsConfig as { api_config_source?: { grpc_services?: Array<{ envoy_grpc?: { cluster_name?: string } }> } }).api_config_source?.grpc_services;
  return (services ?? []).some((s) => s.envoy_grpc?.cluster_name === PROXY_SDS_CLUSTER);
}

function walk(v: unknown, visit: (o: Record<string, unknown>) => void): void {
  if (Array.isArray(v)) for (const x of v) walk(x, visit);
  else if (v && typeof v === 'object') {
    visit(v as Record<string, unknown>);
    for (const x of Object.values(v)) walk(x, visit);
  }
}

export interface ConsistencyProblem extends Reference {
  message: string;
}

export interface ConsistencyResult {
  /** References that do not resolve: the set is not published. */
  problems: ConsistencyProblem[];
  /** Route clusters config names that the mesh does not have (a VirtualService to an unknown host or
   * subset): served as Istio does (Envoy answers 503 `NC`), listed for the debug view. */
  dangling: Reference[];
}

/**
 * Checks `refs` against the names each type holds (`holds`). `danglingCluster` tells a cluster that
 * config names but the mesh lacks (tolerated, as in Istio) from one the translator forgot (a problem).
 */
export function checkConsistency(
  holds: (type: XdsType, name: string) => boolean,
  refs: readonly Reference[],
  danglingCluster: (name: string) => boolean,
): ConsistencyResult {
  const problems: ConsistencyProblem[] = [];
  const dangling: Reference[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    if (holds(TARGET[ref.kind], ref.name)) continue;
    const id = `${ref.kind}\0${ref.name}\0${ref.from}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (ref.kind === 'cluster' && danglingCluster(ref.name)) dangling.push(ref);
    else problems.push({ ...ref, message: `${ref.from} names ${ref.kind === 'endpoints' ? 'EDS cluster' : ref.kind} ${JSON.stringify(ref.name)}, which the set does not hold` });
  }
  return { problems, dangling };
}
