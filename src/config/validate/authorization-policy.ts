// AuthorizationPolicy (security.istio.io): who may call what. Validated as Istio's webhook does, every
// problem with its field path; CUSTOM is refused until an external authorizer exists.
import type { AuthorizationAction, AuthorizationPolicySpec, Condition, Operation, Rule, Source } from '../security-types.js';
import { fields, type Fields } from './fields.js';
import type { Issues, Path } from './issues.js';
import { ipBlockProblem, portStringProblem, readAttachment, readCheckedList, wildcardFormProblem } from './security-common.js';
import { specFieldNames, type SpecShape } from '../spec-shape.js';

const ACTIONS: readonly AuthorizationAction[] = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];

type ListRule = (s: string) => string | undefined;

const SOURCE_LISTS: Record<keyof Source, ListRule> = {
  principals: wildcardFormProblem,
  notPrincipals: wildcardFormProblem,
  requestPrincipals: wildcardFormProblem,
  notRequestPrincipals: wildcardFormProblem,
  namespaces: wildcardFormProblem,
  notNamespaces: wildcardFormProblem,
  ipBlocks: ipBlockProblem,
  notIpBlocks: ipBlockProblem,
  remoteIpBlocks: ipBlockProblem,
  notRemoteIpBlocks: ipBlockProblem,
  serviceAccounts: serviceAccountProblem,
  notServiceAccounts: serviceAccountProblem,
  trustDomains: wildcardFormProblem,
  notTrustDomains: wildcardFormProblem,
};

const OPERATION_LISTS: Record<keyof Operation, ListRule> = {
  hosts: wildcardFormProblem,
  notHosts: wildcardFormProblem,
  ports: portStringProblem,
  notPorts: portStringProblem,
  methods: wildcardFormProblem,
  notMethods: wildcardFormProblem,
  paths: pathProblem,
  notPaths: pathProblem,
};

/** `ns/sa` or `sa`: Kubernetes names, no wildcard (Istio matches them exactly). */
function serviceAccountProblem(s: string): string | undefined {
  const parts = s.split('/');
  const name = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
  if (parts.length > 2 || parts.some((p) => !name.test(p))) return `${JSON.stringify(s)} must be "namespace/serviceaccount" or "serviceaccount"`;
  return undefined;
}

/** Istio's path forms: exact, `prefix*`, `*suffix`, `*`, or a template of `{*}` (one segment) and
 * `{**}` (any segments, at most once) between literal segments. */
function pathProblem(s: string): string | undefined {
  if (!s.includes('{')) return wildcardFormProblem(s);
  if (!s.startsWith('/')) return `${JSON.stringify(s)}: a path template must start with "/"`;
  const segments = s.slice(1).split('/');
  let doubles = 0;
  for (const seg of segments) {
    if (seg === '{**}') doubles++;
    else if (seg !== '{*}' && /[{}*]/.test(seg)) return `${JSON.stringify(s)}: template segment ${JSON.stringify(seg)} must be {*}, {**} or literal text`;
  }
  return doubles > 1 ? `${JSON.stringify(s)}: {**} may appear only once` : undefined;
}

function readMatchLists<T extends object>(f: Fields, rules: Record<keyof T & string, ListRule>): Partial<T> {
  const out: Record<string, string[]> = {};
  for (const [key, rule] of Object.entries(rules) as [string, ListRule][]) {
    const list = readCheckedList(f, key, rule);
    if (list) out[key] = list;
  }
  return out as Partial<T>;
}

function readSource(issues: Issues, v: unknown, path: Path): Source | undefined {
  const f = fields(issues, v, path, Object.keys(SOURCE_LISTS));
  if (!f) return undefined;
  if (Object.keys(f.obj).length === 0) issues.add('WEFT_E_REQUIRED_FIELD', path, 'a source must set at least one field');
  const source = readMatchLists<Source>(f, SOURCE_LISTS);
  const identity = (['principals', 'notPrincipals', 'namespaces', 'notNamespaces'] as const).filter((k) => f.has(k));
  const accounts = (['serviceAccounts', 'notServiceAccounts'] as const).filter((k) => f.has(k));
  if (identity.length && accounts.length) {
    issues.add('WEFT_E_CONFLICT', f.at(accounts[0]), `cannot be combined with ${identity.join(', ')} in one source (use separate sources)`);
  }
  return source;
}

function readOperation(issues: Issues, v: unknown, path: Path): Operation | undefined {
  const f = fields(issues, v, path, Object.keys(OPERATION_LISTS));
  if (!f) return undefined;
  if (Object.keys(f.obj).length === 0) issues.add('WEFT_E_REQUIRED_FIELD', path, 'an operation must set at least one field');
  return readMatchLists<Operation>(f, OPERATION_LISTS);
}

// Istio's condition keys (https://istio.io/latest/docs/reference/config/security/conditions/) and how
// their values are checked; `[...]`-keyed ones are matched by prefix below.
const PLAIN_KEYS: Record<string, ListRule> = {
  'source.ip': ipBlockProblem,
  'remote.ip': ipBlockProblem,
  'destination.ip': ipBlockProblem,
  'destination.port': portStringProblem,
  'source.namespace': wildcardFormProblem,
  'source.principal': wildcardFormProblem,
  'source.serviceAccount': serviceAccountProblem,
  'source.trustDomain': wildcardFormProblem,
  'request.auth.principal': wildcardFormProblem,
  'request.auth.audiences': wildcardFormProblem,
  'request.auth.presenter': wildcardFormProblem,
  'connection.sni': wildcardFormProblem,
};
export const CONDITION_KEYS = [...Object.keys(PLAIN_KEYS), 'request.headers[<name>]', 'request.auth.claims[<claim>]...', 'experimental.envoy.filters.*'];

