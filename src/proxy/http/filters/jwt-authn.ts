// envoy.filters.http.jwt_authn: find the requirement for the request (route's PerRouteConfig, else
// the first matching rule), extract each provider's token, verify it, and either answer 401 with
// Envoy's message or continue with the payload where RBAC reads it: dynamic metadata under
// payload_in_metadata and, for Istio's RBAC, `istio_authn` (request.auth.principal, claims, …).
import { base64url, type JWTPayload } from 'jose';
import type { HcmStats } from '../connection-manager.js';
import { CONTINUE, STOP, type FilterStatus, type HttpFilter, type HttpFilterType } from '../filter.js';
import { sendLocalReply } from '../local-reply.js';
import type { HttpStream } from '../stream.js';
import { JWT_AUTHN_PER_ROUTE_TYPE_URL, JWT_AUTHN_TYPE_URL, jwtAuthnConfig, jwtAuthnPerRoute, type JwtAuthnConfig, type JwtPerRoute, type JwtProvider, type JwtRequirement } from '../../jwt/config.js';
import { JwtMessage, verifyJwt, type JwtStatus } from '../../jwt/verify.js';
import { authnMetadata, AUTHN_METADATA_NAMESPACE } from '../../rbac/authn-metadata.js';
import { setStreamMetadata } from '../../rbac/metadata.js';

export const JWT_AUTHN_METADATA_NAMESPACE = 'envoy.filters.http.jwt_authn';

export const jwtAuthnFilterType: HttpFilterType<JwtAuthnConfig> = {
  typeUrl: JWT_AUTHN_TYPE_URL,
  parse: jwtAuthnConfig,
  parsePerRoute: jwtAuthnPerRoute,
  perRouteTypeUrl: JWT_AUTHN_PER_ROUTE_TYPE_URL,
  create: (name, config, deps) => new JwtAuthnFilter(name, config, deps.stats),
};

/** A provider's outcome for one request: no token where it looks, or the verification result. */
type Outcome = { missing: true } | ({ missing: false; token: string; header: string | undefined } & JwtStatus);

export class JwtAuthnFilter implements HttpFilter {
  constructor(
    readonly name: string,
    private readonly config: JwtAuthnConfig,
    private readonly stats: HcmStats,
  ) {}

  onRequest(stream: HttpStream): FilterStatus | Promise<FilterStatus> {
    const requirement = this.requirementFor(stream);
    if (requirement === null) return CONTINUE;
    return this.check(stream, requirement);
  }

  /** null: nothing is required of this request. */
  private requirementFor(stream: HttpStream): JwtRequirement | null {
    if (this.config.bypassCorsPreflight && stream.method === 'OPTIONS' && stream.header('origin') !== undefined && stream.header('access-control-request-method') !== undefined) return null;
    const perRoute = stream.perFilterConfig<JwtPerRoute>(this.name, JWT_AUTHN_PER_ROUTE_TYPE_URL);
    if (perRoute?.disabled) return null;
    if (perRoute) return this.config.requirementMap.get(perRoute.requirementName) ?? { kind: 'provider', name: `(undefined requirement ${perRoute.requirementName})`, audiences: undefined };
    const path = stream.path;
    const rule = this.config.rules.find((r) => (r.match.kind === 'path' ? path === r.match.value : path.startsWith(r.match.value)));
    return rule?.requires ?? null;
  }

  private async check(stream: HttpStream, requirement: JwtRequirement): Promise<FilterStatus> {
    const outcomes = new Map<string, Outcome>();
    const now = Math.floor(Date.now() / 1000);
    const outcome = async (name: string, audiences: string[] | undefined): Promise<Outcome> => {
      const key = `${name}|${audiences?.join(',') ?? ''}`;
      let o = outcomes.get(key);
      if (!o) {
        const provider = this.config.providers.get(name);
        const found = provider && extractToken(stream, provider);
        o = !provider ? { missing: false, token: '', header: undefined, ok: false, message: JwtMessage.unknownIssuer } : !found ? { missing: true } : { missing: false, ...found, ...(await verifyJwt(found.token, provider, audiences, now)) };
        outcomes.set(key, o);
        if (provider && !o.missing && o.ok) this.accept(stream, provider, o.payload, o.header);
      }
      return o;
    };
    const anyTokenPresent = () => [...this.config.providers.values()].some((p) => extractToken(stream, p) !== undefined);
    const result = await evaluate(requirement, outcome, anyTokenPresent);
    if (stream.info.finalized) return STOP;
    if (result.ok) {
      this.count('allowed');
      return CONTINUE;
    }
    this.count('denied');
    sendLocalReply(stream, {
      status: 401,
      details: `jwt_authn_access_denied{${result.message.replace(/ /g, '_')}}`,
      body: result.message,
      headers: { 'www-authenticate': `Bearer realm="http://${stream.authority}${stream.path}"${result.message === JwtMessage.missing ? '' : ', error="invalid_token"'}` },
    });
    return STOP;
  }

