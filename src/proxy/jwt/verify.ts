// Verify one token for one provider, Envoy's order and messages (jwt_authn's authenticator): the
// token's form, its issuer, its lifetime (with clock skew), its audiences, then its signature
// against the provider's keys (jose). A verified token yields its payload.
import { compactVerify, decodeJwt, errors as joseErrors, type JWTPayload } from 'jose';
import type { JwtProvider } from './config.js';

export type JwtStatus = { ok: true; payload: JWTPayload } | { ok: false; message: string };

/** Envoy's status messages (jwt_authn/status), as clients see them in a 401. */
export const JwtMessage = {
  missing: 'Jwt is missing',
  badFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  unknownIssuer: 'Jwt issuer is not configured',
  expired: 'Jwt is expired',
  notYetValid: 'Jwt not yet valid',
  audience: 'Audiences in Jwt are not allowed',
  noKey: "Jwks doesn't have key to match kid or alg from Jwt",
  verificationFails: 'Jwt verification fails',
} as const;

export async function verifyJwt(token: string, provider: JwtProvider, audiences: readonly string[] | undefined, nowSeconds: number): Promise<JwtStatus> {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    return { ok: false, message: JwtMessage.badFormat };
  }
  if (provider.issuer && payload.iss !== provider.issuer) return { ok: false, message: JwtMessage.unknownIssuer };
  const skew = provider.clockSkewSeconds;
  if (typeof payload.exp === 'number' && payload.exp + skew < nowSeconds) return { ok: false, message: JwtMessage.expired };
  if (typeof payload.nbf === 'number' && payload.nbf - skew > nowSeconds) return { ok: false, message: JwtMessage.notYetValid };
  const allowed = audiences ?? provider.audiences;
  if (allowed.length > 0) {
    const aud = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
    if (!aud.some((a) => allowed.includes(a))) return { ok: false, message: JwtMessage.audience };
  }
  try {
    await compactVerify(token, provider.keys);
  } catch (err) {
    return { ok: false, message: err instanceof joseErrors.JWKSNoMatchingKey ? JwtMessage.noKey : JwtMessage.verificationFails };
  }
  return { ok: true, payload };
}
