// The RBAC filters' own configs at the xDS edge: envoy.extensions.filters.http.rbac.v3.RBAC (+
// RBACPerRoute) and envoy.extensions.filters.network.rbac.v3.RBAC → typed, with compiled engines.
import { has, join, obj, str, type Problems, type Raw } from '../xds/validate-common.js';
import { RbacEngine } from './engine.js';
import { rbacRules } from './parse.js';

export const HTTP_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const HTTP_RBAC_PER_ROUTE_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
export const NETWORK_RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';

export interface RbacFilterConfig {
  /** Absent: enforce nothing (Envoy: no rules, the filter allows everything). */
  rules: RbacEngine | undefined;
  rulesStatPrefix: string;
  /** Evaluated and counted, never enforced. */
  shadowRules: RbacEngine | undefined;
  shadowRulesStatPrefix: string;
}

/** Per route: absent `rbac` disables the filter for that route (Envoy's RBACPerRoute). */
export type RbacPerRoute = { disabled: true } | { disabled: false; config: RbacFilterConfig };

export interface NetworkRbacConfig extends RbacFilterConfig {
  statPrefix: string;
  /** ONE_TIME_ON_FIRST_BYTE (Envoy's default) or CONTINUOUS; the inputs here do not change mid-connection, so both decide once. */
  enforcement: 'ONE_TIME_ON_FIRST_BYTE' | 'CONTINUOUS';
}

function rulesPart(raw: Raw, path: string, p: Problems, unsupported: readonly string[], allowed: readonly string[]): RbacFilterConfig {
  for (const k of Object.keys(raw)) {
    if (k === '@type') continue;
    if (unsupported.includes(k) || !allowed.includes(k)) p.add(join(path, k), 'not supported');
  }
  return {
    rules: has(raw, 'rules') ? new RbacEngine(rbacRules(obj(raw.rules), join(path, 'rules'), p)) : undefined,
    rulesStatPrefix: str(raw.rules_stat_prefix),
    shadowRules: has(raw, 'shadow_rules') ? new RbacEngine(rbacRules(obj(raw.shadow_rules), join(path, 'shadow_rules'), p)) : undefined,
    shadowRulesStatPrefix: str(raw.shadow_rules_stat_prefix),
  };
}

const httpFields = ['rules', 'shadow_rules', 'shadow_rules_stat_prefix', 'rules_stat_prefix'];

export function httpRbacConfig(raw: Raw, path: string, p: Problems): RbacFilterConfig {
  return rulesPart(raw, path, p, ['matcher', 'shadow_matcher', 'track_per_rule_stats'], httpFields);
}

export function httpRbacPerRoute(raw: Raw, path: string, p: Problems): RbacPerRoute {
  for (const k of Object.keys(raw)) if (k !== '@type' && k !== 'rbac') p.add(join(path, k), 'not supported');
  return has(raw, 'rbac') ? { disabled: false, config: httpRbacConfig(obj(raw.rbac), join(path, 'rbac'), p) } : { disabled: true };
}

export function networkRbacConfig(raw: Raw, path: string, p: Problems): NetworkRbacConfig {
  const base = rulesPart(raw, path, p, ['matcher', 'shadow_matcher', 'delay_deny'], [...httpFields, 'stat_prefix', 'enforcement_type']);
  const statPrefix = str(raw.stat_prefix);
  if (!statPrefix) p.add(join(path, 'stat_prefix'), 'is required');
  const enforcement = str(raw.enforcement_type) || 'ONE_TIME_ON_FIRST_BYTE';
  if (enforcement !== 'ONE_TIME_ON_FIRST_BYTE' && enforcement !== 'CONTINUOUS') p.add(join(path, 'enforcement_type'), `unknown value "${enforcement}"`);
  return { ...base, statPrefix, enforcement: enforcement === 'CONTINUOUS' ? 'CONTINUOUS' : 'ONE_TIME_ON_FIRST_BYTE' };
}