  /** A verified token: metadata for RBAC, headers for the app, the token itself dropped unless forwarded. */
  private accept(stream: HttpStream, provider: JwtProvider, payload: JWTPayload, header: string | undefined): void {
    if (provider.payloadInMetadata) setStreamMetadata(stream, JWT_AUTHN_METADATA_NAMESPACE, { [provider.payloadInMetadata]: payload });
    setStreamMetadata(stream, AUTHN_METADATA_NAMESPACE, authnMetadata(payload));
    const headers = stream.req.headers;
    if (!provider.forward && header) delete headers[header];
    if (provider.forwardPayloadHeader) headers[provider.forwardPayloadHeader] = base64url.encode(JSON.stringify(payload));
    for (const { header: h, claim } of provider.claimToHeaders) {
      const v = payload[claim];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') headers[h] = String(v);
    }
  }

  private count(name: 'allowed' | 'denied'): void {
    const key = `jwt_authn.${name}` as const;
    this.stats[key] = (this.stats[key] ?? 0) + 1;
  }
}

type Verdict = { ok: true } | { ok: false; missing: boolean; message: string };

async function evaluate(r: JwtRequirement, outcome: (name: string, aud: string[] | undefined) => Promise<Outcome>, anyTokenPresent: () => boolean): Promise<Verdict> {
  switch (r.kind) {
    case 'provider': {
      const o = await outcome(r.name, r.audiences);
      if (o.missing) return { ok: false, missing: true, message: JwtMessage.missing };
      return o.ok ? { ok: true } : { ok: false, missing: false, message: o.message };
    }
    case 'allow_missing':
      return anyTokenPresent() ? { ok: false, missing: false, message: JwtMessage.verificationFails } : { ok: true };
    case 'allow_missing_or_failed':
      return { ok: true };
    case 'all': {
      for (const item of r.items) {
        const v = await evaluate(item, outcome, anyTokenPresent);
        if (!v.ok) return v;
      }
      return { ok: true };
    }
    case 'any': {
      // Envoy reports the most telling failure: a token that failed over "missing".
      let worst: Verdict | undefined;
      for (const item of r.items) {
        const v = await evaluate(item, outcome, anyTokenPresent);
        if (v.ok) return v;
        if (item.kind !== 'allow_missing' && (!worst || (worst.ok === false && worst.missing && !v.missing))) worst = v;
      }
      return worst ?? { ok: false, missing: false, message: JwtMessage.verificationFails };
    }
  }
}

/** The provider's token: from_headers, from_params, from_cookies; none given: `Authorization: Bearer` or `access_token`. */
function extractToken(stream: HttpStream, p: JwtProvider): { token: string; header: string | undefined } | undefined {
  const defaults = p.fromHeaders.length === 0 && p.fromParams.length === 0 && p.fromCookies.length === 0;
  const headers = defaults ? [{ name: 'authorization', valuePrefix: 'Bearer ' }] : p.fromHeaders;
  for (const h of headers) {
    const v = stream.header(h.name);
    if (v === undefined) continue;
    if (!h.valuePrefix) return { token: v.trim(), header: h.name };
    const at = v.indexOf(h.valuePrefix);
    if (at >= 0) return { token: v.slice(at + h.valuePrefix.length).trim(), header: h.name };
  }
  for (const name of defaults ? ['access_token'] : p.fromParams) {
    const v = stream.queryParam(name);
    if (v) return { token: v, header: undefined };
  }
  if (p.fromCookies.length > 0) {
    const cookies = new Map((stream.header('cookie') ?? '').split(';').map((c) => c.trim().split('=') as [string, string]));
    for (const name of p.fromCookies) {
      const v = cookies.get(name);
      if (v) return { token: v, header: undefined };
    }
  }
  return undefined;
}
