// The dashboard's per-service view: versions, routes, policies and endpoints of one service, read
// from the snapshot being served, with traffic and what callers' sidecars hold (healthy hosts,
// outlier ejections) from the metrics. A minimal stand-in for describeService(), which was not on
// main when this was written; the page only needs this JSON shape.
import type { ClusterHealthRow, EdgeStats } from '../observe/edges.js';
import { endpointKey, labelsMatch, type MeshSnapshot } from '../model/snapshot.js';
import type { HTTPMatchRequest, HTTPRoute, StringMatch } from '../../config/types.js';

export interface ServiceSummary {
  name: string;
  namespace: string;
  hostname: string;
  versions: string[];
  endpoints: number;
}

const serviceHost = (snap: MeshSnapshot, name: string, namespace: string) => `${name}.${namespace}.svc.${snap.domain}`;
const shortName = (hostname: string) => hostname.split('.')[0];

export function listServices(snap: MeshSnapshot | undefined): ServiceSummary[] {
  if (!snap) return [];
  return snap.services.map((s) => {
    const eps = s.ports.flatMap((p) => snap.endpoints.get(endpointKey(s.hostname, p.port)) ?? []);
    return { name: shortName(s.hostname), namespace: s.namespace, hostname: s.hostname, versions: [...new Set(eps.map((e) => e.labels.version ?? 'unknown'))].sort(), endpoints: eps.length };
  });
}

const matchText = (m: StringMatch): string => ('exact' in m ? `= ${m.exact}` : 'prefix' in m ? `${m.prefix}*` : `~ ${m.regex}`);

function matchSummary(m: HTTPMatchRequest): string {
  const parts: string[] = [];
  if (m.uri) parts.push(`uri ${matchText(m.uri)}`);
  for (const [k, v] of Object.entries(m.headers ?? {})) parts.push(`header ${k} ${matchText(v as StringMatch)}`);
  if (m.sourceLabels) parts.push(`from ${Object.entries(m.sourceLabels).map(([k, v]) => `${k}=${v}`).join(',')}`);
  return parts.join(' & ') || 'any';
}

function routeSummary(r: HTTPRoute, i: number) {
  return {
    index: i,
    name: r.name ?? '',
    match: r.match?.length ? r.match.map(matchSummary).join(' | ') : 'any',
    to: (r.route ?? []).map((d) => ({ host: d.destination.host, subset: d.destination.subset ?? '', weight: d.weight ?? (r.route!.length === 1 ? 100 : 0) })),
    fault: r.fault ? Object.keys(r.fault).join(', ') : '',
    retries: r.retries ? `${r.retries.attempts ?? ''}` : '',
    timeoutMs: r.timeoutMs ?? null,
  };
}

