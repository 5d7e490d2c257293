// RequestAuthentication → jwt_authn, and the control plane's JWKS resolver against real local
// HTTP and HTTPS servers on loopback (a certificate made by openssl for 127.0.0.1).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { JwksResolver } from '../../src/controlplane/jwks/resolver.js';
import { EMPTY_JWKS, jwtAuthnFilter, type RequestAuthenticationResource } from '../../src/controlplane/translate/authentication.js';
import { jwtAuthnConfig } from '../../src/proxy/jwt/config.js';
import { verifyJwt } from '../../src/proxy/jwt/verify.js';
import { Problems } from '../../src/proxy/xds/validate-common.js';

const w = { namespace: 'foo', labels: { app: 'httpbin' } };
const ra = (name: string, spec: RequestAuthenticationResource['spec'], namespace = 'foo'): RequestAuthenticationResource => ({ name, namespace, spec });

/** The translated filter through the proxy's own parser: its first provider. */
function proxyProvider(filter: Record<string, unknown> | undefined) {
  assert.ok(filter);
  const p = new Problems();
  const cfg = jwtAuthnConfig((filter.typed_config ?? {}) as Record<string, unknown>, 'typed_config', p);
  assert.deepEqual(p.list, []);
  return cfg;
}

test('RequestAuthentication: providers per jwtRule, Istio\'s requires_any + allow_missing, selector and root namespace', () => {
  const f = jwtAuthnFilter(
    [
      ra('a', { jwtRules: [{ issuer: 'i1', jwks: '{"keys":[]}', fromHeaders: [{ name: 'x-jwt', prefix: 'Token ' }], forwardOriginalToken: true, outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] }] }),
      ra('mesh', { jwtRules: [{ issuer: 'i2', jwksUri: 'https://unresolved.test/jwks' }] }, 'istio-system'),
      ra('other', { selector: { matchLabels: { app: 'reviews' } }, jwtRules: [{ issuer: 'i3' }] }),
    ],
    w,
    { jwksFor: () => undefined },
  );
  const cfg = proxyProvider(f);
  assert.deepEqual([...cfg.providers.values()].map((p) => p.issuer), ['i1', 'i2']);
  const p0 = cfg.providers.get('origins-0')!;
  assert.deepEqual(p0.fromHeaders, [{ name: 'x-jwt', valuePrefix: 'Token ' }]);
  assert.equal(p0.forward, true);
  assert.deepEqual(p0.claimToHeaders, [{ header: 'x-sub', claim: 'sub' }]);
  assert.deepEqual(cfg.rules[0].requires, { kind: 'any', items: [{ kind: 'provider', name: 'origins-0', audiences: undefined }, { kind: 'provider', name: 'origins-1', audiences: undefined }, { kind: 'allow_missing' }] });
  assert.equal(jwtAuthnFilter([ra('other', { selector: { matchLabels: { app: 'reviews' } }, jwtRules: [{ issuer: 'i3' }] })], w, { jwksFor: () => undefined }), undefined);
});

