// SMI Traffic Access Control (access.smi-spec.io TrafficTarget, IdentityBinding) and traffic specs
// (specs.smi-spec.io HTTPRouteGroup, TCPRoute): every problem with its field path. The spec's
// documents are the schema; where they contradict their own examples, the examples load (written
// down in docs/security.md).
import {
  SMI_HTTP_METHODS,
  type HttpRouteGroupSpec,
  type HttpRouteMatch,
  type IdentityBindingSpec,
  type SmiHttpMethod,
  type SmiIdentityRef,
  type SmiRuleKind,
  type TcpRouteSpec,
  type TrafficTargetRule,
  type TrafficTargetSpec,
} from '../smi-types.js';
import { headerNameProblem, isDns1123Label, isDns1123Subdomain, readLabels, regexProblem } from './common.js';
import { checkInt, fields, type Fields } from './fields.js';
import { describeValue, type Issues, type Path } from './issues.js';

export const SMI_ACCESS_GROUP = 'access.smi-spec.io';
export const SMI_SPECS_GROUP = 'specs.smi-spec.io';

const IDENTITY_KINDS = ['ServiceAccount', 'IdentityBinding'] as const;
// The group each identity kind lives in: ServiceAccount is core ("" or absent), IdentityBinding is SMI's.
const IDENTITY_GROUPS: Record<(typeof IDENTITY_KINDS)[number], readonly string[]> = { ServiceAccount: ['', 'core'], IdentityBinding: [SMI_ACCESS_GROUP] };
const RULE_KINDS: readonly SmiRuleKind[] = ['HTTPRouteGroup', 'TCPRoute', 'UDPRoute'];

function readName(f: Fields, key: string, what: 'name' | 'namespace', opts: { required?: boolean } = {}): string | undefined {
  const v = f.str(key, opts);
  if (v === undefined || v === '') return v;
  const ok = what === 'namespace' ? isDns1123Label(v) : isDns1123Subdomain(v);
  if (!ok) f.issues.add('WEFT_E_INVALID_VALUE', f.at(key), `invalid ${what} ${JSON.stringify(v)} (lowercase letters, digits, '-'${what === 'name' ? " and '.'" : ''})`);
  return ok ? v : undefined;
}

function readIdentityRef(issues: Issues, v: unknown, path: Path): SmiIdentityRef | undefined {
  const f = fields(issues, v, path, ['kind', 'group', 'name', 'namespace']);
  if (!f) return undefined;
  const before = issues.size;
  const kind = f.oneOf('kind', IDENTITY_KINDS, { required: true });
  const group = f.str('group');
  if (kind !== undefined && group !== undefined && !IDENTITY_GROUPS[kind].includes(group)) {
    issues.add('WEFT_E_INVALID_VALUE', f.at('group'), `${kind} is in group ${JSON.stringify(IDENTITY_GROUPS[kind][0])}, got ${describeValue(group)}`);
  }
  const name = readName(f, 'name', 'name', { required: true });
  const namespace = readName(f, 'namespace', 'namespace');
  if (issues.size !== before || kind === undefined || name === undefined) return undefined;
  return { kind, name, ...(namespace ? { namespace } : {}) };
}

function readRule(issues: Issues, v: unknown, path: Path): TrafficTargetRule | undefined {
  const f = fields(issues, v, path, ['kind', 'name', 'matches']);
  if (!f) return undefined;
  const before = issues.size;
  const kind = f.oneOf('kind', RULE_KINDS, { required: true });
  const name = readName(f, 'name', 'name', { required: true });
  const matches = f.strList('matches');
  // Only an HTTPRouteGroup has named matches; TCPRoute and UDPRoute select by their ports.
  if (matches && kind !== undefined && kind !== 'HTTPRouteGroup') issues.add('WEFT_E_CONFLICT', f.at('matches'), `only an HTTPRouteGroup rule names matches, got kind ${kind}`);
  matches?.forEach((m, i) => {
    if (m === '') issues.add('WEFT_E_INVALID_VALUE', [...f.at('matches'), i], 'must not be empty');
  });
  if (issues.size !== before || kind === undefined || name === undefined) return undefined;
  return { kind, name, ...(matches ? { matches } : {}) };
}

/** TrafficTarget: "a valid TrafficTarget must specify a destination, at least one rule, and at least one source". */
export function validateTrafficTarget(issues: Issues, spec: unknown, path: Path): TrafficTargetSpec | undefined {
  const f = fields(issues, spec, path, ['destination', 'rules', 'sources']);
  if (!f) return undefined;
  const before = issues.size;
  const destRaw = f.raw('destination');
  if (destRaw === undefined) issues.add('WEFT_E_REQUIRED_FIELD', f.at('destination'), 'is required');
  const destination = destRaw === undefined ? undefined : readIdentityRef(issues, destRaw, f.at('destination'));
  const rules = (f.list('rules', { nonEmpty: true }) ?? []).map(({ value, path: p }) => readRule(issues, value, p));
  const sources = (f.list('sources', { nonEmpty: true }) ?? []).map(({ value, path: p }) => readIdentityRef(issues, value, p));
  if (issues.size !== before || !destination) return undefined;
  return { destination, rules: rules as TrafficTargetRule[], sources: sources as SmiIdentityRef[] };
}

function readSelector(issues: Issues, v: unknown, path: Path, named: boolean): { name?: string; matchLabels: Record<string, string> } | undefined {
  const f = fields(issues, v, path, named ? ['name', 'matchLabels'] : ['matchLabels']);
  if (!f) return undefined;
  const name = named ? f.str('name') : undefined;
  const matchLabels = readLabels(f, 'matchLabels');
  if (!f.has('matchLabels')) issues.add('WEFT_E_REQUIRED_FIELD', f.at('matchLabels'), 'is required');
  return matchLabels ? { ...(name ? { name } : {}), matchLabels } : undefined;
}

