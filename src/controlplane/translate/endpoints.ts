// EDS: the endpoints of every EDS cluster, filtered by subset labels.
import type { MeshEndpoint, MeshService, MeshSnapshot } from '../model/snapshot.js';
import { endpointKey, labelsMatch } from '../model/snapshot.js';
import { destinationRuleFor, effectivePolicy } from './destination-rules.js';
import { applyLocalityLb, envoyLocality, groupByLocality, type LocalityClient, type LocalityGroup } from './locality.js';
import { outboundClusterName } from './names.js';
import { socketAddress, type XdsResource } from './types.js';

/** The client's locality ('' when unknown) and labels rank and weight locality groups (locality.ts). */
export function clusterLoadAssignments(snap: MeshSnapshot, clientNamespace: string, client: LocalityClient = { locality: '', labels: {} }): XdsResource[] {
  const out: XdsResource[] = [];
  for (const svc of snap.services) {
    if (svc.resolution !== 'EDS') continue;
    const dr = destinationRuleFor(snap, svc.hostname, clientNamespace, svc.namespace);
    for (const port of svc.ports) {
      const all = snap.endpoints.get(endpointKey(svc.hostname, port.port)) ?? [];
      const local = (eps: MeshEndpoint[], subset?: string) => applyLocalityLb(groupByLocality(eps), client, effectivePolicy(dr, port.port, subset));
      out.push(loadAssignment(outboundClusterName(port.port, '', svc.hostname), local(all)));
      for (const subset of dr?.spec.subsets ?? [])
        out.push(loadAssignment(outboundClusterName(port.port, subset.name, svc.hostname), local(all.filter((e) => labelsMatch(subset.labels, e.labels)), subset.name)));
    }
  }
  return out;
}

function loadAssignment(clusterName: string, groups: LocalityGroup[]): XdsResource {
  return { name: clusterName, body: assignmentBody(clusterName, groups) };
}

/** One LocalityLbEndpoints per locality group; locality, its weight and priority only where some
 * endpoint has a locality (a mesh without localities keeps one plain group). */
function assignmentBody(clusterName: string, groups: LocalityGroup[]): Record<string, unknown> {
  const located = groups.some((g) => g.locality);
  return {
    cluster_name: clusterName,
    endpoints: groups
      .filter((g) => g.endpoints.length)
      .map((g) => ({
        ...(g.locality ? { locality: envoyLocality(g.locality) } : {}),
        lb_endpoints: g.endpoints.map((e) => ({
          endpoint: { address: socketAddress(e.address, e.port) },
          health_status: 'HEALTHY',
          load_balancing_weight: { value: e.weight },
        })),
        ...(located ? { load_balancing_weight: { value: g.weight } } : {}),
        ...(g.priority ? { priority: g.priority } : {}),
      })),
  };
}

/** DNS clusters carry their (host name) endpoints inline; the proxy resolves them. */
export function dnsLoadAssignment(snap: MeshSnapshot, svc: MeshService, port: number, clusterName: string): Record<string, unknown> {
  return assignmentBody(clusterName, groupByLocality(snap.endpoints.get(endpointKey(svc.hostname, port)) ?? []));
}
