// config.rbac.v3.RBAC (proto JSON) → RbacRules, every problem with its field path. Fields the
// engine does not implement are NACKs, never ignored: a policy that silently matched less (or
// more) than it says is an authorization hole.
import type { Cidr, StringMatcher } from '../xds/model.js';
import { has, join, list, num, obj, str, stringMatcher, type Problems, type Raw } from '../xds/validate-common.js';
import { cidr, headerMatcher } from '../xds/validate-matchers.js';
import type { MetadataMatcher, Permission, Principal, RbacAction, RbacPolicy, RbacRules, ValueMatcher } from './model.js';

const actions: readonly RbacAction[] = ['ALLOW', 'DENY', 'LOG'];

export function rbacRules(raw: Raw, path: string, p: Problems): RbacRules {
  for (const f of ['audit_logging_options', 'matcher', 'shadow_matcher']) if (has(raw, f)) p.add(join(path, f), 'not supported');
  const action = (str(raw.action) || 'ALLOW') as RbacAction;
  if (!actions.includes(action)) p.add(join(path, 'action'), `unknown action "${String(raw.action)}"`);
  const policiesRaw = obj(raw.policies);
  const policies: RbacPolicy[] = Object.keys(policiesRaw)
    .sort()
    .map((name) => policy(name, obj(policiesRaw[name]), `${join(path, 'policies')}[${JSON.stringify(name)}]`, p));
  return { action, policies };
}

function policy(name: string, raw: Raw, path: string, p: Problems): RbacPolicy {
  for (const f of ['condition', 'checked_condition']) if (has(raw, f)) p.add(join(path, f), 'not supported (CEL conditions)');
  const permissions = list(raw.permissions).map((r, i) => permission(obj(r), `${join(path, 'permissions')}[${i}]`, p));
  const principals = list(raw.principals).map((r, i) => principal(obj(r), `${join(path, 'principals')}[${i}]`, p));
  if (permissions.length === 0) p.add(join(path, 'permissions'), 'must not be empty');
  if (principals.length === 0) p.add(join(path, 'principals'), 'must not be empty');
  return { name, permissions, principals };
}

/** The one field of a oneof that is set; anything else set beside it is reported. */
function oneField(raw: Raw, path: string, p: Problems): string | undefined {
  const set = Object.keys(raw).filter((k) => raw[k] !== undefined && raw[k] !== null);
  if (set.length !== 1) {
    p.add(path, set.length === 0 ? 'one rule is required' : `exactly one rule expected, got ${set.join(', ')}`);
    return undefined;
  }
  return set[0];
}

const placeholder = { kind: 'any' } as const;

export function permission(raw: Raw, path: string, p: Problems): Permission {
  const f = oneField(raw, path, p);
  if (!f) return placeholder;
  const at = join(path, f);
  const v = raw[f];
  const common = commonRule(f, v, at, p) ?? combinator<Permission>(f, v, at, p, permission, { and: 'and_rules', or: 'or_rules', not: 'not_rule', list: 'rules' });
  if (common) return common;
  switch (f) {
    case 'destination_ip':
      return cidrRule('destination_ip', obj(v), at, p);
    case 'destination_port':
      return { kind: 'destination_port', port: port(v, at, p) };
    case 'destination_port_range': {
      const r = obj(v);
      const start = num(r.start);
      const end = num(r.end);
      if (!(end > start)) p.add(at, `end (${end}) must be greater than start (${start})`);
      return { kind: 'destination_port_range', start, end };
    }
    case 'requested_server_name': {
      const matcher = stringMatcher(v, at, p);
      return matcher ? { kind: 'requested_server_name', matcher } : placeholder;
    }
    default:
      p.add(at, 'not supported');
      return placeholder;
  }
}

export function principal(raw: Raw, path: string, p: Problems): Principal {
  const f = oneField(raw, path, p);
  if (!f) return placeholder;
  const at = join(path, f);
  const v = raw[f];
  const common = commonRule(f, v, at, p) ?? combinator<Principal>(f, v, at, p, principal, { and: 'and_ids', or: 'or_ids', not: 'not_id', list: 'ids' });
  if (common) return common;
  switch (f) {
    case 'authenticated': {
      const a = obj(v);
      for (const k of Object.keys(a)) if (k !== 'principal_name') p.add(join(at, k), 'not supported');
      const principalName = has(a, 'principal_name') ? stringMatcher(a.principal_name, join(at, 'principal_name'), p) : undefined;
      return { kind: 'authenticated', principalName };
    }
    case 'direct_remote_ip':
    case 'remote_ip':
    case 'source_ip':
      return cidrRule(f, obj(v), at, p);
    default:
      p.add(at, 'not supported');
      return placeholder;
  }
}

