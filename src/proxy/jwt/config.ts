// envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication (+ PerRouteConfig) → typed, at the
// xDS edge. Keys come inline (local_jwks): istiod resolves jwksUri itself and inlines the keys, so
// remote_jwks is a NACK here (the proxy never fetches keys on the request path).
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { has, join, list, num, obj, str, type Problems, type Raw } from '../xds/validate-common.js';

export const JWT_AUTHN_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
export const JWT_AUTHN_PER_ROUTE_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig';

export interface JwtProvider {
  name: string;
  issuer: string;
  audiences: string[];
  keys: ReturnType<typeof createLocalJWKSet>;
  fromHeaders: Array<{ name: string; valuePrefix: string }>;
  fromParams: string[];
  fromCookies: string[];
  forward: boolean;
  forwardPayloadHeader: string;
  payloadInMetadata: string;
  claimToHeaders: Array<{ header: string; claim: string }>;
  clockSkewSeconds: number;
}

export type JwtRequirement =
  | { kind: 'provider'; name: string; audiences: string[] | undefined }
  | { kind: 'any' | 'all'; items: JwtRequirement[] }
  | { kind: 'allow_missing' }
  | { kind: 'allow_missing_or_failed' };

export interface JwtAuthnConfig {
  providers: Map<string, JwtProvider>;
  /** First match by path wins; no match: the request needs nothing. */
  rules: Array<{ match: { kind: 'prefix' | 'path'; value: string }; requires: JwtRequirement | undefined }>;
  requirementMap: Map<string, JwtRequirement>;
  /** CORS preflights (OPTIONS with Origin and Access-Control-Request-Method) skip verification. */
  bypassCorsPreflight: boolean;
}

export type JwtPerRoute = { disabled: true } | { disabled: false; requirementName: string };

const DEFAULT_CLOCK_SKEW_S = 60; // Envoy's clock_skew_seconds default

const providerFields = new Set([
  'issuer', 'audiences', 'local_jwks', 'remote_jwks', 'from_headers', 'from_params', 'from_cookies', 'forward', 'forward_payload_header',
  'payload_in_metadata', 'claim_to_headers', 'clock_skew_seconds',
]);

function provider(name: string, raw: Raw, path: string, p: Problems): JwtProvider {
  for (const k of Object.keys(raw)) if (!providerFields.has(k)) p.add(join(path, k), 'not supported');
  if (has(raw, 'remote_jwks')) p.add(join(path, 'remote_jwks'), 'not supported: the control plane inlines the keys (local_jwks), as istiod does');
  let keys: JwtProvider['keys'] = createLocalJWKSet({ keys: [] });
  const local = obj(raw.local_jwks);
  if (!has(raw, 'remote_jwks')) {
    if (!has(local, 'inline_string')) p.add(join(path, 'local_jwks.inline_string'), 'is required (inline JWKS)');
    else {
      try {
        const jwks = JSON.parse(str(local.inline_string)) as JSONWebKeySet;
        if (!Array.isArray(jwks.keys)) throw new Error('no "keys" array');
        keys = createLocalJWKSet(jwks);
      } catch (err) {
        p.add(join(path, 'local_jwks.inline_string'), `not a JWKS: ${(err as Error).message}`);
      }
    }
  }
  return {
    name,
    issuer: str(raw.issuer),
    audiences: list(raw.audiences).map(String),
    keys,
    fromHeaders: list(raw.from_headers).map((h, i) => {
      const ho = obj(h);
      if (!str(ho.name)) p.add(`${join(path, 'from_headers')}[${i}].name`, 'is required');
      return { name: str(ho.name).toLowerCase(), valuePrefix: str(ho.value_prefix) };
    }),
    fromParams: list(raw.from_params).map(String),
    fromCookies: list(raw.from_cookies).map(String),
    forward: raw.forward === true,
    forwardPayloadHeader: str(raw.forward_payload_header).toLowerCase(),
    payloadInMetadata: str(raw.payload_in_metadata),
    claimToHeaders: list(raw.claim_to_headers).map((c) => ({ header: str(obj(c).header_name).toLowerCase(), claim: str(obj(c).claim_name) })),
    clockSkewSeconds: has(raw, 'clock_skew_seconds') ? num(raw.clock_skew_seconds) : DEFAULT_CLOCK_SKEW_S,
  };
}

