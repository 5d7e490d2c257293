// SMI Traffic Access Control (access.smi-spec.io TrafficTarget, with specs.smi-spec.io HTTPRouteGroup
// and TCPRoute, and v1alpha4 IdentityBinding) → AuthorizationPolicies in Istio's typed model, so one
// translator and one engine enforce both. A TrafficTarget is an ALLOW policy on its destination's
// workloads: its sources are principals, its HTTP matches are (path, method, header) operations, its
// TCP routes' ports are required on every operation. As in SMI, once a target names a destination,
// everything else to it is denied. What cannot be expressed exactly is left out and reported, so a
// target never allows more than it says.
import type { Condition, Operation, Rule } from '../../config/security-types.js';
import type { ConfigSet } from '../../config/types.js';
import type { HttpRouteGroupSpec, HttpRouteMatch, IdentityBindingSpec, SmiIdentityRef, TcpRouteSpec, TrafficTargetSpec } from '../../config/smi-types.js';
import type { AuthorizationPolicyResource, AuthzWorkload } from './authorization.js';

interface Named<S> {
  name: string;
  namespace: string;
  spec: S;
}

export type TrafficTargetResource = Named<TrafficTargetSpec>;
export type HttpRouteGroupResource = Named<HttpRouteGroupSpec>;
export type TcpRouteResource = Named<TcpRouteSpec>;
export type IdentityBindingResource = Named<IdentityBindingSpec>;

export interface SmiAccessInput {
  targets: readonly TrafficTargetResource[];
  httpRouteGroups: readonly HttpRouteGroupResource[];
  tcpRoutes: readonly TcpRouteResource[];
  identityBindings: readonly IdentityBindingResource[];
}

export const NO_SMI_ACCESS: SmiAccessInput = { targets: [], httpRouteGroups: [], tcpRoutes: [], identityBindings: [] };

/** The SMI access kinds of a config set, as the translator reads them. */
export function smiAccessInput(config: Pick<ConfigSet, 'trafficTargets' | 'httpRouteGroups' | 'tcpRoutes' | 'identityBindings'>): SmiAccessInput {
  const plain = <S>(r: { metadata: { name: string; namespace: string }; spec: S }): Named<S> => ({ name: r.metadata.name, namespace: r.metadata.namespace, spec: r.spec });
  return {
    targets: config.trafficTargets.map(plain),
    httpRouteGroups: config.httpRouteGroups.map(plain),
    tcpRoutes: config.tcpRoutes.map(plain),
    identityBindings: config.identityBindings.map(plain),
  };
}

/** The workload side: which service account it runs as (and its labels, for podLabelSelectors). */
export interface SmiWorkload extends AuthzWorkload {
  serviceAccount: string;
}

const find = <T extends { name: string; namespace: string }>(list: readonly T[], name: string, ns: string) => list.find((x) => x.name === name && x.namespace === ns);

interface Identity {
  namespace: string;
  serviceAccount?: string;
  selectors: ReadonlyArray<Readonly<Record<string, string>>>;
  principals: string[];
}

/** An identity ref → the service account and pod selectors it names and the principals it stands for. */
function identity(ref: SmiIdentityRef, defaultNs: string, input: SmiAccessInput, trustDomain: string): Identity {
  const namespace = ref.namespace ?? defaultNs;
  if (ref.kind === 'ServiceAccount') return { namespace, serviceAccount: ref.name, selectors: [], principals: [`${trustDomain}/ns/${namespace}/sa/${ref.name}`] };
  const b = find(input.identityBindings, ref.name, namespace);
  // Without its IdentityBinding object, the binding's name is read as the service account (the spec's examples do so).
  const serviceAccount = b ? b.spec.schemes.serviceAccount : ref.name;
  return {
    namespace,
    serviceAccount,
    selectors: (b?.spec.schemes.podLabelSelectors ?? []).map((s) => s.matchLabels),
    principals: [...(serviceAccount ? [`${trustDomain}/ns/${namespace}/sa/${serviceAccount}`] : []), ...(b?.spec.schemes.spiffeIdentities ?? [])],
  };
}

/** Whether `w` holds the destination identity: its service account, or a pod selector of its binding. */
function isDestination(d: Identity, w: SmiWorkload): boolean {
  if (d.namespace !== w.namespace) return false;
  if (d.serviceAccount !== undefined && d.serviceAccount === w.serviceAccount) return true;
  return d.selectors.some((sel) => Object.entries(sel).every(([k, v]) => w.labels[k] === v));
}

const REGEX_SPECIAL = new Set([...'.^$*+?()[]{}|\\']);

/** The literal text a regex matches, if it is one: plain characters and backslash-escaped specials. */
function literalOf(re: string): string | undefined {
  let out = '';
  for (let i = 0; i < re.length; i++) {
    const c = re[i];
    if (c === '\\') {
      const next = re[++i];
      if (next === undefined || !REGEX_SPECIAL.has(next)) return undefined; // \d, \w, …: classes, not literals
      out += next;
    } else if (REGEX_SPECIAL.has(c)) return undefined;
    else out += c;
  }
  // A literal with a "*" in it would read as one of Istio's wildcard forms.
  return out.includes('*') ? undefined : out;
}

/**
 * An SMI regex (matched against the whole value) as one of Istio's forms: `*` (anything), exact,
 * `prefix*` or `*suffix`; undefined when it is a real regex. Anchors are dropped: the match is whole.
 */
