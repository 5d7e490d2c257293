// Config that loads but does not do what it says, found across resources for `weft analyze` (as
// warnings: the config is valid and is served). A STRICT PeerAuthentication that selects a workload
// without a sidecar (a WorkloadEntry, or an endpoint of a MESH_INTERNAL ServiceEntry, lacking the
// security.istio.io/tlsMode=istio label): nothing there can refuse plaintext, and meshed clients send
// it plaintext (auto mTLS follows that label), so STRICT is not enforced. Istio's own resolution
// (src/controlplane/translate/peer-authentication.ts) decides which policy applies, so analyze and
// the proxies cannot disagree.
import { TLS_MODE_LABEL } from '../api/mesh-names.js';
import { effectivePeerAuthentication } from '../controlplane/translate/peer-authentication.js';
import { defaultMeshConfig } from './mesh-config.js';
import type { ConfigError, ConfigSet, PeerAuthentication, WorkloadEntrySpec } from './types.js';
import { resourceIdentity } from './validate/resource.js';

interface NamedWorkload {
  what: string;
  namespace: string;
  spec: WorkloadEntrySpec;
}

function workloadsWithoutSidecar(config: ConfigSet): NamedWorkload[] {
  const out: NamedWorkload[] = [];
  for (const we of config.workloadEntries) out.push({ what: `WorkloadEntry ${we.metadata.namespace}/${we.metadata.name}`, namespace: we.metadata.namespace, spec: we.spec });
  for (const se of config.serviceEntries) {
    if (se.spec.location !== 'MESH_INTERNAL') continue;
    se.spec.endpoints.forEach((ep, i) => out.push({ what: `ServiceEntry ${se.metadata.namespace}/${se.metadata.name} endpoint ${ep.address} (spec.endpoints[${i}])`, namespace: se.metadata.namespace, spec: ep }));
  }
  return out.filter((w) => w.spec.labels[TLS_MODE_LABEL] !== 'istio');
}

function warning(pa: PeerAuthentication, path: string, message: string): ConfigError {
  return {
    code: 'WEFT_E_STRICT_WITHOUT_SIDECAR',
    file: pa.origin.file,
    document: pa.origin.document,
    ...(pa.origin.line !== undefined ? { line: pa.origin.line } : {}),
    resource: resourceIdentity('PeerAuthentication', pa.metadata.namespace, pa.metadata.name),
    path,
    message,
  };
}

export function policyWarnings(config: ConfigSet, rootNamespace = defaultMeshConfig.rootNamespace): ConfigError[] {
  const byKey = new Map(config.peerAuthentications.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  const out: ConfigError[] = [];
  for (const w of workloadsWithoutSidecar(config)) {
    const eff = effectivePeerAuthentication(config.peerAuthentications, { namespace: w.namespace, labels: w.spec.labels }, rootNamespace);
    const strictPorts = [...eff.ports].filter(([, m]) => m === 'STRICT').map(([p]) => p);
    if (eff.mode !== 'STRICT' && strictPorts.length === 0) continue;
    // The most specific policy that decided it is the one to fix.
    const pa = eff.from.map((k) => byKey.get(k)).find((p): p is PeerAuthentication => p !== undefined);
    if (!pa) continue;
    const ports = eff.mode === 'STRICT' ? '' : ` on port${strictPorts.length > 1 ? 's' : ''} ${strictPorts.join(', ')}`;
    const path = eff.mode === 'STRICT' ? 'spec.mtls.mode' : `spec.portLevelMtls.${strictPorts[0]}.mode`;
    out.push(warning(pa, path, `STRICT${ports} selects ${w.what}, which has no sidecar (no ${TLS_MODE_LABEL}=istio label): nothing there refuses plaintext and meshed clients send it plaintext, so STRICT is not enforced for it`));
  }
  return out;
}
