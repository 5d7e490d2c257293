// RequestAuthentications → the jwt_authn filter config for one workload's inbound HTTP chain, as
// istiod builds it: pure. One provider per jwtRule (`origins-<i>`, keys inlined: a jwksUri is
// looked up in what the JWKS resolver holds), and Istio's requirement: any provider's valid token,
// or no token at all (`allow_missing`) — an invalid token is a 401, a missing one passes (an
// AuthorizationPolicy with requestPrincipals is what makes a token mandatory).
import type { JWTRule, RequestAuthenticationSpec } from '../../config/security-types.js';
import { forWorkload, type AuthzWorkload } from './authorization.js';

type Json = Record<string, unknown>;

export const JWT_AUTHN_FILTER_NAME = 'envoy.filters.http.jwt_authn';
const JWT_AUTHN_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
/** What a provider gets when its keys are unknown (jwksUri not resolved yet or failing): no key, so
 * every token fails verification and no token is ever accepted unchecked (istiod's fake JWKS idea). */
export const EMPTY_JWKS = '{"keys":[]}';

export interface RequestAuthenticationResource {
  name: string;
  namespace: string;
  spec: RequestAuthenticationSpec;
}

export interface AuthnOptions {
  rootNamespace?: string;
  /** The resolved key set (JSON text) of a jwksUri, if the resolver has one. */
  jwksFor(uri: string): string | undefined;
}

function provider(rule: JWTRule, o: AuthnOptions): Json {
  const jwks = rule.jwks ?? (rule.jwksUri ? o.jwksFor(rule.jwksUri) : undefined) ?? EMPTY_JWKS;
  return {
    issuer: rule.issuer,
    ...(rule.audiences?.length ? { audiences: rule.audiences } : {}),
    local_jwks: { inline_string: jwks },
    ...(rule.fromHeaders?.length ? { from_headers: rule.fromHeaders.map((h) => ({ name: h.name, ...(h.prefix ? { value_prefix: h.prefix } : {}) })) } : {}),
    ...(rule.fromParams?.length ? { from_params: rule.fromParams } : {}),
    ...(rule.fromCookies?.length ? { from_cookies: rule.fromCookies } : {}),
    forward: rule.forwardOriginalToken === true,
    ...(rule.outputPayloadToHeader ? { forward_payload_header: rule.outputPayloadToHeader } : {}),
    ...(rule.outputClaimToHeaders?.length ? { claim_to_headers: rule.outputClaimToHeaders.map((c) => ({ header_name: c.header, claim_name: c.claim })) } : {}),
    payload_in_metadata: rule.issuer,
  };
}

/** The jwt_authn http_filters entry for `w`, or undefined when no RequestAuthentication applies. */
export function jwtAuthnFilter(all: readonly RequestAuthenticationResource[], w: AuthzWorkload, o: AuthnOptions): Json | undefined {
  const rules = forWorkload(all, w, o.rootNamespace).flatMap((r) => r.spec.jwtRules);
  if (rules.length === 0) return undefined;
  const providers: Record<string, Json> = {};
  rules.forEach((rule, i) => (providers[`origins-${i}`] = provider(rule, o)));
  const requirements = [...Object.keys(providers).map((name) => ({ provider_name: name })), { allow_missing: {} }];
  return {
    name: JWT_AUTHN_FILTER_NAME,
    typed_config: { '@type': JWT_AUTHN_TYPE_URL, providers, rules: [{ match: { prefix: '/' }, requires: { requires_any: { requirements } } }], bypass_cors_preflight: true },
  };
}
