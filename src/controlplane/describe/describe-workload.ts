// `weft describe workload PROXY`: one connected proxy as the control plane sees it — who it is, the
// policies on its inbound side, which subsets of its service it belongs to, and for each service it
// calls that has rules, the VirtualService and DestinationRule it uses (they depend on its namespace).
import type { ProxyNode } from '../model/proxy-node.js';
import { labelsMatch, type MeshSnapshot } from '../model/snapshot.js';
import { serviceFqdn } from '../model/hosts.js';
import { destinationRuleFor } from '../translate/destination-rules.js';
import { virtualServiceFor } from '../translate/routes.js';
import { workloadPolicies, type WorkloadPolicies } from './workload-policies.js';

export interface WorkloadDescription {
  proxy: { id: string; service: string; namespace: string; labels: Record<string, string>; serviceAccount: string; address: string; interceptionMode: string; ports: string[] };
  inbound: { service: string; subsets: string[]; policies: WorkloadPolicies };
  /** Services this proxy can call whose traffic some VirtualService or DestinationRule shapes. */
  outbound: Array<{ service: string; virtualService?: string; destinationRule?: string }>;
}

const id = (r: { metadata: { namespace: string; name: string } }): string => `${r.metadata.namespace}/${r.metadata.name}`;

export function describeWorkload(snap: MeshSnapshot, proxy: ProxyNode): WorkloadDescription {
  const host = serviceFqdn(proxy.service, proxy.namespace, snap.domain);
  const ownDr = destinationRuleFor(snap, host, proxy.namespace, proxy.namespace);
  return {
    proxy: {
      id: proxy.id,
      service: proxy.service,
      namespace: proxy.namespace,
      labels: proxy.labels,
      serviceAccount: proxy.serviceAccount,
      address: proxy.address,
      interceptionMode: proxy.interceptionMode,
      ports: proxy.ports.map((p) => `${p.servicePort}/${p.protocol} → app ${p.appPort} (endpoint ${p.endpointPort})`),
    },
    inbound: {
      service: host,
      subsets: ownDr ? ownDr.spec.subsets.filter((s) => labelsMatch(s.labels, proxy.labels)).map((s) => `${id(ownDr)}/${s.name}`) : [],
      policies: workloadPolicies(snap, { namespace: proxy.namespace, labels: proxy.labels, serviceAccount: proxy.serviceAccount, services: [proxy.service] }),
    },
    outbound: snap.services.flatMap((svc) => {
      const vs = virtualServiceFor(snap, svc.hostname, proxy.namespace);
      const dr = destinationRuleFor(snap, svc.hostname, proxy.namespace, svc.namespace);
      if (!vs && !dr) return [];
      return [{ service: svc.hostname, ...(vs ? { virtualService: id(vs) } : {}), ...(dr ? { destinationRule: id(dr) } : {}) }];
    }),
  };
}
