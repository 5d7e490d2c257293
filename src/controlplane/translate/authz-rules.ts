// One Istio AuthorizationPolicy rule → one Envoy RBAC Policy (proto JSON), Istio's way
// (pilot/pkg/security/authz/model): `to` operations and permission-side `when` conditions become
// the permission (AND of fields, OR of values, `not*` as a negated OR); `from` sources and
// principal-side conditions the principal. HTTP-only fields on a TCP chain are errors the caller
// handles as Istio does (ALLOW: drop the rule; DENY/AUDIT: drop only the field).
import type { Condition, Rule } from '../../config/security-types.js';

type Json = Record<string, unknown>;

/** A field that cannot be expressed on this chain (HTTP-only on TCP) or at all. */
export class RuleFieldError extends Error {
  constructor(
    readonly field: string,
    readonly httpOnly: boolean,
    message: string,
  ) {
    super(message);
  }
}

/** Istio's string forms: `*` presence, `abc*` prefix, `*abc` suffix, else exact. */
export function istioStringMatch(value: string, o: { prefix?: string; ignoreCase?: boolean } = {}): Json {
  const pre = o.prefix ?? '';
  const ic = o.ignoreCase ? { ignore_case: true } : {};
  if (value === '*') return { safe_regex: { regex: '.+' } };
  if (value.endsWith('*')) return { prefix: pre + value.slice(0, -1), ...ic };
  if (value.startsWith('*')) return { suffix: value.slice(1), ...ic };
  return { exact: pre + value, ...ic };
}

/** Header matchers treat `*` as presence, not as a non-empty regex. */
function headerMatch(name: string, value: string, ignoreCase = false): Json {
  if (value === '*') return { name, present_match: true };
  return { name, string_match: istioStringMatch(value, { ignoreCase }) };
}

function cidrRange(value: string, field: string): Json {
  const [address, len] = value.split('/');
  if (!address) throw new RuleFieldError(field, false, `"${value}" is not an IP address or CIDR`);
  return { address_prefix: address, ...(len !== undefined ? { prefix_len: { value: Number(len) } } : {}) };
}

function port(value: string, field: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new RuleFieldError(field, false, `"${value}" is not a port`);
  return n;
}

/** Principal names: Istio matches `spiffe://` + the given form (no trust-domain aliasing here). */
function principalName(value: string): Json {
  return { authenticated: { principal_name: value === '*' ? { safe_regex: { regex: '.+' } } : istioStringMatch(value, { prefix: 'spiffe://' }) } };
}

