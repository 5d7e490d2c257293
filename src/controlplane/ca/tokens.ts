// Workload tokens for universal mode (no Kubernetes to vouch for a workload): `weft token create`
// signs one with an ES256 key kept in the CA dir (0600), a proxy presents it as
// `authorization: Bearer …`, and the control plane verifies it with the same key. The claims follow a
// Kubernetes service-account token (`sub: system:serviceaccount:<ns>:<sa>`, audience `istio-ca`), so a
// TokenReview-backed verifier can later return the same identity.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { jwtVerify, SignJWT } from 'jose';
import { caPath, KEY_FILE_MODE, readKeyFile, writeNewFile } from './ca-files.js';
import type { SpiffeIdentity } from '../../api/spiffe.js';

export const TOKEN_ISSUER = 'weft-ca';
export const TOKEN_AUDIENCE = 'istio-ca';
const SUBJECT = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

export class TokenAuthority {
  private constructor(
    private readonly key: crypto.KeyObject,
    readonly trustDomain: string,
  ) {}

  /** Load the signing key from the CA dir, creating it on first use. */
  static open(dir: string, trustDomain: string): TokenAuthority {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = caPath(dir, 'tokenKey');
    if (!fs.existsSync(file)) {
      const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeNewFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, KEY_FILE_MODE);
    }
    return new TokenAuthority(crypto.createPrivateKey(readKeyFile(file)), trustDomain);
  }

  create(o: { namespace: string; serviceAccount: string; ttlMs: number }): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(`system:serviceaccount:${o.namespace}:${o.serviceAccount}`)
      .setIssuedAt(now)
      .setExpirationTime(now + Math.ceil(o.ttlMs / 1000))
      .sign(this.key);
  }

  /** The identity a token proves, or why it proves none. */
  async verify(token: string): Promise<{ ok: true; identity: SpiffeIdentity } | { ok: false; message: string }> {
    try {
      const { payload } = await jwtVerify(token, crypto.createPublicKey(this.key), { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: ['ES256'] });
      const m = SUBJECT.exec(payload.sub ?? '');
      if (!m) return { ok: false, message: `token subject ${JSON.stringify(payload.sub)} is not system:serviceaccount:<namespace>:<service-account>` };
      return { ok: true, identity: { trustDomain: this.trustDomain, namespace: m[1], serviceAccount: m[3] } };
    } catch (err) {
      return { ok: false, message: `token not valid: ${(err as Error).message}` };
    }
  }
}
