// AuthorizationPolicies → Envoy RBAC filter configs for one workload's inbound chains, as istiod
// builds them (pilot/pkg/security/authz/builder): pure, no I/O. Which policies apply: those in the
// root namespace (mesh-wide) and in the workload's namespace, whose selector matches its labels
// (no selector: all of the namespace) or whose targetRefs name one of its Services. One RBAC
// filter per action, in Istio's order: AUDIT (LOG, never denies), DENY, ALLOW. CUSTOM is refused.
import { defaultMeshConfig } from '../../config/mesh-config.js';
import type { AuthorizationPolicySpec, PolicyTargetReference, WorkloadSelector } from '../../config/security-types.js';
import { RuleFieldError, rulePolicy, type TcpMode } from './authz-rules.js';

type Json = Record<string, unknown>;

export const HTTP_RBAC_FILTER_NAME = 'envoy.filters.http.rbac';
export const NETWORK_RBAC_FILTER_NAME = 'envoy.filters.network.rbac';
const HTTP_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const NETWORK_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';

export interface AuthorizationPolicyResource {
  name: string;
  namespace: string;
  spec: AuthorizationPolicySpec;
}

/** The workload the inbound chains belong to. */
export interface AuthzWorkload {
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** Names of the Services (same namespace) it backs, for targetRefs. */
  services?: readonly string[];
}

export interface AuthzOptions {
  /** Policies here apply mesh-wide (Istio's root namespace). */
  rootNamespace?: string;
  /** Where the inbound listener stands for the workload's port on a port of its own (explicit
   * mode): a policy port naming the workload port matches the listener port, any other port 0
   * (which no connection has). Absent: connections arrive on the workload port itself. */
  listenerPort?: { workloadPort: number; listenerPort: number };
}

export interface AuthorizationFilters {
  /** http_filters entries to put before the router, in order; empty when no policy applies. */
  http: Json[];
  /** filter_chains[].filters entries to put before tcp_proxy, in order. */
  network: Json[];
  /** Problems, each naming the policy and field: the policy or rule was left out as Istio does. */
  errors: string[];
}

/** Istio's root namespace unless the mesh config names another. */
export const DEFAULT_ROOT_NAMESPACE = defaultMeshConfig.rootNamespace;

function selectorMatches(sel: WorkloadSelector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (!sel) return true;
  return Object.entries(sel.matchLabels).every(([k, v]) => labels[k] === v);
}

function targetsWorkload(refs: readonly PolicyTargetReference[], policyNs: string, w: AuthzWorkload): boolean {
  return refs.some((r) => r.kind === 'Service' && (r.group === '' || r.group === 'core') && (r.namespace ?? policyNs) === w.namespace && (w.services ?? []).includes(r.name));
}

/** Whether a security.istio.io resource (AuthorizationPolicy, RequestAuthentication) applies to `w`:
 * root namespace or `w`'s, then targetRefs naming one of its Services, else the selector. */
export function appliesToWorkload(r: { namespace: string; spec: { selector?: WorkloadSelector; targetRefs?: PolicyTargetReference[] } }, w: AuthzWorkload, rootNamespace: string): boolean {
  if (r.namespace !== rootNamespace && r.namespace !== w.namespace) return false;
  if (r.spec.targetRefs && r.spec.targetRefs.length > 0) return targetsWorkload(r.spec.targetRefs, r.namespace, w);
  return selectorMatches(r.spec.selector, w.labels);
}

