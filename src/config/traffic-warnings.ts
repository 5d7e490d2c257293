// Traffic config that loads but does not route where it says — the checks Istio users know from
// istioctl analyze (codes in src/config/errors.ts name their IST01xx counterparts): a route to a host
// or subset that does not exist, a DestinationRule whose host or subset has no workloads, two
// DestinationRules fighting over one host, a rule no request can reach.
//
// What exists comes from an inventory: the control plane's registry (in the control plane, or
// `weft analyze --control-plane`), else only what the files declare (ServiceEntries, WorkloadEntries).
// Offline, a Kubernetes-style name (`*.svc.<domain>`) may well exist in a registry the files cannot
// show, so host and workload checks skip those names unless the files' WorkloadEntries back them;
// a finding that needs the registry to be sure is a warning offline, an error only with it.
import { resolveHost, serviceFqdn, hostMatches } from '../controlplane/model/hosts.js';
import { endpointKey, labelsMatch, type MeshSnapshot } from '../controlplane/model/snapshot.js';
import { shadowedMatches, shadowMessage } from '../controlplane/describe/shadowing.js';
import { warning } from './policy-warnings.js';
import type { ConfigError, DestinationRule, MeshResource, VirtualService } from './types.js';

/** Services and their endpoints' labels, as far as the analysis can know them. */
export interface Inventory {
  /** true: a registry was consulted (every service is known); false: only the files. */
  registry: boolean;
  hosts: ReadonlySet<string>;
  /** ServiceEntry wildcard hosts (`*.example.com`). */
  wildcards: readonly string[];
  /** Endpoint label sets per host. */
  labels: ReadonlyMap<string, ReadonlyArray<Record<string, string>>>;
}

/** Registry data from elsewhere (the control plane's /debug/registryz), merged with the snapshot's. */
export interface RegistryData {
  services: ReadonlyArray<{ hostname: string }>;
  endpoints: Readonly<Record<string, ReadonlyArray<{ labels: Record<string, string> }>>>;
}

export function inventoryOf(snap: MeshSnapshot, registry: boolean, extra?: RegistryData): Inventory {
  const hosts = new Set(snap.services.map((s) => s.hostname));
  const labels = new Map<string, Array<Record<string, string>>>();
  const add = (host: string, l: Record<string, string>) => {
    let list = labels.get(host);
    if (!list) labels.set(host, (list = []));
    list.push(l);
  };
  for (const s of snap.services) for (const p of s.ports) for (const e of snap.endpoints.get(endpointKey(s.hostname, p.port)) ?? []) add(s.hostname, e.labels);
  // Offline, a WorkloadEntry with an `app` label stands for its Kubernetes Service (as the snapshot joins it).
  for (const we of snap.config.workloadEntries) {
    const app = we.spec.labels.app ?? we.metadata.labels.app;
    if (!app) continue;
    const host = serviceFqdn(app, we.metadata.namespace, snap.domain);
    hosts.add(host);
    add(host, we.spec.labels);
  }
  for (const s of extra?.services ?? []) hosts.add(s.hostname);
  for (const [key, eps] of Object.entries(extra?.endpoints ?? {})) for (const e of eps) add(key.slice(0, key.lastIndexOf('|')), e.labels);
  const wildcards = snap.config.serviceEntries.flatMap((se) => se.spec.hosts.map((h) => resolveHost(h, se.metadata.namespace, snap.domain)).filter((h) => h.startsWith('*')));
  return { registry, hosts, wildcards, labels };
}

const istio = {
  notFound: 'IST0101 ReferencedResourceNotFound',
  unknownDrHost: 'IST0174 UnknownDestinationRuleHost',
  subsetNoPods: 'IST0173 DestinationRuleSubsetNotSelectPods',
  ineffective: 'IST0131 VirtualServiceIneffectiveMatch',
} as const;

function finding(r: MeshResource, code: Parameters<typeof warning>[1], path: string, message: string, level: 'error' | 'warning', istioCode?: string): ConfigError {
  return { ...warning(r, code, path, message), level, ...(istioCode ? { istio: istioCode } : {}) };
}

export function trafficWarnings(snap: MeshSnapshot, inv: Inventory): ConfigError[] {
  return [...routeTargets(snap, inv), ...destinationRuleTargets(snap, inv), ...conflictingDestinationRules(snap), ...unreachableRules(snap.config.virtualServices)];
}

/** Can the analysis tell whether `host` exists? Offline, cluster-domain names may be in the registry. */
function decidable(host: string, inv: Inventory, domain: string): boolean {
  return inv.registry || inv.hosts.has(host) || !host.endsWith(`.svc.${domain}`);
}

const exists = (host: string, inv: Inventory): boolean => inv.hosts.has(host) || inv.wildcards.some((w) => hostMatches(w, host));

