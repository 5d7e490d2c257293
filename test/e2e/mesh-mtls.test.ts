// Zero trust end to end, through real processes: a `weft control-plane` with its CA and two `weft
// proxy` sidecars bootstrapped with tokens. With no security config at all, sidecar-to-sidecar
// calls use mTLS (auto mTLS) and a plaintext client still gets in (PERMISSIVE, Istio's default);
// a mesh-wide STRICT PeerAuthentication shuts plaintext out while meshed calls keep working; an
// AuthorizationPolicy denying productpage's identity answers its calls 403 `RBAC: access denied`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { spawnSecureControlPlane } from '../helpers/identity.js';
import { stopAll, waitFor, type Proc } from '../helpers/processes.js';
import { adminStat, meshGet, pairPorts, spawnPairSidecar, type PairPorts } from '../helpers/secure-pair.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-mesh-mtls-'));
const caDir = path.join(dir, 'ca');
const configDir = path.join(dir, 'config');
const procs: Proc[] = [];
let app: http.Server;
let p: PairPorts;

const meshed = () => meshGet(p.ppOut, 'reviews:9080');
const plaintext = () => meshGet(p.rvIn, 'reviews:9080');

before(async () => {
  p = await pairPorts();
  app = http.createServer((_req, res) => res.end('reviews says hi'));
  await new Promise<void>((r) => app.listen(p.app, '127.0.0.1', r));
  await spawnSecureControlPlane(dir, caDir, { xds: p.xds, secure: p.secure, monitor: p.monitor }, procs);
  // productpage has no app of its own here: it only calls out.
  procs.push(spawnPairSidecar(p, dir, caDir, 'reviews', p.rvOut, p.rvIn, p.rvAdmin), spawnPairSidecar(p, dir, caDir, 'productpage', p.ppOut, p.ppIn, p.ppAdmin));
  for (const admin of [p.rvAdmin, p.ppAdmin]) await waitFor('sidecar ready', async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).ok, 30_000, procs);
  await waitFor('productpage reaches reviews', async () => (await meshed()).status === 200, 15_000, procs);
});

after(async () => {
  await stopAll(procs);
  app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('no security config: sidecar to sidecar is mTLS (auto mTLS); a plaintext client still gets in (PERMISSIVE)', async () => {
  // Only productpage's sidecar has called reviews so far: every handshake reviews saw is its mTLS.
  const replies = await Promise.all(Array.from({ length: 8 }, () => meshed()));
  assert.deepEqual(replies.map((r) => r.status), Array(8).fill(200));
  assert.equal(replies[0].body, 'reviews says hi');
  assert.ok((await adminStat(p.rvAdmin, 'listener.virtualInbound.ssl_handshake')) > 0, 'reviews terminated mTLS from productpage');
  assert.equal(await adminStat(p.rvAdmin, 'listener.virtualInbound.ssl_connection_error'), 0);
  assert.equal((await plaintext()).status, 200, 'PERMISSIVE: plaintext to the inbound port is served');
});

test('STRICT mesh-wide: plaintext is refused, meshed calls keep working', async () => {
  fs.writeFileSync(
    path.join(configDir, 'strict.yaml'),
    'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: default, namespace: istio-system }\nspec:\n  mtls: { mode: STRICT }\n',
  );
  await waitFor('plaintext refused', async () => (await plaintext()).status === 0, 15_000, procs);
  assert.equal((await meshed()).status, 200);
  assert.ok((await adminStat(p.rvAdmin, 'listener.virtualInbound.no_filter_chain_match')) >= 1, 'the plaintext connection matched no chain');
});

test("an AuthorizationPolicy denying productpage's identity: 403 RBAC: access denied; removing it lets the calls back", async () => {
  const policy = path.join(configDir, 'deny-productpage.yaml');
  fs.writeFileSync(
    policy,
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-productpage, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules:
  - from:
    - source: { principals: [cluster.local/ns/default/sa/productpage] }
`,
  );
  const denied = await waitFor('denied', async () => {
    const r = await meshed();
    return r.status === 403 ? r : undefined;
  }, 15_000, procs);
  assert.equal(denied.body, 'RBAC: access denied');
  fs.rmSync(policy);
  await waitFor('allowed again', async () => (await meshed()).status === 200, 15_000, procs);
});