/** The resources that apply to `w`, in a stable order (namespace, then name). */
export function forWorkload<R extends { name: string; namespace: string; spec: { selector?: WorkloadSelector; targetRefs?: PolicyTargetReference[] } }>(all: readonly R[], w: AuthzWorkload, rootNamespace = DEFAULT_ROOT_NAMESPACE): R[] {
  return all.filter((r) => appliesToWorkload(r, w, rootNamespace)).sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

type EnvoyAction = 'ALLOW' | 'DENY' | 'LOG';
const actionOrder: ReadonlyArray<{ istio: 'AUDIT' | 'DENY' | 'ALLOW'; envoy: EnvoyAction }> = [
  { istio: 'AUDIT', envoy: 'LOG' },
  { istio: 'DENY', envoy: 'DENY' },
  { istio: 'ALLOW', envoy: 'ALLOW' },
];

/** RBAC `rules` (config.rbac.v3.RBAC JSON) per action for one chain kind; an action with no policy is absent. */
export function rbacRulesByAction(policies: readonly AuthorizationPolicyResource[], forTcp: boolean, errors: string[], o: Pick<AuthzOptions, 'listenerPort'> = {}): Array<{ action: EnvoyAction; rules: Json }> {
  const lp = o.listenerPort;
  const destinationPort = lp ? (n: number) => (n === lp.workloadPort ? lp.listenerPort : 0) : undefined;
  const out: Array<{ action: EnvoyAction; rules: Json }> = [];
  for (const { istio, envoy } of actionOrder) {
    const mine = policies.filter((p) => (p.spec.action ?? 'ALLOW') === istio);
    if (mine.length === 0) continue;
    // On TCP, Istio drops an ALLOW rule with HTTP-only fields (it can match nothing) and drops only
    // the HTTP-only fields of a DENY or AUDIT rule (so it matches more, never less).
    const tcp: TcpMode = forTcp ? (istio === 'ALLOW' ? 'drop-rule' : 'drop-field') : undefined;
    const entries: Record<string, Json> = {};
    for (const pol of mine) {
      pol.spec.rules.forEach((rule, i) => {
        const at = `rules[${i}]`;
        const ctx = { tcp, lenient: istio !== 'ALLOW', skipped: [] as string[], ...(destinationPort ? { destinationPort } : {}) };
        try {
          entries[`ns[${pol.namespace}]-policy[${pol.name}]-rule[${i}]`] = rulePolicy(rule, at, ctx);
          for (const m of ctx.skipped) errors.push(`AuthorizationPolicy ${pol.namespace}/${pol.name}: ${m}; left out of the rule, which matches more [WEFT_E_AUTHZ_UNSUPPORTED]`);
        } catch (err) {
          if (!(err instanceof RuleFieldError)) throw err;
          // An HTTP-only field dropping an ALLOW rule on TCP is Istio's rule, not a config error.
          if (!err.httpOnly) errors.push(`AuthorizationPolicy ${pol.namespace}/${pol.name}: ${err.message}; the rule is left out [WEFT_E_AUTHZ_UNSUPPORTED]`);
        }
      });
    }
    out.push({ action: envoy, rules: { action: envoy, policies: entries } });
  }
  return out;
}

/** The RBAC filters for `w`'s inbound HTTP and TCP chains. */
export function authorizationFilters(all: readonly AuthorizationPolicyResource[], w: AuthzWorkload, o: AuthzOptions = {}): AuthorizationFilters {
  const errors: string[] = [];
  const applicable = forWorkload(all, w, o.rootNamespace).filter((p) => {
    if (p.spec.action !== 'CUSTOM') return true;
    errors.push(`AuthorizationPolicy ${p.namespace}/${p.name}: action CUSTOM is not supported (no external authorizer); the policy is ignored [WEFT_E_AUTHZ_UNSUPPORTED]`);
    return false;
  });
  if (applicable.length === 0) return { http: [], network: [], errors };
  const http = rbacRulesByAction(applicable, false, errors, o).map(({ action, rules }) => ({
    name: `${HTTP_RBAC_FILTER_NAME}.${action.toLowerCase()}`,
    typed_config: { '@type': HTTP_RBAC_TYPE_URL, rules },
  }));
  const network = rbacRulesByAction(applicable, true, [], o).map(({ action, rules }) => ({
    name: `${NETWORK_RBAC_FILTER_NAME}.${action.toLowerCase()}`,
    typed_config: { '@type': NETWORK_RBAC_TYPE_URL, stat_prefix: 'tcp.', rules },
  }));
  return { http, network, errors };
}
