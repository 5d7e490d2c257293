// Which mTLS mode a workload's inbound port takes, from the PeerAuthentications that apply to it,
// as Istio resolves them: the workload's own policy (selector matches its labels, in its namespace)
// over its namespace's (no selector) over the mesh's (no selector, in the root namespace); where
// several of one level apply, the oldest wins (creation time, then name — Weft has no creation
// time for file config, so the name decides). UNSET inherits from the level above; the mesh's
// default is PERMISSIVE. A port-level mode overrides the workload's for that port (workload port =
// the app's port, Istio's targetPort), and its UNSET inherits the workload's effective mode.
import { defaultMeshConfig } from '../../config/mesh-config.js';
import type { Meta } from '../../config/types.js';
import type { MutualTlsMode, PeerAuthenticationSpec } from '../../config/security-types.js';

export interface PeerAuthenticationLike {
  metadata: Meta;
  spec: PeerAuthenticationSpec;
}

export interface WorkloadRef {
  namespace: string;
  labels: Record<string, string>;
}

/** The mode that is enforced: UNSET is resolved away. */
export type EffectiveMtlsMode = Exclude<MutualTlsMode, 'UNSET'>;

export interface EffectivePeerAuthentication {
  mode: EffectiveMtlsMode;
  /** app port → mode, where a port-level setting differs from `mode`. */
  ports: ReadonlyMap<number, EffectiveMtlsMode>;
  /** "ns/name" of each policy that decided something, most specific first (for describe/analyze). */
  from: string[];
}

/** Istio's root namespace unless the mesh config names another. */
const DEFAULT_ROOT_NAMESPACE = defaultMeshConfig.rootNamespace;

const byAge = (a: PeerAuthenticationLike, b: PeerAuthenticationLike): number => {
  const ta = a.metadata.annotations?.['weft.dev/creation-timestamp'] ?? '';
  const tb = b.metadata.annotations?.['weft.dev/creation-timestamp'] ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
};

function selects(spec: PeerAuthenticationSpec, labels: Record<string, string>): boolean {
  const sel = spec.selector?.matchLabels;
  if (!sel || Object.keys(sel).length === 0) return false;
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

const isNamespaceWide = (spec: PeerAuthenticationSpec): boolean => !spec.selector || Object.keys(spec.selector.matchLabels).length === 0;

export function effectivePeerAuthentication(
  policies: readonly PeerAuthenticationLike[],
  workload: WorkloadRef,
  rootNamespace = DEFAULT_ROOT_NAMESPACE,
): EffectivePeerAuthentication {
  const sorted = [...policies].sort(byAge);
  const own = sorted.find((p) => p.metadata.namespace === workload.namespace && selects(p.spec, workload.labels));
  const ns = sorted.find((p) => p.metadata.namespace === workload.namespace && isNamespaceWide(p.spec));
  const mesh = sorted.find((p) => p.metadata.namespace === rootNamespace && isNamespaceWide(p.spec));
  const from: string[] = [];
  let mode: EffectiveMtlsMode = 'PERMISSIVE';
  // From the widest to the narrowest: each level that sets a mode overrides the one above.
  for (const p of [mesh, ns === mesh ? undefined : ns, own]) {
    const m = p?.spec.mtls?.mode;
    if (p && m && m !== 'UNSET') {
      mode = m;
      from.unshift(`${p.metadata.namespace}/${p.metadata.name}`);
    }
  }
  const ports = new Map<number, EffectiveMtlsMode>();
  // Port-level modes count only on a workload policy (Istio ignores them without a selector).
  for (const [port, setting] of Object.entries(own?.spec.portLevelMtls ?? {})) {
    if (setting.mode === 'UNSET' || setting.mode === mode) continue;
    ports.set(Number(port), setting.mode);
    if (own && !from.includes(`${own.metadata.namespace}/${own.metadata.name}`)) from.unshift(`${own.metadata.namespace}/${own.metadata.name}`);
  }
  return { mode, ports, from };
}

export function modeForPort(e: EffectivePeerAuthentication, appPort: number): EffectiveMtlsMode {
  return e.ports.get(appPort) ?? e.mode;
}