/** IdentityBinding: the schemes are OR'd. The spec calls podLabelSelector and serviceAccount mutually
 * exclusive, yet its own example sets both; Weft takes both (an OR, as the spec says of schemes). */
export function validateIdentityBinding(issues: Issues, spec: unknown, path: Path): IdentityBindingSpec | undefined {
  const top = fields(issues, spec, path, ['schemes']);
  if (!top) return undefined;
  const before = issues.size;
  const f = top.sub('schemes', ['podLabelSelector', 'podLabelSelectors', 'spiffeIdentities', 'serviceAccount'], { required: true });
  if (!f) return undefined;
  if (Object.keys(f.obj).length === 0) issues.add('WEFT_E_REQUIRED_FIELD', f.path, 'must set at least one scheme (podLabelSelector(s), spiffeIdentities, serviceAccount)');
  const selectors: Array<{ name?: string; matchLabels: Record<string, string> }> = [];
  if (f.has('podLabelSelector')) {
    const s = readSelector(issues, f.raw('podLabelSelector'), f.at('podLabelSelector'), false);
    if (s) selectors.push(s);
  }
  for (const { value, path: p } of f.list('podLabelSelectors') ?? []) {
    const s = readSelector(issues, value, p, true);
    if (s) selectors.push(s);
  }
  const spiffeIdentities = f.strList('spiffeIdentities');
  spiffeIdentities?.forEach((id, i) => {
    const at = [...f.at('spiffeIdentities'), i];
    if (id === '') issues.add('WEFT_E_INVALID_VALUE', at, 'must not be empty');
    else if (id.startsWith('spiffe://')) issues.add('WEFT_E_INVALID_VALUE', at, `${JSON.stringify(id)}: write the identity without "spiffe://" (trust-domain/path, as the spec's examples do)`);
    else if (/\s|\*/.test(id)) issues.add('WEFT_E_INVALID_VALUE', at, `${JSON.stringify(id)} must be a SPIFFE ID without spaces or wildcards`);
  });
  const serviceAccount = readName(f, 'serviceAccount', 'name');
  if (issues.size !== before) return undefined;
  return {
    schemes: {
      ...(selectors.length ? { podLabelSelectors: selectors } : {}),
      ...(spiffeIdentities ? { spiffeIdentities } : {}),
      ...(serviceAccount ? { serviceAccount } : {}),
    },
  };
}

function readHttpMatch(issues: Issues, v: unknown, path: Path): HttpRouteMatch | undefined {
  const f = fields(issues, v, path, ['name', 'pathRegex', 'methods', 'headers']);
  if (!f) return undefined;
  const before = issues.size;
  const name = f.str('name', { required: true });
  const pathRegex = f.str('pathRegex');
  const problem = pathRegex === undefined ? undefined : regexProblem(pathRegex);
  if (problem) issues.add('WEFT_E_REGEX', f.at('pathRegex'), problem);
  const methods = f.strList('methods');
  methods?.forEach((m, i) => {
    if (!(SMI_HTTP_METHODS as readonly string[]).includes(m)) issues.add('WEFT_E_INVALID_VALUE', [...f.at('methods'), i], `must be one of ${SMI_HTTP_METHODS.join(', ')}, got ${describeValue(m)}`);
  });
  const headers = f.strMap('headers');
  for (const [h, re] of Object.entries(headers ?? {})) {
    const at = [...f.at('headers'), h];
    const bad = headerNameProblem(h) ?? regexProblem(re);
    if (bad) issues.add(headerNameProblem(h) ? 'WEFT_E_INVALID_VALUE' : 'WEFT_E_REGEX', at, bad);
  }
  if (!f.has('pathRegex') && !f.has('methods') && !f.has('headers')) issues.add('WEFT_E_REQUIRED_FIELD', path, 'a match must set at least one of pathRegex, methods, headers');
  if (issues.size !== before || name === undefined) return undefined;
  return { name, ...(pathRegex !== undefined ? { pathRegex } : {}), ...(methods ? { methods: methods as SmiHttpMethod[] } : {}), ...(headers ? { headers } : {}) };
}

/** HTTPRouteGroup: named matches, each a path regex, methods and header regexes (ANDed). */
export function validateHttpRouteGroup(issues: Issues, spec: unknown, path: Path): HttpRouteGroupSpec | undefined {
  const f = fields(issues, spec, path, ['matches']);
  if (!f) return undefined;
  const before = issues.size;
  const items = f.list('matches', { nonEmpty: true }) ?? [];
  const matches = items.map(({ value, path: p }) => readHttpMatch(issues, value, p));
  const seen = new Set<string>();
  matches.forEach((m, i) => {
    if (!m) return;
    if (seen.has(m.name)) issues.add('WEFT_E_DUPLICATE_VALUE', [...items[i].path, 'name'], `match name ${JSON.stringify(m.name)} is used twice (a TrafficTarget names matches by it)`);
    seen.add(m.name);
  });
  if (issues.size !== before) return undefined;
  return { matches: matches as HttpRouteMatch[] };
}

/** TCPRoute: `matches.ports` (none or an empty list: every port). */
export function validateTcpRoute(issues: Issues, spec: unknown, path: Path): TcpRouteSpec | undefined {
  const f = fields(issues, spec, path, ['matches']);
  if (!f) return undefined;
  const before = issues.size;
  const m = f.sub('matches', ['ports']);
  const ports = m?.list('ports')?.map(({ value, path: p }) => checkInt(issues, value, p, { min: 1, max: 65535 }));
  if (issues.size !== before) return undefined;
  return m ? { matches: ports ? { ports: ports as number[] } : {} } : {};
}