export function serviceView(snap: MeshSnapshot | undefined, name: string, namespace: string, o: { edges: EdgeStats[]; clusters: ClusterHealthRow[]; connected: ReadonlySet<string> }) {
  if (!snap) return undefined;
  const hostname = serviceHost(snap, name, namespace);
  const svc = snap.serviceByHost.get(hostname) ?? snap.services.find((s) => s.hostname === name);
  if (!svc) return undefined;
  const host = svc.hostname;
  const endpoints = svc.ports.flatMap((p) =>
    (snap.endpoints.get(endpointKey(host, p.port)) ?? []).map((e) => ({
      servicePort: p.port,
      address: `${e.address}:${e.port}`,
      version: e.labels.version ?? 'unknown',
      workload: e.workload,
      identity: e.identity ?? '',
      locality: e.locality ?? '',
      // Registered endpoints outlive their proxy's stream for a grace period (proxy-registry.ts).
      registration: o.connected.has(e.workload) ? 'connected' : e.workload.startsWith('WorkloadEntry') || e.workload.startsWith('ServiceEntry') ? 'config' : 'grace period',
    })),
  );
  const labelSets = endpoints.length ? svc.ports.flatMap((p) => (snap.endpoints.get(endpointKey(host, p.port)) ?? []).map((e) => e.labels)) : [];
  const selects = (sel: { matchLabels: Record<string, string> } | undefined, ns: string) =>
    (ns === svc.namespace || ns === snap.mesh.rootNamespace) && (!sel || Object.keys(sel.matchLabels).length === 0 || labelSets.some((l) => labelsMatch(sel.matchLabels, l)));
  const c = snap.config;
  const policies = [
    ...c.authorizationPolicies.filter((p) => selects(p.spec.selector, p.metadata.namespace)).map((p) => ({ kind: 'AuthorizationPolicy', name: `${p.metadata.namespace}/${p.metadata.name}`, summary: `${p.spec.action}, ${p.spec.rules.length} rules` })),
    ...c.peerAuthentications.filter((p) => selects(p.spec.selector, p.metadata.namespace)).map((p) => ({ kind: 'PeerAuthentication', name: `${p.metadata.namespace}/${p.metadata.name}`, summary: `mTLS ${p.spec.mtls?.mode ?? 'UNSET'}` })),
    ...c.requestAuthentications.filter((p) => selects(p.spec.selector, p.metadata.namespace)).map((p) => ({ kind: 'RequestAuthentication', name: `${p.metadata.namespace}/${p.metadata.name}`, summary: `${p.spec.jwtRules.length} JWT rules` })),
  ];
  const inbound = o.edges.filter((e) => e.destination.service === host);
  const versions = [...new Set([...endpoints.map((e) => e.version), ...inbound.map((e) => e.destination.version)])].sort().map((version) => {
    const es = inbound.filter((e) => e.destination.version === version);
    const rps = es.reduce((n, e) => n + e.rps, 0);
    const ok = es.reduce((n, e) => n + (e.successRate ?? 0) * e.rps, 0);
    return { version, endpoints: endpoints.filter((e) => e.version === version).length, rps, successRate: rps > 0 ? ok / rps : null, p99: Math.max(0, ...es.map((e) => e.p99 ?? 0)) || null };
  });
  return {
    name: shortName(host),
    namespace: svc.namespace,
    hostname: host,
    origin: svc.origin,
    ports: svc.ports,
    versions,
    routes: snap.virtualServices.candidates(host).map(({ rule }) => ({ name: `${rule.metadata.namespace}/${rule.metadata.name}`, file: rule.origin.file, http: rule.spec.http.map(routeSummary) })),
    destinationRules: snap.destinationRules.candidates(host).map(({ rule }) => ({
      name: `${rule.metadata.namespace}/${rule.metadata.name}`,
      subsets: rule.spec.subsets.map((s) => ({ name: s.name, labels: s.labels })),
      trafficPolicy: Object.keys(rule.spec.trafficPolicy ?? {}),
    })),
    policies,
    endpoints,
    edges: inbound,
    clusters: clusterHealth(o.clusters.filter((r) => r.cluster.endsWith(`|${host}`))),
  };
}

/** A proxy's node id (`sidecar~ip~name-pid.ns~domain`) or Prometheus instance, short enough for a table. */
const shortProxy = (id: string): string => id.split('~')[2] ?? id;

/** What callers' sidecars hold for each of the service's clusters (Envoy's membership and outlier
 * gauges), one row per cluster: outlier detection is per caller, so ejections name who ejected. */
function clusterHealth(rows: readonly ClusterHealthRow[]) {
  const byCluster = new Map<string, ClusterHealthRow[]>();
  for (const r of rows) {
    if (!byCluster.has(r.cluster)) byCluster.set(r.cluster, []);
    byCluster.get(r.cluster)!.push(r);
  }
  return [...byCluster]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([cluster, rs]) => ({
      cluster,
      subset: cluster.split('|')[2] ?? '',
      callers: rs.length,
      total: Math.max(...rs.map((r) => r.total)),
      // The caller that sees the fewest healthy hosts: what its traffic can reach.
      minHealthy: Math.min(...rs.map((r) => r.healthy)),
      ejectionsActive: rs.reduce((n, r) => n + r.ejectionsActive, 0),
      ejectedBy: rs.filter((r) => r.ejectionsActive > 0).map((r) => `${shortProxy(r.proxy)} (${r.ejectionsActive})`),
    }));
}
