// RequestAuthentication (security.istio.io): which JWTs a workload accepts (issuer, audiences, keys,
// where the token is read from, what is forwarded). A request without a token passes; policies that
// require requestPrincipals deny it later.
import type { JWTRule, JwtHeader, RequestAuthenticationSpec } from '../security-types.js';
import { headerNameProblem } from './common.js';
import { fields } from './fields.js';
import type { Issues, Path } from './issues.js';
import { readAttachment } from './security-common.js';
import { specFieldNames, type SpecShape } from '../spec-shape.js';

function jwksUriProblem(s: string): string | undefined {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return `${JSON.stringify(s)} is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${JSON.stringify(s)} must be an http or https URL`;
  return undefined;
}

/** Inline JWKS: JSON text with a `keys` list (RFC 7517 §5). The keys themselves are checked by the JWT library that loads them. */
function jwksProblem(s: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    return `is not JSON: ${(e as Error).message}`;
  }
  const keys = (v as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return 'must be a JSON Web Key Set: an object with a "keys" list';
  return undefined;
}

function readJwtRule(issues: Issues, v: unknown, path: Path): JWTRule | undefined {
  const f = fields(issues, v, path, [
    'issuer', 'audiences', 'jwksUri', 'jwks', 'fromHeaders', 'fromParams', 'fromCookies',
    'outputPayloadToHeader', 'forwardOriginalToken', 'outputClaimToHeaders', 'timeout',
  ]);
  if (!f) return undefined;
  const before = issues.size;
  const issuer = f.str('issuer', { required: true });
  const rule: Partial<JWTRule> = {};
  const audiences = f.strList('audiences');
  if (audiences) {
    audiences.forEach((a, i) => a === '' && issues.add('WEFT_E_INVALID_VALUE', [...f.at('audiences'), i], 'must not be empty'));
    rule.audiences = audiences;
  }
  const jwksUri = f.str('jwksUri');
  const jwks = f.str('jwks');
  if (jwksUri !== undefined && jwks !== undefined) issues.add('WEFT_E_CONFLICT', f.at('jwks'), 'only one of jwks and jwksUri may be set');
  else if (jwksUri === undefined && jwks === undefined && issuer !== undefined) {
    issues.add('WEFT_E_UNSUPPORTED', path, 'set jwksUri or jwks: finding the keys through the issuer\'s OpenID discovery document is not implemented yet');
  }
  if (jwksUri !== undefined) {
    const p = jwksUriProblem(jwksUri);
    if (p) issues.add('WEFT_E_INVALID_VALUE', f.at('jwksUri'), p);
    rule.jwksUri = jwksUri;
  }
  if (jwks !== undefined) {
    const p = jwksProblem(jwks);
    if (p) issues.add('WEFT_E_INVALID_VALUE', f.at('jwks'), p);
    rule.jwks = jwks;
  }
  const headers = f.list('fromHeaders');
  if (headers) {
    rule.fromHeaders = [];
    for (const { value, path: p } of headers) {
      const h = fields(issues, value, p, ['name', 'prefix']);
      const name = h?.str('name', { required: true });
      if (!h || name === undefined) continue;
      const problem = headerNameProblem(name);
      if (problem) issues.add('WEFT_E_INVALID_VALUE', h.at('name'), problem);
      const prefix = h.str('prefix');
      const header: JwtHeader = { name, ...(prefix !== undefined ? { prefix } : {}) };
      rule.fromHeaders.push(header);
    }
  }
  for (const key of ['fromParams', 'fromCookies'] as const) {
    const list = f.strList(key);
    if (!list) continue;
    list.forEach((s, i) => s === '' && issues.add('WEFT_E_INVALID_VALUE', [...f.at(key), i], 'must not be empty'));
    rule[key] = list;
  }
  const payloadHeader = f.str('outputPayloadToHeader');
  if (payloadHeader !== undefined) {
    const p = headerNameProblem(payloadHeader);
    if (p) issues.add('WEFT_E_INVALID_VALUE', f.at('outputPayloadToHeader'), p);
    rule.outputPayloadToHeader = payloadHeader;
  }
  const forward = f.bool('forwardOriginalToken');
  if (forward !== undefined) rule.forwardOriginalToken = forward;
  const claimHeaders = f.list('outputClaimToHeaders');
  if (claimHeaders) {
    rule.outputClaimToHeaders = [];
    for (const { value, path: p } of claimHeaders) {
      const c = fields(issues, value, p, ['header', 'claim']);
      const header = c?.str('header', { required: true });
      const claim = c?.str('claim', { required: true });
      if (!c || header === undefined || claim === undefined) continue;
      const problem = headerNameProblem(header);
      if (problem) issues.add('WEFT_E_INVALID_VALUE', c.at('header'), problem);
      rule.outputClaimToHeaders.push({ header, claim });
    }
  }
  if (f.has('timeout') && f.durationMs('timeout') !== undefined) rule.timeout = f.str('timeout');
  if (issues.size !== before || issuer === undefined) return undefined;
  return { issuer, ...rule };
}

export const REQUEST_AUTHENTICATION_SPEC = { selector: 'object', targetRef: 'object', targetRefs: 'objects', jwtRules: 'objects' } as const satisfies SpecShape;
const RA_FIELDS = specFieldNames(REQUEST_AUTHENTICATION_SPEC);

export function validateRequestAuthentication(issues: Issues, spec: unknown, path: Path): RequestAuthenticationSpec | undefined {
  const f = fields(issues, spec, path, RA_FIELDS);
  if (!f) return undefined;
  const before = issues.size;
  const attachment = readAttachment(f);
  const jwtRules: JWTRule[] = [];
  for (const { value, path: p } of f.list('jwtRules') ?? []) {
    const rule = readJwtRule(issues, value, p);
    if (rule) jwtRules.push(rule);
  }
  return issues.size === before ? { ...attachment, jwtRules } : undefined;
}