/** The value rule for `key`, or why the key is not one Istio supports. */
function conditionKey(key: string): { rule: ListRule } | { problem: string } {
  const plain = PLAIN_KEYS[key];
  if (Object.hasOwn(PLAIN_KEYS, key)) return { rule: plain };
  if (key.startsWith('request.headers[')) {
    return /^request\.headers\[[^\][]+\]$/.test(key) ? { rule: wildcardFormProblem } : { problem: `${JSON.stringify(key)}: a header key is request.headers[<name>] with a non-empty name` };
  }
  if (key.startsWith('request.auth.claims[')) {
    // Nested claims are further [..] groups: request.auth.claims[a][b].
    return /^request\.auth\.claims(\[[^\][]+\])+$/.test(key) ? { rule: wildcardFormProblem } : { problem: `${JSON.stringify(key)}: a claim key is request.auth.claims[<claim>] (nested: [a][b]) with non-empty names` };
  }
  if (key.startsWith('experimental.envoy.filters.') && /\[[^\][]+\]$/.test(key)) return { rule: wildcardFormProblem };
  return { problem: `unknown condition key ${JSON.stringify(key)}; supported: ${CONDITION_KEYS.join(', ')}` };
}

function readCondition(issues: Issues, v: unknown, path: Path): Condition | undefined {
  const f = fields(issues, v, path, ['key', 'values', 'notValues']);
  if (!f) return undefined;
  const key = f.str('key', { required: true });
  if (key === undefined) return undefined;
  const k = conditionKey(key);
  if ('problem' in k) {
    issues.add('WEFT_E_INVALID_VALUE', f.at('key'), k.problem);
    return undefined;
  }
  const values = readCheckedList(f, 'values', k.rule);
  const notValues = readCheckedList(f, 'notValues', k.rule);
  // Istio: at least one of them; both together are allowed (the fixtures use both).
  if (!values?.length && !notValues?.length) issues.add('WEFT_E_REQUIRED_FIELD', path, `at least one of values or notValues must be set for key ${JSON.stringify(key)}`);
  return { key, ...(values ? { values } : {}), ...(notValues ? { notValues } : {}) };
}

/** `from: [{source}]`, `to: [{operation}]`: a list of one-key wrappers, the key required. */
function readWrapped<T>(f: Fields, key: string, inner: string, read: (issues: Issues, v: unknown, path: Path) => T | undefined): T[] | undefined {
  const list = f.list(key);
  if (!list) return undefined;
  const out: T[] = [];
  for (const { value, path } of list) {
    const e = fields(f.issues, value, path, [inner]);
    if (!e) continue;
    if (!e.has(inner)) f.issues.add('WEFT_E_REQUIRED_FIELD', e.at(inner), 'is required');
    const v = e.has(inner) ? read(f.issues, e.raw(inner), e.at(inner)) : undefined;
    if (v !== undefined) out.push(v);
  }
  return out;
}

function readRule(issues: Issues, v: unknown, path: Path): Rule | undefined {
  const f = fields(issues, v ?? {}, path, ['from', 'to', 'when']);
  if (!f) return undefined;
  const rule: Rule = {};
  const from = readWrapped(f, 'from', 'source', readSource);
  if (from) rule.from = from.map((source) => ({ source }));
  const to = readWrapped(f, 'to', 'operation', readOperation);
  if (to) rule.to = to.map((operation) => ({ operation }));
  const when = f.list('when');
  if (when) rule.when = when.map(({ value, path: p }) => readCondition(issues, value, p)).filter((c): c is Condition => c !== undefined);
  return rule;
}

export const AUTHORIZATION_POLICY_SPEC = { selector: 'object', targetRef: 'object', targetRefs: 'objects', action: 'string', provider: 'object', rules: 'objects' } as const satisfies SpecShape;
const AP_FIELDS = specFieldNames(AUTHORIZATION_POLICY_SPEC);

export function validateAuthorizationPolicy(issues: Issues, spec: unknown, path: Path): AuthorizationPolicySpec | undefined {
  const f = fields(issues, spec, path, AP_FIELDS);
  if (!f) return undefined;
  const before = issues.size;
  const attachment = readAttachment(f);
  const action = f.has('action') ? f.oneOf('action', ACTIONS) : 'ALLOW';
  if (action === 'CUSTOM') {
    issues.add('WEFT_E_UNSUPPORTED', f.at('action'), 'CUSTOM is not supported yet (no external authorizer); use ALLOW, DENY or AUDIT');
  }
  let provider: { name: string } | undefined;
  if (f.has('provider')) {
    const p = f.sub('provider', ['name']);
    const name = p?.str('name', { required: true });
    if (name !== undefined) provider = { name };
    if (action !== undefined && action !== 'CUSTOM') issues.add('WEFT_E_CONFLICT', f.at('provider'), `provider is only used with action CUSTOM, got action ${action}`);
  }
  const rules = (f.list('rules') ?? []).map(({ value, path: p }) => readRule(issues, value, p)).filter((r): r is Rule => r !== undefined);
  if (issues.size !== before || action === undefined) return undefined;
  return { ...attachment, action, ...(provider ? { provider } : {}), rules };
}
