// CDS and EDS for proxyless gRPC: the sidecar's outbound clusters and endpoints (one place decides
// subsets, policies and locality weights), reshaped into what gRPC's xDS client validates
// (grpc-js-xds cluster-resource-type.ts, endpoint-resource-type.ts; gRPC A27, A28, A42, A50):
// - lb_policy ROUND_ROBIN or RING_HASH only (MAGLEV hashes like RING_HASH; LEAST_REQUEST and RANDOM
//   become ROUND_ROBIN: grpc-js registers no least-request policy);
// - no transport socket: mTLS for gRPC needs xDS credentials and certificate providers (A29);
// - a DNS service is one LOGICAL_DNS cluster with a single endpoint: gRPC resolves the name itself;
// - ORIGINAL_DST has no meaning without a captured connection: left out;
// - every locality has `locality` and a `load_balancing_weight` (gRPC drops a locality without weight).
import type { MeshSnapshot } from '../../model/snapshot.js';
import { outboundClusters } from '../clusters.js';
import { clusterLoadAssignments } from '../endpoints.js';
import type { LocalityClient } from '../locality.js';
import type { XdsResource } from '../types.js';

type Obj = Record<string, unknown>;

/** Fields gRPC ignores or would reject, and fields of policies it does not run. */
const DROPPED = [
  'transport_socket',
  'transport_socket_matches',
  'typed_extension_protocol_options',
  'common_http_protocol_options',
  'upstream_connection_options',
  'maglev_lb_config',
  'least_request_lb_config',
  'round_robin_lb_config',
] as const;

export function proxylessClusters(snap: MeshSnapshot, clientNamespace: string): XdsResource[] {
  return outboundClusters(snap, clientNamespace).flatMap((c) => {
    const body = grpcCluster(c.body);
    return body ? [{ name: c.name, body }] : [];
  });
}

export function grpcCluster(cluster: Obj): Obj | undefined {
  if (cluster.type === 'ORIGINAL_DST') return undefined;
  const out: Obj = { ...cluster };
  for (const f of DROPPED) delete out[f];
  out.lb_policy = cluster.lb_policy === 'RING_HASH' || cluster.lb_policy === 'MAGLEV' ? 'RING_HASH' : 'ROUND_ROBIN';
  if (cluster.type === 'STRICT_DNS') {
    out.type = 'LOGICAL_DNS';
    out.load_assignment = singleEndpoint(cluster.load_assignment as Obj);
  }
  if (out.outlier_detection) out.outlier_detection = grpcOutlierDetection(out.outlier_detection as Obj);
  return out;
}

/** gRPC ejects by success rate and failure percentage only (A50); Istio's consecutive-error counts
 * have no gRPC form and are left out. Success-rate ejection stays off, as Istio sets it. */
function grpcOutlierDetection(od: Obj): Obj {
  const keep = ['interval', 'base_ejection_time', 'max_ejection_time', 'max_ejection_percent', 'enforcing_success_rate'];
  return Object.fromEntries(Object.entries(od).filter(([k]) => keep.includes(k) || k.startsWith('failure_percentage') || k === 'enforcing_failure_percentage'));
}

/** gRPC's LOGICAL_DNS takes exactly one endpoint: the name to resolve (the first one config lists). */
function singleEndpoint(la: Obj): Obj {
  const groups = (la.endpoints as Obj[] | undefined) ?? [];
  const first = groups.flatMap((g) => (g.lb_endpoints as Obj[]) ?? [])[0];
  return { cluster_name: la.cluster_name, endpoints: first ? [{ locality: {}, lb_endpoints: [first] }] : [] };
}

export function proxylessEndpoints(snap: MeshSnapshot, clientNamespace: string, client: LocalityClient): XdsResource[] {
  return clusterLoadAssignments(snap, clientNamespace, client).map((r) => ({ name: r.name, body: grpcAssignment(r.body) }));
}

export function grpcAssignment(la: Obj): Obj {
  const endpoints = ((la.endpoints as Obj[] | undefined) ?? []).map((g) => ({
    ...g,
    locality: g.locality ?? {},
    load_balancing_weight: g.load_balancing_weight ?? { value: 1 },
  }));
  return { ...la, endpoints };
}
