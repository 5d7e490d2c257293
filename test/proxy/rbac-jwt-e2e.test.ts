// Authorization and JWT end to end: the control plane's translators produce the RBAC and jwt_authn
// filters, a test xDS server hands them to a real `weft proxy` process, and real clients on loopback
// get 403 RBAC (with its flag), closed TCP connections, and 401s with Envoy's JWT messages.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { HCM_TYPE_URL, TCP_PROXY_TYPE_URL } from '../../src/api/envoy.js';
import type { AuthorizationPolicySpec } from '../../src/config/security-types.js';
import { jwtAuthnFilter } from '../../src/controlplane/translate/authentication.js';
import { authorizationFilters, type AuthorizationPolicyResource } from '../../src/controlplane/translate/authorization.js';
import { freePorts } from '../helpers/processes.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar.js';
import { eventually, request, routerFilter, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';

const ISSUER = 'https://issuer.weft.test';
const workload = { namespace: 'foo', labels: { app: 'httpbin' } };
const policy = (name: string, spec: Partial<AuthorizationPolicySpec>): AuthorizationPolicyResource => ({ name, namespace: 'foo', spec: { action: 'ALLOW', rules: [], ...spec } });

const httpPolicies = [
  policy('deny-admin-api', { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/api/admin*'] } }] }] }),
  policy('allow', {
    rules: [
      { to: [{ operation: { paths: ['/open*', '/api/*'] } }] },
      { to: [{ operation: { paths: ['/admins*'] } }], when: [{ key: 'request.auth.claims[group]', values: ['admins'] }] },
      { to: [{ operation: { paths: ['/secure*'] } }], from: [{ source: { requestPrincipals: ['*'] } }] },
    ],
  }),
];

function echoServer(): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.pipe(s);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

/** Connect, send `ping`, read until the peer closes or echoes it. */
function tcpExchange(port: number): Promise<{ echoed: string; closedByPeer: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer and no close; got ${JSON.stringify(got)}`));
    }, 5000);
    s.on('connect', () => s.write('ping'));
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got === 'ping') {
        clearTimeout(timer);
        s.destroy();
        resolve({ echoed: got, closedByPeer: false });
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ echoed: got, closedByPeer: true });
    });
  });
}

describe('RBAC and JWT through a real weft proxy', () => {
  let upstream: Upstream;
  let echo: { port: number; close(): void };
  let sidecar: SidecarProcess;
  let httpPort: number;
  let tcpDenyPort: number;
  let tcpAllowPort: number;
  let strictPort: number;
  let listeners: object[];
  let tcpListenerOf: (name: string, port: number, filters: object[]) => object;
  let tcpNetOf: (spec: Partial<AuthorizationPolicySpec>) => object[];
  let key: KeyLike;
  let otherKey: KeyLike;

  const token = (claims: Record<string, unknown>, o: { exp?: number; signWith?: KeyLike } = {}) =>
    new SignJWT({ aud: 'bookstore', sub: 'alice', iss: ISSUER, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime(o.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(o.signWith ?? key);

  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    key = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] });
    upstream = await startUpstream('httpbin');
    echo = await echoServer();
    [httpPort, tcpDenyPort, tcpAllowPort, strictPort] = await freePorts(4);
    const authz = authorizationFilters(httpPolicies, workload);
    assert.deepEqual(authz.errors, []);
    const jwt = jwtAuthnFilter(
      [{ name: 'jwt', namespace: 'foo', spec: { jwtRules: [{ issuer: ISSUER, audiences: ['bookstore'], jwks, outputPayloadToHeader: 'x-jwt-payload' }] } }],
      workload,
      { jwksFor: () => undefined },
    );
    assert.ok(jwt);
    const tcpNet = (spec: Partial<AuthorizationPolicySpec>) => authorizationFilters([policy('tcp', spec)], workload).network;
    const tcpListener = (name: string, port: number, filters: object[]) => ({
      name,
      address: { socket_address: { address: '127.0.0.1', port_value: port } },
      filter_chains: [{ filters: [...filters, { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: name, cluster: 'echo' } }] }],
    });
    tcpListenerOf = tcpListener;
    tcpNetOf = tcpNet;
    listeners = [
        {
          name: 'inbound-http',
          address: { socket_address: { address: '127.0.0.1', port_value: httpPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': HCM_TYPE_URL,
                    stat_prefix: 'inbound',
                    route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] },
                    http_filters: [jwt, ...authz.http, routerFilter],
                  },
                },
              ],
            },
          ],
        },
        // Envoy's own jwt_authn config (no Istio in it): a token is required, from a query parameter or a
        // cookie, forwarded, its `sub` copied to a header; /public turns the filter off per route.
        {
          name: 'strict-jwt',
          address: { socket_address: { address: '127.0.0.1', port_value: strictPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': HCM_TYPE_URL,
                    stat_prefix: 'strict',
                    route_config: {
                      name: 's',
                      virtual_hosts: [
                        {
                          name: 'v',
                          domains: ['*'],
                          routes: [
                            { match: { prefix: '/public' }, route: { cluster: 'app' }, typed_per_filter_config: { jwt: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig', disabled: true } } },
                            { match: { prefix: '/' }, route: { cluster: 'app' } },
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      {
                        name: 'jwt',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
                          providers: { p: { issuer: ISSUER, local_jwks: { inline_string: jwks }, from_params: ['token'], from_cookies: ['session'], forward: true, claim_to_headers: [{ header_name: 'x-sub', claim_name: 'sub' }] } },
                          rules: [{ match: { prefix: '/' }, requires: { provider_name: 'p' } }],
                          bypass_cors_preflight: true,
                        },
                      },
                      routerFilter,
                    ],
                  },
                },
              ],
            },
          ],
        },
        // Istio's ALLOW for a TCP port, and a DENY of everything from loopback.
        tcpListener('tcp-deny', tcpDenyPort, tcpNet({ action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['127.0.0.1'] } }] }] })),
        tcpListener('tcp-allow', tcpAllowPort, tcpNet({ rules: [{ from: [{ source: { ipBlocks: ['127.0.0.0/8'] } }] }] })),
    ];
    sidecar = await startSidecarProcess({ clusters: [staticCluster('app', [upstream.port]), staticCluster('echo', [echo.port])], listeners });
  });

  after(async () => {
    await sidecar?.stop();
    await upstream?.close();
    echo?.close();
  });

  it('a DENY match answers 403 "RBAC: access denied" with flag RBAC and the matched policy', async () => {
    const r = await request(httpPort, { path: '/api/admin/users' });
    assert.equal(r.status, 403);
    assert.equal(r.body, 'RBAC: access denied');
    assert.equal(r.headers['x-weft-reason'], 'RBAC rbac_access_denied_matched_policy[ns[foo]-policy[deny-admin-api]-rule[0]]');
    const ok = await request(httpPort, { path: '/api/users' });
    assert.equal(ok.status, 200);
  });

  it('what no ALLOW rule matches is denied (policy none); gRPC callers get PERMISSION_DENIED', async () => {
    const r = await request(httpPort, { path: '/elsewhere' });
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-weft-reason'], 'RBAC rbac_access_denied_matched_policy[none]');
    const g = await request(httpPort, { path: '/elsewhere', method: 'POST', headers: { 'content-type': 'application/grpc' } });
    assert.equal(g.status, 200);
    assert.equal(g.headers['grpc-status'], '7');
    assert.equal(g.headers['grpc-message'], 'RBAC: access denied');
  });

  it('JWT: expired, wrong issuer, wrong audience, bad signature → 401 with Envoy\'s messages', async () => {
    const cases: Array<[string, Promise<string>]> = [
      ['Jwt is expired', token({}, { exp: Math.floor(Date.now() / 1000) - 3600 })],
      ['Jwt issuer is not configured', token({ iss: 'https://other.test' })],
      ['Audiences in Jwt are not allowed', token({ aud: 'another-api' })],
      ['Jwt verification fails', token({}, { signWith: otherKey })],
    ];
    for (const [message, t] of cases) {
      const r = await request(httpPort, { path: '/open', headers: { authorization: `Bearer ${await t}` } });
      assert.equal(r.status, 401, message);
      assert.equal(r.body, message);
      assert.match(String(r.headers['www-authenticate']), /^Bearer realm="http:\/\/.*\/open", error="invalid_token"$/);
    }
    assert.equal(upstream.seen.filter((s) => s.url === '/open').length, 0);
  });

  it('JWT: a valid token reaches the app (token removed, payload header set); the wrong claim is a 403', async () => {
    const admin = await request(httpPort, { path: '/admins/panel', headers: { authorization: `Bearer ${await token({ group: 'admins' })}` } });
    assert.equal(admin.status, 200);
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(JSON.parse(Buffer.from(String(seen.headers['x-jwt-payload']), 'base64url').toString()).group, 'admins');
    const user = await request(httpPort, { path: '/admins/panel', headers: { authorization: `Bearer ${await token({ group: 'users' })}` } });
    assert.equal(user.status, 403);
    assert.equal(user.body, 'RBAC: access denied');
  });

  it('JWT: a missing token passes jwt_authn; only a requestPrincipals rule makes it required', async () => {
    assert.equal((await request(httpPort, { path: '/open' })).status, 200);
    assert.equal((await request(httpPort, { path: '/secure/data' })).status, 403);
    assert.equal((await request(httpPort, { path: '/secure/data', headers: { authorization: `Bearer ${await token({})}` } })).status, 200);
  });

  it('JWT (Envoy config): a required token from a query parameter or a cookie; missing → 401; per-route disabled; CORS preflight bypassed', async () => {
    const t = await token({});
    const byParam = await request(strictPort, { path: `/x?token=${t}`, headers: { 'x-sub': 'forged' } });
    assert.equal(byParam.status, 200);
    assert.equal(upstream.seen.at(-1)!.headers['x-sub'], 'alice');
    const byCookie = await request(strictPort, { path: '/x', headers: { cookie: `a=b; session=${t}` } });
    assert.equal(byCookie.status, 200);
    assert.match(String(upstream.seen.at(-1)!.headers.cookie), /session=/);
    const missing = await request(strictPort, { path: '/x' });
    assert.equal(missing.status, 401);
    assert.equal(missing.body, 'Jwt is missing');
    assert.equal((await request(strictPort, { path: '/public/page' })).status, 200);
    const preflight = await request(strictPort, { path: '/x', method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 200);
    assert.equal((await request(strictPort, { path: '/x', method: 'OPTIONS' })).status, 401);
  });

  it('TCP: a denied connection is closed before a byte reaches the app; an allowed one is proxied; both counted', async () => {
    const denied = await tcpExchange(tcpDenyPort);
    assert.deepEqual(denied, { echoed: '', closedByPeer: true });
    const allowed = await tcpExchange(tcpAllowPort);
    assert.equal(allowed.echoed, 'ping');
    const stats = await sidecar.stats();
    assert.equal(stats['tcp.rbac.denied'], 1);
    assert.equal(stats['tcp.rbac.allowed'], 1);
    assert.ok(stats['http.inbound.rbac.denied'] >= 4, JSON.stringify(stats['http.inbound.rbac.denied']));
    assert.ok(stats['http.inbound.jwt_authn.denied'] >= 4);
    assert.ok(stats['http.inbound.response_flag.RBAC'] >= 4);
  });

  it('an LDS update of the policy reaches the listener already bound: the denied port now proxies', async () => {
    const next = listeners.map((l) => ((l as { name: string }).name === 'tcp-deny' ? tcpListenerOf('tcp-deny', tcpDenyPort, tcpNetOf({ action: 'DENY', rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/8'] } }] }] })) : l));
    sidecar.ads.set('listener', 'l2', next);
    await eventually(async () => (await tcpExchange(tcpDenyPort)).echoed === 'ping', 10_000, 'the updated policy to allow loopback');
  });
});
