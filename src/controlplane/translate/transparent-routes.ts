// RDS for a captured (INTERCEPTION_MODE REDIRECT) sidecar: Istio's route table per HTTP port, named
// by the port ("9080"), which the `0.0.0.0_9080` listener's HCM asks for. The app called
// `http://reviews:9080`, so the Host names the service and the original destination port picks the
// table: every service with an HTTP port 9080 has a virtual host in "9080", answering to its
// aliases and VIPs with and without the port. A Host no service owns meets the outbound traffic
// policy: ALLOW_ANY sends it on to where the app was connecting (PassthroughCluster), REGISTRY_ONLY
// answers 502 (Istio's `allow_any` and `block_all` virtual hosts).
import type { OutboundTrafficPolicyMode } from '../../config/mesh-config.js';
import { hostAliases } from '../model/hosts.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshService, MeshSnapshot } from '../model/snapshot.js';
import { isHttpProtocol, PASSTHROUGH_CLUSTER, portRouteName } from './names.js';
import { serviceVirtualHost } from './routes.js';
import { duration, type XdsResource } from './types.js';

/** The HTTP ports of the mesh's services, ascending: one listener and one route table each. */
export function httpServicePorts(snap: Pick<MeshSnapshot, 'services'>): number[] {
  const ports = new Set<number>();
  for (const svc of snap.services) for (const p of svc.ports) if (isHttpProtocol(p.protocol)) ports.add(p.port);
  return [...ports].sort((a, b) => a - b);
}

/** A VIP given as a single address (a CIDR range names no Host). */
export const singleAddresses = (svc: Pick<MeshService, 'addresses'>): string[] => svc.addresses.filter((a) => !a.includes('/'));

export function transparentRouteConfigs(snap: MeshSnapshot, client: Pick<ProxyNode, 'namespace' | 'labels'>): XdsResource[] {
  return httpServicePorts(snap).map((port) => {
    const virtual_hosts: Record<string, unknown>[] = [];
    for (const svc of snap.services) {
      if (!svc.ports.some((p) => p.port === port && isHttpProtocol(p.protocol))) continue;
      const names = [...hostAliases(svc.hostname, client.namespace, snap.domain), ...singleAddresses(svc)];
      virtual_hosts.push(serviceVirtualHost(snap, client, svc, port, names.flatMap((n) => [n, `${n}:${port}`])));
    }
    virtual_hosts.push(unknownHostVirtualHost(snap.mesh.outboundTrafficPolicy));
    const name = portRouteName(port);
    return { name, body: { name, virtual_hosts, validate_clusters: { value: false } } };
  });
}

/** Istio's catch-all virtual host of a port's table, per outboundTrafficPolicy.mode. */
function unknownHostVirtualHost(mode: OutboundTrafficPolicyMode): Record<string, unknown> {
  if (mode === 'REGISTRY_ONLY') {
    return { name: 'block_all', domains: ['*'], routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }] };
  }
  return { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: PASSTHROUGH_CLUSTER, timeout: duration(0) } }] };
}