/** and/or/not, spelt and_rules/or_rules/not_rule for permissions and and_ids/or_ids/not_id for principals. */
function combinator<T extends Permission | Principal>(
  f: string,
  v: unknown,
  at: string,
  p: Problems,
  recurse: (raw: Raw, path: string, p: Problems) => T,
  names: { and: string; or: string; not: string; list: string },
): T | undefined {
  if (f === names.not) return { kind: 'not', inner: recurse(obj(v), at, p) } as unknown as T;
  if (f !== names.and && f !== names.or) return undefined;
  const items = list(obj(v)[names.list]).map((r, i) => recurse(obj(r), `${join(at, names.list)}[${i}]`, p));
  if (items.length === 0) p.add(join(at, names.list), 'must not be empty');
  return { kind: f === names.and ? 'and' : 'or', items } as unknown as T;
}

type CommonRule = Extract<Permission, { kind: 'any' | 'header' | 'url_path' | 'metadata' }>;

/** The rules permissions and principals share; undefined for any other field. */
function commonRule(f: string, v: unknown, at: string, p: Problems): CommonRule | undefined {
  switch (f) {
    case 'any':
      if (v !== true) p.add(at, 'must be true');
      return placeholder;
    case 'header': {
      const matcher = headerMatcher(obj(v), at, p);
      return matcher ? { kind: 'header', matcher } : placeholder;
    }
    case 'url_path':
      return urlPath(obj(v), at, p) ?? placeholder;
    case 'metadata':
      return metadataRule(obj(v), at, p);
    default:
      return undefined;
  }
}

function port(v: unknown, at: string, p: Problems): number {
  const n = num(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) p.add(at, `${String(v)} is not a port`);
  return n;
}

function cidrRule<K extends 'destination_ip' | 'direct_remote_ip' | 'remote_ip' | 'source_ip'>(kind: K, raw: Raw, at: string, p: Problems): { kind: K; cidr: Cidr } | typeof placeholder {
  const c = cidr(raw, at, p);
  return c ? { kind, cidr: c } : placeholder;
}

/** type.matcher.v3.PathMatcher: `path` is a StringMatcher on the path without its query. */
function urlPath(raw: Raw, at: string, p: Problems): { kind: 'url_path'; matcher: StringMatcher } | undefined {
  if (!has(raw, 'path')) {
    p.add(join(at, 'path'), 'is required');
    return undefined;
  }
  const matcher = stringMatcher(raw.path, join(at, 'path'), p);
  return matcher && { kind: 'url_path', matcher };
}

function metadataRule(raw: Raw, at: string, p: Problems): { kind: 'metadata'; matcher: MetadataMatcher } {
  for (const k of Object.keys(raw)) if (!['filter', 'path', 'value', 'invert'].includes(k)) p.add(join(at, k), 'not supported');
  const filter = str(raw.filter);
  if (!filter) p.add(join(at, 'filter'), 'is required');
  const segments = list(raw.path).map((s, i) => {
    const key = str(obj(s).key);
    if (!key) p.add(`${join(at, 'path')}[${i}].key`, 'is required');
    return key;
  });
  if (segments.length === 0) p.add(join(at, 'path'), 'must not be empty');
  return { kind: 'metadata', matcher: { filter, path: segments, value: valueMatcher(obj(raw.value), join(at, 'value'), p), invert: raw.invert === true } };
}

function valueMatcher(raw: Raw, at: string, p: Problems): ValueMatcher {
  const f = oneField(raw, at, p);
  const v = f ? raw[f] : undefined;
  switch (f) {
    case 'string_match': {
      const matcher = stringMatcher(v, join(at, f), p);
      return matcher ? { kind: 'string', matcher } : { kind: 'present', present: false };
    }
    case 'bool_match':
      return { kind: 'bool', value: v === true };
    case 'present_match':
      return { kind: 'present', present: v === true };
    case 'double_match': {
      const d = obj(v);
      if (!has(d, 'exact')) p.add(join(at, f), 'only exact is supported');
      return { kind: 'double_exact', value: num(d.exact) };
    }
    case 'list_match':
      return { kind: 'list_one_of', item: valueMatcher(obj(obj(v).one_of), join(at, 'list_match.one_of'), p) };
    case 'or_match': {
      const matchers = list(obj(v).value_matchers).map((m, i) => valueMatcher(obj(m), `${join(at, 'or_match.value_matchers')}[${i}]`, p));
      return { kind: 'or', matchers };
    }
    case undefined:
      return { kind: 'present', present: false };
    default:
      p.add(join(at, f), 'not supported');
      return { kind: 'present', present: false };
  }
}

