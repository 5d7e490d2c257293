// Which kind of xDS client a node is: Weft's own proxy, an Envoy, or a proxyless gRPC client
// (gRPC's xDS resolver in an application, no sidecar). Each kind is served its own composition.
// Told apart the way Istio does (metadata GENERATOR "grpc" marks a proxyless client), and by what
// the clients themselves send: gRPC libraries name themselves in user_agent_name ("gRPC Node Pure
// JS", "gRPC Go", "gRPC C++") and send client_features Envoy does not.
import type { Json, NodeWire } from '../../api/envoy.js';

/** `weft`: `weft proxy` (or a node with Weft's metadata and no other marks); `envoy`: an Envoy;
 * `grpc`: a proxyless gRPC client. */
export type NodeClient = 'weft' | 'envoy' | 'grpc';

/** Sent by gRPC's xDS clients (A27) and by no Envoy: EDS without overprovisioning. */
const GRPC_FEATURE = 'envoy.lb.does_not_support_overprovisioning';

export function nodeClientOf(node: Pick<NodeWire, 'user_agent_name' | 'client_features'>, md: Record<string, Json>): NodeClient {
  const agent = node.user_agent_name ?? '';
  if (md.GENERATOR === 'grpc' || /^grpc/i.test(agent) || (node.client_features ?? []).includes(GRPC_FEATURE)) return 'grpc';
  if (agent === 'envoy') return 'envoy';
  return 'weft';
}

/** Istio's node id, `<type>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>` (a proxyless bootstrap
 * uses type `proxyless`): its IP and namespace, when the id has that form. */
export function istioNodeId(id: string): { ip: string; namespace: string } | undefined {
  const m = /^[a-z]+~([^~]+)~[^~]*~([a-z0-9-]+)\.svc\.[^~]+$/.exec(id);
  return m ? { ip: m[1], namespace: m[2] } : undefined;
}

/** Whether a node's workload joins the registry (and so becomes endpoints of a service): a proxy
 * does; a proxyless client only when it names its service and ports (it is an app, not a sidecar). */
export function registersWorkload(n: { client?: NodeClient; service: string; ports: readonly unknown[] }): boolean {
  if (n.service === '') return false;
  return n.client !== 'grpc' || n.ports.length > 0;
}