export function regexAsIstioForm(regex: string): string | undefined {
  const re = regex.replace(/^\^/, '').replace(/(?<!\\)\$$/, '');
  if (re === '.*' || re === '') return '*';
  const exact = literalOf(re);
  if (exact !== undefined) return exact;
  const prefix = re.endsWith('.*') ? literalOf(re.slice(0, -2)) : undefined;
  if (prefix) return `${prefix}*`;
  const suffix = re.startsWith('.*') ? literalOf(re.slice(2)) : undefined;
  if (suffix) return `*${suffix}`;
  return undefined;
}

/** One HTTPRouteGroup match as an operation and its header conditions, or why it cannot be one. */
function httpMatch(m: HttpRouteMatch): { operation: Operation; when: Condition[] } | { problem: string } {
  const path = regexAsIstioForm(m.pathRegex ?? '');
  if (path === undefined) return { problem: `pathRegex ${JSON.stringify(m.pathRegex)} is not an exact path, a prefix or a suffix` };
  const when: Condition[] = [];
  for (const [name, re] of Object.entries(m.headers ?? {})) {
    const value = regexAsIstioForm(re);
    if (value === undefined) return { problem: `headers.${name} ${JSON.stringify(re)} is not an exact value, a prefix or a suffix` };
    when.push({ key: `request.headers[${name}]`, values: [value] });
  }
  const methods = m.methods ?? [];
  const operation: Operation = { ...(path !== '*' ? { paths: [path] } : {}), ...(methods.length > 0 && !methods.includes('*') ? { methods: [...methods] } : {}) };
  return { operation, when };
}

/** Why part of a TrafficTarget is left out: the field it concerns and what is wrong. */
export interface SmiProblem {
  path: string;
  message: string;
}

/** One TrafficTarget as Istio rules (independent of the workload it lands on), and what was left out. */
export function trafficTargetRules(t: TrafficTargetResource, input: SmiAccessInput, trustDomain = 'cluster.local'): { rules: Rule[]; problems: SmiProblem[] } {
  const problems: SmiProblem[] = [];
  const ports: string[] = [];
  let tcpRoutes = 0;
  const http: Array<{ operation: Operation; when: Condition[] }> = [];
  for (const [i, rule] of t.spec.rules.entries()) {
    const at = `spec.rules[${i}]`;
    if (rule.kind === 'TCPRoute') {
      const r = find(input.tcpRoutes, rule.name, t.namespace);
      if (!r) problems.push({ path: at, message: `TCPRoute ${t.namespace}/${rule.name} not found; the rule allows nothing` });
      else {
        tcpRoutes++;
        ports.push(...(r.spec.matches?.ports ?? []).map(String));
      }
    } else if (rule.kind === 'HTTPRouteGroup') {
      const g = find(input.httpRouteGroups, rule.name, t.namespace);
      if (!g) {
        problems.push({ path: at, message: `HTTPRouteGroup ${t.namespace}/${rule.name} not found; the rule allows nothing` });
        continue;
      }
      (rule.matches ?? []).forEach((name, j) => {
        if (!g.spec.matches.some((m) => m.name === name)) problems.push({ path: `${at}.matches[${j}]`, message: `HTTPRouteGroup ${g.name} has no match ${JSON.stringify(name)}` });
      });
      for (const m of g.spec.matches.filter((m) => !rule.matches || rule.matches.includes(m.name))) {
        const op = httpMatch(m);
        if ('problem' in op) problems.push({ path: at, message: `HTTPRouteGroup ${g.name} match ${m.name}: ${op.problem}; the match is left out` });
        else http.push(op);
      }
    } else problems.push({ path: `${at}.kind`, message: `kind ${rule.kind} is not supported (TCPRoute and HTTPRouteGroup are); the rule allows nothing` });
  }
  const principals = t.spec.sources.flatMap((s) => identity(s, t.namespace, input, trustDomain).principals);
  const from = [{ source: { principals } }];
  const withPorts = (o: Operation): Operation => (ports.length > 0 ? { ...o, ports } : o);
  const hadHttpRules = t.spec.rules.some((r) => r.kind === 'HTTPRouteGroup');
  // One Istio rule per HTTP match (its header conditions are per match). HTTP matches that were all
  // left out, or no TCPRoute found, give no rule: the target then allows nothing (never more than it says).
  const rules: Rule[] = hadHttpRules
    ? http.map(({ operation, when }) => ({ from, to: [{ operation: withPorts(operation) }], ...(when.length ? { when } : {}) }))
    : tcpRoutes > 0
      ? [{ from, ...(ports.length > 0 ? { to: [{ operation: { ports } }] } : {}) }]
      : [];
  return { rules, problems };
}

/** The TrafficTargets whose destination is `w`, as ALLOW AuthorizationPolicies in `w`'s namespace. */
export function smiAuthorizationPolicies(input: SmiAccessInput, w: SmiWorkload, trustDomain = 'cluster.local'): { policies: AuthorizationPolicyResource[]; errors: string[] } {
  const errors: string[] = [];
  const policies: AuthorizationPolicyResource[] = [];
  for (const t of input.targets) {
    if (!isDestination(identity(t.spec.destination, t.namespace, input, trustDomain), w)) continue;
    const { rules, problems } = trafficTargetRules(t, input, trustDomain);
    for (const p of problems) errors.push(`TrafficTarget ${t.namespace}/${t.name}: ${p.path}: ${p.message} [WEFT_E_AUTHZ_UNSUPPORTED]`);
    // No AuthorizationPolicy is named with ':', so these names cannot collide with one.
    policies.push({ name: `smi:${t.name}`, namespace: w.namespace, spec: { action: 'ALLOW', rules } });
  }
  return { policies, errors };
}