/** Namespaces: a regex on the SPIFFE ID, `*` in the value matching any run of characters. */
function namespacePrincipal(value: string): Json {
  return { authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${value.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}/.*` } } } };
}

/** Metadata the JWT filter writes under istio_authn (request.auth.*). */
function authnMetadata(path: string[], value: string, list: boolean): Json {
  const sm = value === '*' ? { safe_regex: { regex: '.+' } } : istioStringMatch(value);
  const v = list ? { list_match: { one_of: { string_match: sm } } } : { string_match: sm };
  return { metadata: { filter: 'istio_authn', path: path.map((key) => ({ key })), value: v } };
}

type Side = 'permission' | 'principal';
interface Generator {
  side: Side;
  httpOnly: boolean;
  make(value: string, field: string, ctx: RuleContext): Json;
}

const gen = (side: Side, httpOnly: boolean, make: Generator['make']): Generator => ({ side, httpOnly, make });

/** Operation and Source fields (and `when` keys) → their generator. */
const operationFields: Record<string, Generator> = {
  hosts: gen('permission', true, (v) => ({ header: headerMatch(':authority', v, true) })),
  methods: gen('permission', true, (v) => ({ header: headerMatch(':method', v) })),
  paths: gen('permission', true, (v) => ({ url_path: { path: v === '*' ? { safe_regex: { regex: '.+' } } : istioStringMatch(v) } })),
  ports: gen('permission', false, (v, f, ctx) => ({ destination_port: ctx.destinationPort ? ctx.destinationPort(port(v, f)) : port(v, f) })),
};

const sourceFields: Record<string, Generator> = {
  principals: gen('principal', false, principalName),
  requestPrincipals: gen('principal', true, (v) => authnMetadata(['request.auth.principal'], v, false)),
  namespaces: gen('principal', false, namespacePrincipal),
  ipBlocks: gen('principal', false, (v, f) => ({ direct_remote_ip: cidrRange(v, f) })),
  remoteIpBlocks: gen('principal', false, (v, f) => ({ remote_ip: cidrRange(v, f) })),
};

function conditionGenerator(key: string): Generator {
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) return gen('principal', true, (v) => ({ header: headerMatch(header[1].toLowerCase(), v) }));
  const claims = /^request\.auth\.claims((?:\[[^\][]+\])+)$/.exec(key);
  if (claims) {
    const path = [...claims[1].matchAll(/\[([^\][]+)\]/g)].map((m) => m[1]);
    return gen('principal', true, (v) => authnMetadata(['request.auth.claims', ...path], v, true));
  }
  switch (key) {
    case 'source.ip':
      return sourceFields.ipBlocks;
    case 'remote.ip':
      return sourceFields.remoteIpBlocks;
    case 'source.namespace':
      return sourceFields.namespaces;
    case 'source.principal':
      return sourceFields.principals;
    case 'request.auth.principal':
      return sourceFields.requestPrincipals;
    case 'request.auth.audiences':
      return gen('principal', true, (v) => authnMetadata(['request.auth.audiences'], v, true));
    case 'request.auth.presenter':
      return gen('principal', true, (v) => authnMetadata(['request.auth.presenter'], v, false));
    case 'destination.ip':
      return gen('permission', false, (v, f) => ({ destination_ip: cidrRange(v, f) }));
    case 'destination.port':
      return operationFields.ports;
    case 'connection.sni':
      return gen('permission', false, (v) => ({ requested_server_name: istioStringMatch(v) }));
    default:
      throw new RuleFieldError(`when.key ${key}`, false, `condition key "${key}" is not supported`);
  }
}

/** How HTTP-only fields are treated on a TCP chain; undefined: an HTTP chain, everything applies. */
export type TcpMode = undefined | 'drop-rule' | 'drop-field';

/** How one rule is built. `lenient` (DENY, AUDIT): a field that cannot be expressed is left out and
 * reported in `skipped`, so the rule matches more, never less (Istio's checkError); otherwise
 * (ALLOW) it throws and the caller leaves the whole rule out, so it matches less. */
export interface RuleContext {
  tcp: TcpMode;
  lenient: boolean;
  skipped: string[];
  /** A workload port (what `ports` and `destination.port` name) → the local port its connections
   * arrive on, when a listener stands for it on another port (explicit mode); absent: the same. */
  destinationPort?: (workloadPort: number) => number;
}

function attempt<T>(ctx: RuleContext, fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof RuleFieldError) || !ctx.lenient || err.httpOnly) throw err;
    ctx.skipped.push(err.message);
    return fallback;
  }
}

interface Clause {
  side: Side;
  json: Json;
}

/** values (OR) and notValues (NOT of OR) of one field → clauses; HTTP-only fields per tcpMode. */
function fieldClauses(g: Generator, field: string, values: readonly string[] | undefined, notValues: readonly string[] | undefined, ctx: RuleContext): Clause[] {
  const tcp = ctx.tcp;
  if (g.httpOnly && tcp !== undefined) {
    if ((values?.length ?? 0) + (notValues?.length ?? 0) === 0) return [];
    if (tcp === 'drop-rule') throw new RuleFieldError(field, true, `${field} applies to HTTP only`);
    return [];
  }
  const or = (vs: readonly string[]): Json => orOf(g.side, vs.map((v) => g.make(v, field, ctx)));
  const out: Clause[] = [];
  if (values && values.length > 0) out.push({ side: g.side, json: or(values) });
  if (notValues && notValues.length > 0) out.push({ side: g.side, json: g.side === 'permission' ? { not_rule: or(notValues) } : { not_id: or(notValues) } });
  return out;
}

const operationKeys = ['hosts', 'methods', 'paths', 'ports'] as const;
const sourceKeys = ['principals', 'requestPrincipals', 'namespaces', 'ipBlocks', 'remoteIpBlocks'] as const;
const notKey = (k: string) => `not${k[0].toUpperCase()}${k.slice(1)}`;

function checkKnown(o: object, known: readonly string[], at: string, ctx: RuleContext): void {
  const all = new Set(known.flatMap((k) => [k, notKey(k)]));
  for (const k of Object.keys(o))
    if (!all.has(k))
      attempt(ctx, () => {
        throw new RuleFieldError(`${at}.${k}`, false, `${at}.${k} is not supported`);
      }, undefined);
}

/** AND or OR of clauses on one side; an empty AND is `any`. */
function combine(kind: 'and' | 'or', side: Side, clauses: Json[]): Json {
  if (clauses.length === 0) return { any: true };
  if (clauses.length === 1) return clauses[0];
  return side === 'permission' ? { [`${kind}_rules`]: { rules: clauses } } : { [`${kind}_ids`]: { ids: clauses } };
}
const and = (side: Side, clauses: Json[]) => combine('and', side, clauses);
const orOf = (side: Side, clauses: Json[]) => combine('or', side, clauses);

/** One operation or source: the AND of its fields, each field the OR of its values (and NOT of its not-values). */
function fieldsClause(o: object, keys: readonly string[], generators: Record<string, Generator>, at: string, ctx: RuleContext): Json {
  checkKnown(o, keys, at, ctx);
  const values = o as Record<string, string[] | undefined>;
  const cs = keys.flatMap((k) => attempt(ctx, () => fieldClauses(generators[k], `${at}.${k}`, values[k], values[notKey(k)], ctx), []));
  return and(generators[keys[0]].side, cs.map((c) => c.json));
}

/** One rule → RBAC Policy JSON; throws RuleFieldError when it cannot be expressed. */
export function rulePolicy(rule: Rule, at: string, ctx: RuleContext): { permissions: Json[]; principals: Json[] } {
  for (const k of Object.keys(rule))
    if (k !== 'from' && k !== 'to' && k !== 'when')
      attempt(ctx, () => {
        throw new RuleFieldError(`${at}.${k}`, false, `${at}.${k} is not supported`);
      }, undefined);
  const permission: Json[] = [];
  const principal: Json[] = [];
  const add = (cs: Clause[]) => cs.forEach((c) => (c.side === 'permission' ? permission : principal).push(c.json));
  if (rule.to && rule.to.length > 0) permission.push(orOf('permission', rule.to.map(({ operation }, i) => fieldsClause(operation ?? {}, operationKeys, operationFields, `${at}.to[${i}].operation`, ctx))));
  if (rule.from && rule.from.length > 0) principal.push(orOf('principal', rule.from.map(({ source }, i) => fieldsClause(source ?? {}, sourceKeys, sourceFields, `${at}.from[${i}].source`, ctx))));
  (rule.when ?? []).forEach((c: Condition, i) => {
    add(
      attempt(ctx, () => {
        if (!c.values?.length && !c.notValues?.length) throw new RuleFieldError(`${at}.when[${i}]`, false, `${at}.when[${i}] (${c.key}) needs values or notValues`);
        return fieldClauses(conditionGenerator(c.key), `${at}.when[${i}] (${c.key})`, c.values, c.notValues, ctx);
      }, []),
    );
  });
  return { permissions: [and('permission', permission)], principals: [and('principal', principal)] };
}
