// Field rules shared by the security.istio.io kinds: workload selectors, policy target references,
// and Istio's string match forms (exact, `prefix*`, `*suffix`, `*`). Each mirrors Istio's checks in
// pkg/config/validation; where Weft is stricter or looser it is written down in docs/security.md.
import type { PolicyTargetReference, WorkloadSelector } from '../security-types.js';
import { isIpOrCidr, validateLabels } from './common.js';
import { fields, type Fields } from './fields.js';
import { describeValue, type Issues, type Path } from './issues.js';

/** `selector: {matchLabels}`; `{}` (or no matchLabels) selects every workload in scope, as in Istio. */
export function readWorkloadSelector(f: Fields): WorkloadSelector | undefined {
  const s = f.sub('selector', ['matchLabels']);
  if (!s) return undefined;
  const matchLabels = s.strMap('matchLabels') ?? {};
  validateLabels(f.issues, matchLabels, s.at('matchLabels'));
  return { matchLabels };
}

// What Istio lets a policy attach to: a Service (core group), a ServiceEntry, a Gateway API Gateway or GatewayClass.
const TARGET_KINDS: Record<string, readonly string[]> = {
  Service: ['', 'core'],
  ServiceEntry: ['networking.istio.io'],
  Gateway: ['gateway.networking.k8s.io'],
  GatewayClass: ['gateway.networking.k8s.io'],
};

function readTargetRef(issues: Issues, v: unknown, path: Path): PolicyTargetReference | undefined {
  const t = fields(issues, v, path, ['group', 'kind', 'name', 'namespace']);
  if (!t) return undefined;
  const group = t.str('group') ?? '';
  const kind = t.str('kind', { required: true });
  const name = t.str('name', { required: true });
  const namespace = t.str('namespace');
  if (kind !== undefined) {
    const groups = TARGET_KINDS[kind];
    if (!groups) issues.add('WEFT_E_INVALID_VALUE', t.at('kind'), `must be one of ${Object.keys(TARGET_KINDS).join(', ')}, got ${describeValue(kind)}`);
    else if (!groups.includes(group)) issues.add('WEFT_E_INVALID_VALUE', t.at('group'), `${kind} is in group ${JSON.stringify(groups[0])}, got ${describeValue(group)}`);
  }
  if (kind === undefined || name === undefined) return undefined;
  return { group, kind, name, ...(namespace ? { namespace } : {}) };
}

/**
 * `selector` xor `targetRef`/`targetRefs` (Istio: a policy attaches one way). The deprecated singular
 * `targetRef` is read into the list; both spellings at once are a conflict.
 */
export function readAttachment(f: Fields): { selector?: WorkloadSelector; targetRefs?: PolicyTargetReference[] } {
  const selector = readWorkloadSelector(f);
  const set = (['selector', 'targetRef', 'targetRefs'] as const).filter((k) => f.has(k));
  if (set.length > 1) f.issues.add('WEFT_E_CONFLICT', f.at(set[1]), `only one of selector, targetRef, targetRefs may be set, got ${set.join(' and ')}`);
  let targetRefs: PolicyTargetReference[] | undefined;
  if (f.has('targetRef')) {
    const one = readTargetRef(f.issues, f.raw('targetRef'), f.at('targetRef'));
    if (one) targetRefs = [one];
  } else {
    const list = f.list('targetRefs');
    if (list) targetRefs = list.map(({ value, path }) => readTargetRef(f.issues, value, path)).filter((t): t is PolicyTargetReference => t !== undefined);
  }
  return { ...(selector ? { selector } : {}), ...(targetRefs ? { targetRefs } : {}) };
}

/** Why `s` is not one of Istio's match forms (exact, `prefix*`, `*suffix`, `*`), or undefined. */
export function wildcardFormProblem(s: string): string | undefined {
  if (s === '') return 'must not be empty';
  const stars = s.split('*').length - 1;
  if (stars === 0 || s === '*') return undefined;
  if (stars === 1 && (s.startsWith('*') || s.endsWith('*'))) return undefined;
  return `${JSON.stringify(s)}: "*" is allowed only as a prefix, a suffix or the whole value`;
}

/** A list of strings each checked by `problem`; every bad entry reported with its index. */
export function readCheckedList(f: Fields, key: string, problem: (s: string) => string | undefined): string[] | undefined {
  const list = f.strList(key);
  if (!list) return undefined;
  list.forEach((s, i) => {
    const p = problem(s);
    if (p) f.issues.add('WEFT_E_INVALID_VALUE', [...f.at(key), i], p);
  });
  return list;
}

export const ipBlockProblem = (s: string): string | undefined => (isIpOrCidr(s) ? undefined : `${JSON.stringify(s)} is not an IP address or CIDR block`);

export function portStringProblem(s: string): string | undefined {
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 65535) return `${JSON.stringify(s)} is not a port number 1..65535`;
  return undefined;
}
