// Kubernetes service-account tokens as credentials: the control plane asks the API server with a
// TokenReview (authentication.k8s.io/v1) and takes system:serviceaccount:<ns>:<sa> as the proven
// identity. Against a real HTTPS server on loopback that answers as the API server does (the
// TokenReview shapes of the Kubernetes API reference): it checks the reviewer's own bearer token and
// the audiences asked for; valid, expired, wrong-audience and non-service-account tokens.
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Authenticator } from '../../src/controlplane/ca/authenticate.js';
import { KubernetesTokenReviewer } from '../../src/controlplane/ca/token-review.js';
import * as grpc from '@grpc/grpc-js';
import { createTestCa, type TestCa } from '../helpers/certs.js';

const REVIEWER = 'reviewer-token-of-the-control-plane';
/** What the API server knows of each token: the user it names and the audiences it is valid for. */
const TOKENS: Record<string, { username: string; audiences: string[] } | { error: string }> = {
  'sa-reviews': { username: 'system:serviceaccount:bookinfo:reviews', audiences: ['istio-ca'] },
  'sa-other-audience': { username: 'system:serviceaccount:bookinfo:reviews', audiences: ['https://kubernetes.default.svc'] },
  'a-user': { username: 'alice@example.com', audiences: ['istio-ca'] },
  expired: { error: '[invalid bearer token, token has been invalidated]' },
};

describe('TokenReview against an API server on loopback', () => {
  let ca: TestCa;
  let server: https.Server;
  let reviewer: KubernetesTokenReviewer;
  const seen: Array<{ auth: string | undefined; body: { kind: string; apiVersion: string; spec: { token: string; audiences: string[] } } }> = [];

  before(async () => {
    ca = createTestCa('kube');
    const cert = ca.leaf('kube-apiserver', { dns: ['localhost'] });
    server = https.createServer({ key: cert.key, cert: cert.chain }, (req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const review = JSON.parse(body) as (typeof seen)[number]['body'];
        seen.push({ auth: req.headers.authorization, body: review });
        if (req.url !== '/apis/authentication.k8s.io/v1/tokenreviews' || req.method !== 'POST') return void res.writeHead(404).end();
        if (req.headers.authorization !== `Bearer ${REVIEWER}`) {
          res.writeHead(401, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
        }
        const known = TOKENS[review.spec.token];
        const wanted = review.spec.audiences ?? [];
        let status: Record<string, unknown>;
        if (!known) status = { authenticated: false, error: 'invalid bearer token' };
        else if ('error' in known) status = { authenticated: false, error: known.error };
        else {
          const audiences = known.audiences.filter((a) => wanted.includes(a));
          status = audiences.length
            ? { authenticated: true, user: { username: known.username, uid: '4c7b1d0e', groups: ['system:serviceaccounts', 'system:authenticated'] }, audiences }
            : { authenticated: false, error: 'token audiences ["' + known.audiences.join('","') + '"] is invalid for the target audiences ["' + wanted.join('","') + '"]' };
        }
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'TokenReview', apiVersion: 'authentication.k8s.io/v1', metadata: { creationTimestamp: null }, spec: review.spec, status }));
      });
    });
    await new Promise<void>((r) => server.listen(0, 'localhost', r));
    reviewer = new KubernetesTokenReviewer({
      apiServer: `https://localhost:${(server.address() as AddressInfo).port}`,
      ca: ca.root,
      reviewerToken: REVIEWER,
      audiences: ['istio-ca'],
      trustDomain: 'cluster.local',
    });
  });

  after(async () => {
    await new Promise((r) => server.close(r));
    ca.dispose();
  });

  it('a valid service-account token proves its namespace and service account; the review asks for the audiences', async () => {
    const r = await reviewer.verify('sa-reviews');
    assert.deepEqual(r, { ok: true, identity: { trustDomain: 'cluster.local', namespace: 'bookinfo', serviceAccount: 'reviews' } });
    const last = seen[seen.length - 1];
    assert.equal(last.auth, `Bearer ${REVIEWER}`);
    assert.deepEqual(last.body, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'sa-reviews', audiences: ['istio-ca'] } });
  });

  it('refuses an invalidated token, a token for another audience, a token of a user that is not a service account, and an unknown token', async () => {
    const expired = await reviewer.verify('expired');
    assert.equal(expired.ok, false);
    assert.match(!expired.ok ? expired.message : '', /token has been invalidated/);
    const aud = await reviewer.verify('sa-other-audience');
    assert.match(!aud.ok ? aud.message : '', /is invalid for the target audiences \["istio-ca"\]/);
    const user = await reviewer.verify('a-user');
    assert.match(!user.ok ? user.message : '', /names "alice@example.com", not system:serviceaccount/);
    assert.equal((await reviewer.verify('nope')).ok, false);
  });

  it('an API server that refuses the reviewer, or a server the cluster CA does not verify, proves nothing', async () => {
    const wrongReviewer = new KubernetesTokenReviewer({ apiServer: `https://localhost:${(server.address() as AddressInfo).port}`, ca: ca.root, reviewerToken: 'x', audiences: ['istio-ca'], trustDomain: 'cluster.local' });
    assert.match(((await wrongReviewer.verify('sa-reviews')) as { message: string }).message, /HTTP 401/);
    const other = createTestCa('other');
    try {
      const untrusted = new KubernetesTokenReviewer({ apiServer: `https://localhost:${(server.address() as AddressInfo).port}`, ca: other.root, reviewerToken: REVIEWER, audiences: ['istio-ca'], trustDomain: 'cluster.local' });
      assert.match(((await untrusted.verify('sa-reviews')) as { message: string }).message, /TokenReview failed: .*(certificate|verify)/i);
    } finally {
      other.dispose();
    }
    assert.throws(() => new KubernetesTokenReviewer({ apiServer: 'http://localhost:1', ca: '', reviewerToken: '', audiences: [], trustDomain: 'td' }), /must be https/);
  });

  it('the authenticator takes a Kubernetes token as the caller identity when no Weft token verifies it', async () => {
    const auth = new Authenticator({ trustDomain: 'cluster.local', kubernetes: reviewer });
    const call = (token: string) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      return { getAuthContext: () => ({}), metadata } as unknown as Parameters<Authenticator['authenticate']>[0];
    };
    assert.deepEqual(await auth.authenticate(call('sa-reviews')), { kind: 'proven', identity: { trustDomain: 'cluster.local', namespace: 'bookinfo', serviceAccount: 'reviews' }, by: 'token' });
    assert.equal((await auth.authenticate(call('expired'))).kind, 'refused');
  });
});
