// The security policies that apply to one workload, resolved by the same functions the inbound
// translators use (effectivePeerAuthentication, forWorkload, smiAuthorizationPolicies), so what
// describe shows is what the sidecar enforces.
import type { MeshSnapshot } from '../model/snapshot.js';
import { forWorkload } from '../translate/authorization.js';
import { effectivePeerAuthentication } from '../translate/peer-authentication.js';
import { smiAccessInput, smiAuthorizationPolicies } from '../translate/smi-access.js';

export interface WorkloadRef {
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** Services (same namespace) the workload backs, for targetRefs. */
  services: string[];
}

export interface WorkloadPolicies {
  /** Effective mTLS mode, per-port exceptions, and the PeerAuthentications that decided it (narrowest first). */
  mtls: { mode: string; ports: Record<string, string>; from: string[] };
  /** ns/name, action and rule count of each AuthorizationPolicy; SMI TrafficTargets appear as `smi:NAME`, translated. */
  authorization: Array<{ name: string; action: string; rules: number }>;
  /** ns/name and issuers of each RequestAuthentication. */
  requestAuthentication: Array<{ name: string; issuers: string[] }>;
}

export function workloadPolicies(snap: MeshSnapshot, w: WorkloadRef): WorkloadPolicies {
  const root = snap.mesh.rootNamespace;
  const plain = <S>(r: { metadata: { name: string; namespace: string }; spec: S }) => ({ name: r.metadata.name, namespace: r.metadata.namespace, spec: r.spec });
  const pa = effectivePeerAuthentication(snap.config.peerAuthentications, { namespace: w.namespace, labels: w.labels }, root);
  const target = { namespace: w.namespace, labels: w.labels, services: w.services };
  const smi = smiAuthorizationPolicies(smiAccessInput(snap.config), { ...target, serviceAccount: w.serviceAccount || 'default' }, snap.mesh.trustDomain).policies;
  const authz = [...forWorkload(snap.config.authorizationPolicies.map(plain), target, root), ...smi];
  const ras = forWorkload(snap.config.requestAuthentications.map(plain), target, root);
  return {
    mtls: { mode: pa.mode, ports: Object.fromEntries([...pa.ports].map(([p, m]) => [String(p), m])), from: pa.from },
    authorization: authz.map((p) => ({ name: `${p.namespace}/${p.name}`, action: p.spec.action, rules: p.spec.rules.length })),
    requestAuthentication: ras.map((r) => ({ name: `${r.namespace}/${r.name}`, issuers: r.spec.jwtRules.map((j) => j.issuer) })),
  };
}
