// EDS: the endpoints of every EDS cluster, filtered by subset labels.
import { toStruct } from '../../api/envoy.js';
import { ENDPOINT_METADATA_KEY, ENDPOINT_WORKLOAD_FIELD, formatEndpointWorkload } from '../../api/peer-metadata.js';
import type { MeshEndpoint, MeshService, MeshSnapshot } from '../model/snapshot.js';
import { endpointKey, labelsMatch } from '../model/snapshot.js';
import { destinationRuleFor, effectivePolicy } from './destination-rules.js';
import { isPassthrough } from './load-balancing.js';
import { applyLocalityLb, envoyLocality, groupByLocality, type LocalityClient, type LocalityGroup } from './locality.js';
import { TLS_MODE_ISTIO, TRANSPORT_SOCKET_MATCH_KEY } from './mtls.js';
import { outboundClusterName } from './names.js';
import { effectivePeerAuthentication, modeForPort } from './peer-authentication.js';
import { socketAddress, type XdsResource } from './types.js';

/** The client's locality ('' when unknown) and labels rank and weight locality groups (locality.ts). */
export function clusterLoadAssignments(snap: MeshSnapshot, clientNamespace: string, client: LocalityClient = { locality: '', labels: {} }): XdsResource[] {
  const out: XdsResource[] = [];
  for (const svc of snap.services) {
    if (svc.resolution !== 'EDS') continue;
    const dr = destinationRuleFor(snap, svc.hostname, clientNamespace, svc.namespace);
    for (const port of svc.ports) {
      const all = snap.endpoints.get(endpointKey(svc.hostname, port.port)) ?? [];
      const mtls = mtlsEndpoints(snap, svc);
      const add = (subset: string, eps: MeshEndpoint[]) => {
        const policy = effectivePolicy(dr, port.port, subset || undefined);
        // A PASSTHROUGH (ORIGINAL_DST) cluster has no endpoints of its own to send.
        if (!isPassthrough(policy)) out.push(loadAssignment(outboundClusterName(port.port, subset, svc.hostname), applyLocalityLb(groupByLocality(eps), client, policy), mtls));
      };
      add('', all);
      for (const subset of dr?.spec.subsets ?? []) add(subset.name, all.filter((e) => labelsMatch(subset.labels, e.labels)));
    }
  }
  return out;
}

function loadAssignment(clusterName: string, groups: LocalityGroup[], mtls: (e: MeshEndpoint) => boolean): XdsResource {
  return { name: clusterName, body: assignmentBody(clusterName, groups, mtls) };
}

/** Which endpoints a client sends mTLS to (auto mTLS reads this metadata): those whose sidecar holds
 * an identity, unless the endpoint's own PeerAuthentication is DISABLE for its port (Istio drops the
 * tlsMode there, so clients do not send TLS that the server would not take). */
function mtlsEndpoints(snap: MeshSnapshot, svc: MeshService): (e: MeshEndpoint) => boolean {
  const policies = snap.config.peerAuthentications;
  if (policies.length === 0) return (e) => e.identity !== undefined;
  // Endpoints of one workload share labels: resolve each label set once per service.
  const byLabels = new Map<string, ReturnType<typeof effectivePeerAuthentication>>();
  return (e) => {
    if (e.identity === undefined) return false;
    const key = JSON.stringify(e.labels);
    let effective = byLabels.get(key);
    if (!effective) byLabels.set(key, (effective = effectivePeerAuthentication(policies, { namespace: svc.namespace, labels: e.labels }, snap.mesh.rootNamespace)));
    return modeForPort(effective, e.targetPort ?? e.port) !== 'DISABLE';
  };
}

const NO_MTLS = (): boolean => false;

/** An endpoint's metadata: the transport socket match for auto mTLS and, as Istio sends it, its
 * workload under filter_metadata.istio (the client's metrics name the destination with it). */
function endpointMetadata(e: MeshEndpoint, mtls: boolean): { metadata?: { filter_metadata: Record<string, unknown> } } {
  if (!mtls && !e.peer) return {};
  const fm: Record<string, unknown> = {};
  if (mtls) fm[TRANSPORT_SOCKET_MATCH_KEY] = TLS_MODE_ISTIO;
  if (e.peer) fm[ENDPOINT_METADATA_KEY] = toStruct({ [ENDPOINT_WORKLOAD_FIELD]: formatEndpointWorkload(e.peer) });
  return { metadata: { filter_metadata: fm } };
}

/** One LocalityLbEndpoints per locality group; locality, its weight and priority only where some
 * endpoint has a locality (a mesh without localities keeps one plain group). */
function assignmentBody(clusterName: string, groups: LocalityGroup[], mtls: (e: MeshEndpoint) => boolean): Record<string, unknown> {
  const located = groups.some((g) => g.locality);
  return {
    cluster_name: clusterName,
    endpoints: groups
      .filter((g) => g.endpoints.length)
      .map((g) => ({
        ...(g.locality ? { locality: envoyLocality(g.locality) } : {}),
        lb_endpoints: g.endpoints.map((e) => ({
          endpoint: { address: socketAddress(e.address, e.port) },
          ...endpointMetadata(e, mtls(e)),
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
  return assignmentBody(clusterName, groupByLocality(snap.endpoints.get(endpointKey(svc.hostname, port)) ?? []), NO_MTLS);
}
