// Config that loads but does not do what it says, found across resources for `weft analyze` (as
// warnings: the config is valid and is served). An SMI TrafficTarget part the translator leaves out
// (a route or match it names is missing, a UDPRoute, a regex that is not an exact/prefix/suffix
// form): the translator's own per-target resolution reports it. A STRICT PeerAuthentication that selects a workload
// without a sidecar (a WorkloadEntry, or an endpoint of a MESH_INTERNAL ServiceEntry, lacking the
// security.istio.io/tlsMode=istio label): nothing there can refuse plaintext, and meshed clients send
// it plaintext (auto mTLS follows that label), so STRICT is not enforced. Istio's own resolution
// (src/controlplane/translate/peer-authentication.ts) decides which policy applies, so analyze and
// the proxies cannot disagree.
import { TLS_MODE_LABEL } from '../api/mesh-names.js';
import { effectivePeerAuthentication } from '../controlplane/translate/peer-authentication.js';
import { proxylessRouteNotes } from '../controlplane/translate/proxyless/route-support.js';
import { smiAccessInput, trafficTargetRules } from '../controlplane/translate/smi-access.js';
import type { ConfigErrorCode } from './errors.js';
import { defaultMeshConfig } from './mesh-config.js';
import type { ConfigError, ConfigSet, MeshResource, PeerAuthentication, WorkloadEntrySpec } from './types.js';
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

export function warning(r: MeshResource, code: ConfigErrorCode, path: string, message: string): ConfigError {
  return {
    code,
    file: r.origin.file,
    document: r.origin.document,
    ...(r.origin.line !== undefined ? { line: r.origin.line } : {}),
    resource: resourceIdentity(r.kind, r.metadata.namespace, r.metadata.name),
    path,
    message,
  };
}

function smiWarnings(config: ConfigSet): ConfigError[] {
  const input = smiAccessInput(config);
  return config.trafficTargets.flatMap((t, i) =>
    trafficTargetRules(input.targets[i], input).problems.map((p) => warning(t, 'WEFT_E_SMI_NOT_ENFORCED', p.path, p.message)),
  );
}

export function policyWarnings(config: ConfigSet, rootNamespace = defaultMeshConfig.rootNamespace): ConfigError[] {
  return [...smiWarnings(config), ...strictWithoutSidecar(config, rootNamespace), ...proxylessWarnings(config)];
}

/** Mesh VirtualService routes that proxyless gRPC clients are served differently (or not at all). */
function proxylessWarnings(config: ConfigSet): ConfigError[] {
  return config.virtualServices
    .filter((vs) => vs.spec.gateways.length === 0 || vs.spec.gateways.includes('mesh'))
    .flatMap((vs) => vs.spec.http.flatMap((r, i) => proxylessRouteNotes(r).map((n) => warning(vs, 'WEFT_E_PROXYLESS_ROUTE', `spec.http[${i}].${n.path}`, n.message))));
}

function strictWithoutSidecar(config: ConfigSet, rootNamespace: string): ConfigError[] {
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
    out.push(warning(pa, 'WEFT_E_STRICT_WITHOUT_SIDECAR', path, `STRICT${ports} selects ${w.what}, which has no sidecar (no ${TLS_MODE_LABEL}=istio label): nothing there refuses plaintext and meshed clients send it plaintext, so STRICT is not enforced for it`));
  }
  return out;
}