test('an unresolved jwksUri gets an empty key set: every token fails, none passes unchecked', async () => {
  const { privateKey } = await generateKeyPair('ES256');
  const f = jwtAuthnFilter([ra('a', { jwtRules: [{ issuer: 'i', jwksUri: 'https://nowhere.test/jwks' }] })], w, { jwksFor: () => undefined });
  assert.equal(((f!.typed_config as Record<string, Record<string, Record<string, Record<string, string>>>>).providers['origins-0'].local_jwks).inline_string, EMPTY_JWKS);
  const token = await new SignJWT({ iss: 'i', sub: 's' }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
  const status = await verifyJwt(token, proxyProvider(f).providers.get('origins-0')!, undefined, Math.floor(Date.now() / 1000));
  assert.deepEqual(status, { ok: false, message: "Jwks doesn't have key to match kid or alg from Jwt" });
});

describe('JWKS resolver against real servers on loopback', () => {
  let dir: string;
  let httpsServer: https.Server;
  let httpServer: http.Server;
  let httpsPort: number;
  let httpPort: number;
  let ca: Buffer;
  let body = '';
  let status = 200;
  const resolvers: JwksResolver[] = [];
  const resolver = (o: ConstructorParameters<typeof JwksResolver>[0] = {}) => {
    const r = new JwksResolver({ refreshIntervalMs: 0, ca, ...o });
    resolvers.push(r);
    return r;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-jwks-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    ca = fs.readFileSync(path.join(dir, 'cert.pem'));
    const handler: http.RequestListener = (req, res) => {
      if (req.url === '/hang') return; // never answers
      if (req.url === '/huge') {
        res.writeHead(200);
        return res.end(JSON.stringify({ keys: [{ pad: 'x'.repeat(64 * 1024) }] }));
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    };
    httpsServer = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: ca }, handler);
    httpServer = http.createServer(handler);
    await new Promise<void>((r) => httpsServer.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
    httpsPort = (httpsServer.address() as AddressInfo).port;
    httpPort = (httpServer.address() as AddressInfo).port;
  });

  after(() => {
    for (const r of resolvers) r.close();
    httpsServer.closeAllConnections();
    httpServer.closeAllConnections();
    httpsServer.close();
    httpServer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fetches over HTTPS, inlines the keys, and a token signed by them verifies through the translated config', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    body = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'a', alg: 'ES256' }] });
    status = 200;
    const uri = `https://127.0.0.1:${httpsPort}/jwks`;
    const r = resolver();
    assert.equal(await r.resolve(uri), JSON.stringify(JSON.parse(body)));
    const f = jwtAuthnFilter([ra('a', { jwtRules: [{ issuer: 'i', jwksUri: uri }] })], w, { jwksFor: (u) => r.get(u) });
    const token = await new SignJWT({ iss: 'i', sub: 's' }).setProtectedHeader({ alg: 'ES256', kid: 'a' }).sign(pair.privateKey);
    const v = await verifyJwt(token, proxyProvider(f).providers.get('origins-0')!, undefined, Math.floor(Date.now() / 1000));
    assert.equal(v.ok, true);
  });

  it('an untrusted HTTPS server is refused (no CA given)', async () => {
    const r = new JwksResolver({ refreshIntervalMs: 0 });
    resolvers.push(r);
    assert.equal(await r.resolve(`https://127.0.0.1:${httpsPort}/jwks`), undefined);
    assert.match(r.lastError(`https://127.0.0.1:${httpsPort}/jwks`)!, /WEFT_E_JWKS_FETCH/);
  });

  it('keeps the last good set when a refresh fails, and takes a rotated set on the next good refresh', async () => {
    body = JSON.stringify({ keys: [{ kty: 'oct', kid: 'one', k: 'AAAA' }] });
    status = 200;
    const changed: string[] = [];
    const r = resolver({ onChange: (u) => changed.push(u) });
    const uri = `http://127.0.0.1:${httpPort}/jwks`;
    const first = await r.resolve(uri);
    status = 500;
    await r.refresh();
    assert.equal(r.get(uri), first);
    assert.match(r.lastError(uri)!, /status 500 \[WEFT_E_JWKS_FETCH\]/);
    status = 200;
    body = JSON.stringify({ keys: [{ kty: 'oct', kid: 'two', k: 'BBBB' }] });
    await r.refresh();
    assert.match(r.get(uri)!, /"two"/);
    assert.equal(r.lastError(uri), undefined);
    assert.deepEqual(changed, [uri, uri]);
  });

  it('a server that never answers is cut at the timeout; a body over the cap is refused; non-JWKS is refused', async () => {
    const r = resolver({ timeoutMs: 200, maxBytes: 1024 });
    assert.equal(await r.resolve(`http://127.0.0.1:${httpPort}/hang`), undefined);
    assert.match(r.lastError(`http://127.0.0.1:${httpPort}/hang`)!, /timed out after 200 ms/);
    assert.equal(await r.resolve(`http://127.0.0.1:${httpPort}/huge`), undefined);
    assert.match(r.lastError(`http://127.0.0.1:${httpPort}/huge`)!, /body over 1024 bytes/);
    body = '{"not":"keys"}';
    status = 200;
    assert.equal(await r.resolve(`http://127.0.0.1:${httpPort}/bad`), undefined);
    assert.match(r.lastError(`http://127.0.0.1:${httpPort}/bad`)!, /not a JWKS: no "keys" array/);
  });

  it('a URI nobody asks for any more is forgotten at the next refresh', async () => {
    let now = 0;
    body = JSON.stringify({ keys: [] });
    status = 200;
    const r = resolver({ now: () => now, evictAfterMs: 1000 });
    const uri = `http://127.0.0.1:${httpPort}/jwks?evict`;
    await r.resolve(uri);
    now = 500;
    await r.refresh();
    assert.equal(r.has(uri), true);
    now = 5000;
    await r.refresh();
    assert.equal(r.has(uri), false);
  });
});
