// EDS: the endpoints of every EDS cluster, filtered by subset labels.
import type { MeshEndpoint, MeshService, MeshSnapshot } from '../model/snapshot.js';
import { endpointKey, labelsMatch } from '../model/snapshot.js';
import { destinationRuleFor } from './destination-rules.js';
import { outboundClusterName } from './names.js';
import { socketAddress, type XdsResource } from './types.js';

export function clusterLoadAssignments(snap: MeshSnapshot, clientNamespace: string): XdsResource[] {
  const out: XdsResource[] = [];
  for (const svc of snap.services) {
    if (svc.resolution !== 'EDS') continue;
    const dr = destinationRuleFor(snap, svc.hostname, clientNamespace, svc.namespace);
    for (const port of svc.ports) {
      const all = snap.endpoints.get(endpointKey(svc.hostname, port.port)) ?? [];
      out.push(loadAssignment(outboundClusterName(port.port, '', svc.hostname), all));
      for (const subset of dr?.spec.subsets ?? [])
        out.push(loadAssignment(outboundClusterName(port.port, subset.name, svc.hostname), all.filter((e) => labelsMatch(subset.labels, e.labels))));
    }
  }
  return out;
}

function loadAssignment(clusterName: string, endpoints: MeshEndpoint[]): XdsResource {
  return { name: clusterName, body: assignmentBody(clusterName, endpoints) };
}

function assignmentBody(clusterName: string, endpoints: MeshEndpoint[]): Record<string, unknown> {
  return {
    cluster_name: clusterName,
    endpoints: endpoints.length
      ? [
          {
            lb_endpoints: endpoints.map((e) => ({
              endpoint: { address: socketAddress(e.address, e.port) },
              health_status: 'HEALTHY',
              load_balancing_weight: { value: e.weight },
            })),
          },
        ]
      : [],
  };
}

/** DNS clusters carry their (host name) endpoints inline; the proxy resolves them. */
export function dnsLoadAssignment(snap: MeshSnapshot, svc: MeshService, port: number, clusterName: string): Record<string, unknown> {
  return assignmentBody(clusterName, snap.endpoints.get(endpointKey(svc.hostname, port)) ?? []);
}
