// Which registrations a proven identity covers. Istio binds a sidecar to its pod's service account;
// in universal mode the credential is the token (or the certificate issued for it), so a node may
// register only with the namespace and service account the credential proves. The service name is
// free within them: several services may share a service account (as pods in Kubernetes may), and the
// SPIFFE ID that peers check is the service account's, not the service's.
import { spiffeUri, type SpiffeIdentity } from '../../api/spiffe.js';
import type { ProxyNode } from '../model/proxy-node.js';

/** Undefined when the node's registration is covered by `proven`; else the refusal, naming both. */
export function registrationMismatch(proven: SpiffeIdentity, node: ProxyNode): string | undefined {
  if (node.namespace === proven.namespace && node.serviceAccount === proven.serviceAccount) return undefined;
  const claimed = spiffeUri({ trustDomain: proven.trustDomain, namespace: node.namespace, serviceAccount: node.serviceAccount });
  return `node "${node.id}" registers service "${node.service}" as ${claimed} (metadata NAMESPACE, SERVICE_ACCOUNT) but its credential proves ${spiffeUri(proven)}`;
}
