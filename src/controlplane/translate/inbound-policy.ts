// What one workload's inbound chains enforce, resolved once per workload: the JWT filter
// (RequestAuthentication) and the RBAC filters of every AuthorizationPolicy and SMI TrafficTarget
// that applies to it. The HTTP chain takes `http` (JWT first: it fills what RBAC's requestPrincipals
// and request.auth.* read, then RBAC per action); a TCP chain takes `network` (RBAC only).
import type { MeshConfig } from '../../config/mesh-config.js';
import type { ProxyNode } from '../model/proxy-node.js';
import { jwtAuthnFilter, type RequestAuthenticationResource } from './authentication.js';
import { authorizationFilters, type AuthorizationPolicyResource } from './authorization.js';
import { NO_SMI_ACCESS, smiAuthorizationPolicies, type SmiAccessInput } from './smi-access.js';

/** The policy config of the mesh that inbound chains read. */
export interface InboundPolicyInputs {
  authorizationPolicies?: readonly AuthorizationPolicyResource[];
  requestAuthentications?: readonly RequestAuthenticationResource[];
  /** SMI Traffic Access Control: TrafficTargets and what they name. */
  smiAccess?: SmiAccessInput;
  /** Key sets fetched for jwksUris. */
  jwks?: ReadonlyMap<string, string>;
  /** Problems of policies left out (logged by the caller). */
  onPolicyError?: (message: string) => void;
}

export interface InboundPolicyFilters {
  /** http_filters before the router. */
  http: unknown[];
  /** Network filters before the terminal tcp_proxy. */
  network: unknown[];
}

/** `listenerPort`: the inbound listener takes the workload port's connections on a port of its own
 * (explicit mode), so policy ports are matched as that port (AuthzOptions.listenerPort). */
export function inboundPolicyFilters(proxy: ProxyNode, mesh: MeshConfig, inputs: InboundPolicyInputs, listenerPort?: { workloadPort: number; listenerPort: number }): InboundPolicyFilters {
  const workload = { namespace: proxy.namespace, labels: proxy.labels, services: [proxy.service] };
  const jwks = inputs.jwks;
  const jwt = jwtAuthnFilter(inputs.requestAuthentications ?? [], workload, { rootNamespace: mesh.rootNamespace, jwksFor: (uri) => jwks?.get(uri) });
  const smi = smiAuthorizationPolicies(inputs.smiAccess ?? NO_SMI_ACCESS, { ...workload, serviceAccount: proxy.serviceAccount || 'default' }, mesh.trustDomain);
  const authz = authorizationFilters([...(inputs.authorizationPolicies ?? []), ...smi.policies], workload, { rootNamespace: mesh.rootNamespace, ...(listenerPort ? { listenerPort } : {}) });
  for (const e of [...smi.errors, ...authz.errors]) inputs.onPolicyError?.(e);
  return { http: [...(jwt ? [jwt] : []), ...authz.http], network: authz.network };
}