function routeTargets(snap: MeshSnapshot, inv: Inventory): ConfigError[] {
  const out: ConfigError[] = [];
  for (const vs of snap.config.virtualServices) {
    vs.spec.http.forEach((rule, i) => {
      const targets = [
        ...(rule.route ?? []).map((d, j) => ({ d: d.destination, path: `spec.http[${i}].route[${j}].destination` })),
        ...(rule.mirrors ?? []).map((m, j) => ({ d: m.destination, path: `spec.http[${i}].mirrors[${j}]` })),
      ];
      for (const { d, path } of targets) out.push(...destinationProblems(snap, inv, vs, d.host, d.subset, path));
    });
  }
  return out;
}

function destinationProblems(snap: MeshSnapshot, inv: Inventory, vs: VirtualService, rawHost: string, subset: string | undefined, path: string): ConfigError[] {
  const host = resolveHost(rawHost, vs.metadata.namespace, snap.domain);
  if (host.startsWith('*')) return [];
  if (!exists(host, inv) && decidable(host, inv, snap.domain)) {
    const level = inv.registry ? 'error' : 'warning';
    const where = inv.registry ? 'no service in the registry and no ServiceEntry declares it' : 'no ServiceEntry or WorkloadEntry in the files declares it (offline: no registry consulted)';
    return [finding(vs, 'WEFT_E_HOST_NOT_FOUND', `${path}.host`, `referenced host not found: "${rawHost}" (${host}): ${where}; requests to it get 503 (NC)`, level, istio.notFound)];
  }
  if (!subset) return [];
  const drs = snap.destinationRules.candidates(host).map((c) => c.rule);
  if (drs.some((dr) => dr.spec.subsets.some((s) => s.name === subset))) return [];
  // Without any DestinationRule for the host in the files, offline cannot tell (it may be elsewhere).
  if (drs.length === 0 && !inv.registry) return [];
  const why = drs.length === 0 ? `no DestinationRule covers ${host}` : `DestinationRule ${drs.map((d) => `${d.metadata.namespace}/${d.metadata.name}`).join(', ')} defines ${drs.flatMap((d) => d.spec.subsets.map((s) => s.name)).join(', ') || 'no subsets'}`;
  return [finding(vs, 'WEFT_E_SUBSET_NOT_FOUND', `${path}.subset`, `referenced host+subset in DestinationRule not found: "${host}+${subset}" (${why}); requests to it get 503 (NC)`, 'error', istio.notFound)];
}

function destinationRuleTargets(snap: MeshSnapshot, inv: Inventory): ConfigError[] {
  const out: ConfigError[] = [];
  for (const dr of snap.config.destinationRules) {
    const host = resolveHost(dr.spec.host, dr.metadata.namespace, snap.domain);
    if (host.startsWith('*') || !decidable(host, inv, snap.domain)) continue;
    if (!exists(host, inv)) {
      out.push(finding(dr, 'WEFT_E_DR_HOST_UNKNOWN', 'spec.host', `the host ${dr.spec.host} (${host}) does not match any service in the mesh${inv.registry ? '' : ' (offline: only ServiceEntries and WorkloadEntries in the files were looked at)'}`, 'warning', istio.unknownDrHost));
      continue;
    }
    const labels = inv.labels.get(host) ?? [];
    if (labels.length === 0) {
      out.push(finding(dr, 'WEFT_E_DR_NO_WORKLOADS', 'spec.host', `${host} has no workloads${inv.registry ? ' registered' : ' in the files'}: the rule has nothing to apply to yet`, 'warning'));
      continue;
    }
    dr.spec.subsets.forEach((s, i) => {
      if (!labels.some((l) => labelsMatch(s.labels, l)))
        out.push(finding(dr, 'WEFT_E_DR_NO_WORKLOADS', `spec.subsets[${i}].labels`, `subset ${s.name} (${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',')}) selects none of ${host}'s ${labels.length} endpoint${labels.length === 1 ? '' : 's'}: requests routed to it get 503 (UH)`, 'warning', istio.subsetNoPods));
    });
  }
  return out;
}

/** Same namespace, same resolved host, same workloadSelector: only the first in config order applies. */
function conflictingDestinationRules(snap: MeshSnapshot): ConfigError[] {
  const first = new Map<string, DestinationRule>();
  const out: ConfigError[] = [];
  for (const dr of snap.config.destinationRules) {
    const key = JSON.stringify([dr.metadata.namespace, resolveHost(dr.spec.host, dr.metadata.namespace, snap.domain), dr.spec.workloadSelector?.matchLabels ?? null]);
    const winner = first.get(key);
    if (!winner) first.set(key, dr);
    else out.push(finding(dr, 'WEFT_E_DR_CONFLICT', 'spec.host', `DestinationRule ${winner.metadata.namespace}/${winner.metadata.name} (${winner.origin.file}) already covers ${dr.spec.host} in namespace ${dr.metadata.namespace} for the same workloads; only that one applies and this one is ignored: merge them`, 'warning'));
  }
  return out;
}

function unreachableRules(vss: readonly VirtualService[]): ConfigError[] {
  return vss.flatMap((vs) => shadowedMatches(vs).map((s) => finding(vs, 'WEFT_E_RULE_UNREACHABLE', s.path, shadowMessage(s), 'warning', istio.ineffective)));
}