function requirement(raw: Raw, path: string, p: Problems, providers: ReadonlyMap<string, JwtProvider>): JwtRequirement {
  const fields = Object.keys(raw);
  if (fields.length !== 1) {
    p.add(path, `exactly one requirement expected, got ${fields.join(', ') || 'none'}`);
    return { kind: 'allow_missing_or_failed' };
  }
  const f = fields[0];
  const at = join(path, f);
  const named = (name: string, audiences: string[] | undefined): JwtRequirement => {
    if (!providers.has(name)) p.add(at, `provider "${name}" is not defined`);
    return { kind: 'provider', name, audiences };
  };
  switch (f) {
    case 'provider_name':
      return named(str(raw.provider_name), undefined);
    case 'provider_and_audiences': {
      const pa = obj(raw.provider_and_audiences);
      return named(str(pa.provider_name), list(pa.audiences).map(String));
    }
    case 'requires_any':
    case 'requires_all': {
      const items = list(obj(raw[f]).requirements).map((r, i) => requirement(obj(r), `${join(at, 'requirements')}[${i}]`, p, providers));
      if (items.length < 2) p.add(join(at, 'requirements'), 'needs at least 2 requirements');
      return { kind: f === 'requires_any' ? 'any' : 'all', items };
    }
    case 'allow_missing':
      return { kind: 'allow_missing' };
    case 'allow_missing_or_failed':
      return { kind: 'allow_missing_or_failed' };
    default:
      p.add(at, 'not supported');
      return { kind: 'allow_missing_or_failed' };
  }
}

export function jwtAuthnConfig(raw: Raw, path: string, p: Problems): JwtAuthnConfig {
  for (const k of Object.keys(raw)) if (!['@type', 'providers', 'rules', 'requirement_map', 'bypass_cors_preflight'].includes(k)) p.add(join(path, k), 'not supported');
  const providersRaw = obj(raw.providers);
  const providers = new Map(Object.keys(providersRaw).map((n) => [n, provider(n, obj(providersRaw[n]), `${join(path, 'providers')}[${JSON.stringify(n)}]`, p)]));
  const rules = list(raw.rules).map((r, i) => {
    const ro = obj(r);
    const at = `${join(path, 'rules')}[${i}]`;
    const m = obj(ro.match);
    for (const k of Object.keys(m)) if (k !== 'prefix' && k !== 'path') p.add(join(at, `match.${k}`), 'not supported (prefix and path only)');
    const match = has(m, 'path') ? { kind: 'path' as const, value: str(m.path) } : { kind: 'prefix' as const, value: str(m.prefix) };
    return { match, requires: has(ro, 'requires') ? requirement(obj(ro.requires), join(at, 'requires'), p, providers) : undefined };
  });
  const mapRaw = obj(raw.requirement_map);
  const requirementMap = new Map(Object.keys(mapRaw).map((n) => [n, requirement(obj(mapRaw[n]), `${join(path, 'requirement_map')}[${JSON.stringify(n)}]`, p, providers)]));
  return { providers, rules, requirementMap, bypassCorsPreflight: raw.bypass_cors_preflight === true };
}

export function jwtAuthnPerRoute(raw: Raw, path: string, p: Problems): JwtPerRoute {
  if (raw.disabled === true) return { disabled: true };
  const name = str(raw.requirement_name);
  if (!name) p.add(join(path, 'requirement_name'), 'is required unless disabled');
  return { disabled: false, requirementName: name };
}
