// SMI Traffic Access Control (access.smi-spec.io TrafficTarget, with specs.smi-spec.io HTTPRouteGroup
// and TCPRoute, and v1alpha4 IdentityBinding) → AuthorizationPolicies in Istio's typed model, so one
// translator and one engine enforce both. A TrafficTarget is an ALLOW policy on its destination's
// workloads: its sources are principals, its HTTP matches are (path, method) operations, its TCP
// routes' ports are required on every operation. As in SMI, once a target names a destination,
// everything else to it is denied.
import type { Operation } from '../../config/security-types.js';
import type { AuthorizationPolicyResource, AuthzWorkload } from './authorization.js';

export interface SmiIdentityRef {
  kind: string; // ServiceAccount (v1alpha3) | IdentityBinding (v1alpha4)
  name: string;
  namespace?: string;
}

export interface TrafficTarget {
  name: string;
  namespace: string;
  spec: { destination: SmiIdentityRef; sources: SmiIdentityRef[]; rules?: Array<{ kind: string; name: string; matches?: string[] }> };
}

export interface HttpRouteGroup {
  name: string;
  namespace: string;
  spec: { matches: Array<{ name: string; pathRegex?: string; methods?: string[] }> };
}

export interface TcpRoute {
  name: string;
  namespace: string;
  spec: { matches?: { ports?: number[] } };
}

export interface IdentityBinding {
  name: string;
  namespace: string;
  spec: { schemes: { serviceAccount?: string; spiffeIdentities?: string[] } };
}

export interface SmiAccessInput {
  targets: readonly TrafficTarget[];
  httpRouteGroups: readonly HttpRouteGroup[];
  tcpRoutes: readonly TcpRoute[];
  identityBindings: readonly IdentityBinding[];
}

/** The workload side: which service account it runs as. */
export interface SmiWorkload extends AuthzWorkload {
  serviceAccount: string;
}

const find = <T extends { name: string; namespace: string }>(list: readonly T[], name: string, ns: string) => list.find((x) => x.name === name && x.namespace === ns);

/** An identity ref → the service account it names and the principals it stands for. */
function identity(ref: SmiIdentityRef, defaultNs: string, input: SmiAccessInput, trustDomain: string): { serviceAccount: string; namespace: string; principals: string[] } {
  const ns = ref.namespace ?? defaultNs;
  if (ref.kind === 'IdentityBinding') {
    const b = find(input.identityBindings, ref.name, ns);
    // Without its IdentityBinding object, the binding's name is read as the service account (the spec's examples do so).
    const sa = b?.spec.schemes.serviceAccount ?? (b ? undefined : ref.name);
    const principals = [...(sa ? [`${trustDomain}/ns/${ns}/sa/${sa}`] : []), ...(b?.spec.schemes.spiffeIdentities ?? [])];
    return { serviceAccount: sa ?? '', namespace: ns, principals };
  }
  return { serviceAccount: ref.name, namespace: ns, principals: [`${trustDomain}/ns/${ns}/sa/${ref.name}`] };
}

/** SMI's pathRegex as one of Istio's path forms; undefined when it is a real regex. */
function istioPath(re: string): string | undefined {
  if (re === '.*' || re === '') return '*';
  const literal = /^[\w/\-~%]*$/;
  if (literal.test(re)) return re;
  if (re.endsWith('.*') && literal.test(re.slice(0, -2))) return `${re.slice(0, -2)}*`;
  return undefined;
}

/** The TrafficTargets whose destination is `w`, as ALLOW AuthorizationPolicies in `w`'s namespace. */
export function smiAuthorizationPolicies(input: SmiAccessInput, w: SmiWorkload, trustDomain = 'cluster.local'): { policies: AuthorizationPolicyResource[]; errors: string[] } {
  const errors: string[] = [];
  const policies: AuthorizationPolicyResource[] = [];
  for (const t of input.targets) {
    const dest = identity(t.spec.destination, t.namespace, input, trustDomain);
    if (dest.namespace !== w.namespace || dest.serviceAccount !== w.serviceAccount) continue;
    const where = `TrafficTarget ${t.namespace}/${t.name}`;
    const ports: string[] = [];
    const operations: Operation[] = [];
    for (const [i, rule] of (t.spec.rules ?? []).entries()) {
      if (rule.kind === 'TCPRoute') {
        const r = find(input.tcpRoutes, rule.name, t.namespace);
        if (!r) errors.push(`${where}: rules[${i}]: TCPRoute ${rule.name} not found`);
        else ports.push(...(r.spec.matches?.ports ?? []).map(String));
      } else if (rule.kind === 'HTTPRouteGroup') {
        const g = find(input.httpRouteGroups, rule.name, t.namespace);
        if (!g) {
          errors.push(`${where}: rules[${i}]: HTTPRouteGroup ${rule.name} not found`);
          continue;
        }
        for (const m of g.spec.matches.filter((m) => !rule.matches || rule.matches.includes(m.name))) {
          const path = istioPath(m.pathRegex ?? '');
          if (path === undefined) {
            errors.push(`${where}: HTTPRouteGroup ${g.name} match ${m.name}: pathRegex ${JSON.stringify(m.pathRegex)} is not an exact path or a prefix; the match is left out`);
            continue;
          }
          const methods = (m.methods ?? []).filter((x) => x !== '*');
          operations.push({ ...(path !== '*' ? { paths: [path] } : {}), ...(methods.length > 0 && !(m.methods ?? []).includes('*') ? { methods } : {}) });
        }
      } else errors.push(`${where}: rules[${i}]: kind ${rule.kind} is not supported (TCPRoute and HTTPRouteGroup are)`);
    }
    const principals = t.spec.sources.flatMap((s) => identity(s, t.namespace, input, trustDomain).principals);
    const withPorts = (o: Operation): Operation => (ports.length > 0 ? { ...o, ports } : o);
    const to = operations.length > 0 ? operations.map(withPorts) : ports.length > 0 ? [{ ports }] : [];
    const hadHttpRules = (t.spec.rules ?? []).some((r) => r.kind === 'HTTPRouteGroup');
    // HTTP matches that were all left out allow nothing (never more than the target says).
    const rules = hadHttpRules && operations.length === 0 ? [] : [{ from: [{ source: { principals } }], ...(to.length > 0 ? { to: to.map((operation) => ({ operation })) } : {}) }];
    policies.push({ name: `smi-${t.name}`, namespace: w.namespace, spec: { action: 'ALLOW', rules } });
  }
  return { policies, errors };
}
