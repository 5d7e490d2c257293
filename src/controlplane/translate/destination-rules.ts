// Which DestinationRule applies to a service, and its effective policy for a port/subset.
import type { DestinationRule, SimpleLB, TrafficPolicy } from '../../config/types.js';
import type { MeshSnapshot } from '../model/snapshot.js';

/** Istio picks the rule in the client's namespace first, then the service's, then any; an exact host
 * beats a wildcard. */
export function destinationRuleFor(snap: MeshSnapshot, hostname: string, clientNamespace: string, serviceNamespace: string): DestinationRule | undefined {
  let best: { dr: DestinationRule; score: number } | undefined;
  for (const { host, rule: dr } of snap.destinationRules.candidates(hostname)) {
    const ns = dr.metadata.namespace;
    const nsScore = ns === clientNamespace ? 3 : ns === serviceNamespace ? 2 : 1;
    const score = nsScore * 10 + (host === hostname ? 1 : 0);
    if (!best || score > best.score) best = { dr, score };
  }
  return best?.dr;
}

/** Policy for one port of one subset: subset policy over the rule's, port-level over both. */
export function effectivePolicy(dr: DestinationRule | undefined, port: number, subset?: string): TrafficPolicy {
  if (!dr) return {};
  const layers: TrafficPolicy[] = [];
  const addLayer = (p: TrafficPolicy | undefined) => {
    if (!p) return;
    layers.push(p);
    const portLevel = p.portLevelSettings?.find((s) => s.port.number === port);
    if (portLevel) layers.push(portLevel);
  };
  addLayer(dr.spec.trafficPolicy);
  if (subset) addLayer(dr.spec.subsets.find((s) => s.name === subset)?.trafficPolicy);
  const merged: TrafficPolicy = {};
  for (const l of layers) {
    if (l.loadBalancer) merged.loadBalancer = l.loadBalancer;
    if (l.connectionPool) merged.connectionPool = l.connectionPool;
    if (l.outlierDetection) merged.outlierDetection = l.outlierDetection;
    if (l.tls) merged.tls = l.tls;
    if (l.retryBudget) merged.retryBudget = l.retryBudget;
  }
  return merged;
}

export function envoyLbPolicy(simple: SimpleLB | undefined): 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' {
  switch (simple) {
    case 'RANDOM':
      return 'RANDOM';
    case 'ROUND_ROBIN':
      return 'ROUND_ROBIN';
    // Istio's default since 1.14 is LEAST_REQUEST; LEAST_CONN is its deprecated alias.
    default:
      return 'LEAST_REQUEST';
  }
}
