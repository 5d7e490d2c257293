// What a verified JWT makes known to authorization, in the `istio_authn` metadata namespace that
// Istio's RBAC translation reads: request.auth.principal (`iss/sub`), .audiences, .presenter and
// .claims. Claim values are lists of strings at every leaf (a string claim is a one-item list),
// nested objects are kept, so `request.auth.claims[a][b]` is a path and a list match, as in Istio.
export const AUTHN_METADATA_NAMESPACE = 'istio_authn';

function claimValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean').map(String);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, claimValue(x)]));
  if (typeof v === 'string') return [v];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  return [];
}

export function authnMetadata(payload: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { 'request.auth.claims': claimValue(payload) };
  if (typeof payload.iss === 'string' && typeof payload.sub === 'string') out['request.auth.principal'] = `${payload.iss}/${payload.sub}`;
  const aud = claimValue(payload.aud);
  if (Array.isArray(aud) && aud.length > 0) out['request.auth.audiences'] = aud;
  if (typeof payload.azp === 'string') out['request.auth.presenter'] = payload.azp;
  return out;
}
