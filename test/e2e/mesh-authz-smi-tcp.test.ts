// Authorization end to end through real processes: a `weft control-plane` with its CA and `weft
// proxy` sidecars bootstrapped with tokens.
// - SMI: a TrafficTarget file (no apiVersion, as in the spec's examples) in the control plane's config
//   dir lets productpage's identity call reviews and answers ratings' 403 `RBAC: access denied`;
//   editing it re-pushes the listener.
// - TCP: a plain TCP echo app behind a sidecar whose port is TCP: the inbound chain is tcp_proxy
//   behind network RBAC; an allowed principal (a certificate from the CA's CSR flow) gets its echo,
//   a denied one gets the connection closed with no bytes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { newWorkloadKey } from '../../src/proxy/identity/csr.js';
import { bearer, createCertificate, spawnSecureControlPlane, tlsTo, tokenFile } from '../helpers/identity.js';
import { freePorts, stopAll, waitFor, type Proc } from '../helpers/processes.js';
import { adminStat, meshGet, pairPorts, spawnPairSidecar, type PairPorts } from '../helpers/secure-pair.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-mesh-authz-'));
const caDir = path.join(dir, 'ca');
const configDir = path.join(dir, 'config');
const procs: Proc[] = [];
let app: http.Server;
let echo: net.Server;
let p: PairPorts;
let controlPlane: Proc;
// ratings (a second caller) and mysqldb (the TCP workload): outbound, inbound, admin; the echo app.
let ra: { out: number; in: number; admin: number };
let db: { out: number; in: number; admin: number; app: number };

const fromProductpage = () => meshGet(p.ppOut, 'reviews:9080');
const fromRatings = () => meshGet(ra.out, 'reviews:9080');

before(async () => {
  p = await pairPorts();
  const [a, b, c, d, e, f, g] = await freePorts(7);
  ra = { out: a, in: b, admin: c };
  db = { out: d, in: e, admin: f, app: g };
  app = http.createServer((_req, res) => res.end('reviews says hi'));
  await new Promise<void>((r) => app.listen(p.app, '127.0.0.1', r));
  // Istio's tcp-echo sample: echo what it receives with a prefix.
  echo = net.createServer((s) => {
    s.on('data', (d) => s.write(`hello ${d.toString()}`));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => echo.listen(db.app, '127.0.0.1', r));
  controlPlane = await spawnSecureControlPlane(dir, caDir, { xds: p.xds, secure: p.secure, monitor: p.monitor }, procs);
  procs.push(
    spawnPairSidecar(p, dir, caDir, 'reviews', p.rvOut, p.rvIn, p.rvAdmin),
    spawnPairSidecar(p, dir, caDir, 'productpage', p.ppOut, p.ppIn, p.ppAdmin),
    spawnPairSidecar(p, dir, caDir, 'ratings', ra.out, ra.in, ra.admin),
    spawnPairSidecar(p, dir, caDir, 'mysqldb', db.out, db.in, db.admin, { port: db.app, servicePort: 3306, protocol: 'TCP' }),
  );
  for (const admin of [p.rvAdmin, p.ppAdmin, ra.admin, db.admin]) await waitFor('sidecar ready', async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).ok, 30_000, procs);
  await waitFor('productpage reaches reviews', async () => (await fromProductpage()).status === 200, 15_000, procs);
});

after(async () => {
  await stopAll(procs);
  app?.close();
  echo?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SMI TrafficTarget from the config dir', () => {
  const target = (sources: string[]) => `kind: TrafficTarget
metadata: { name: reviews-readers, namespace: default }
spec:
  destination: { kind: ServiceAccount, name: reviews }
  rules: [{ kind: HTTPRouteGroup, name: reviews-routes, matches: [everything] }]
  sources: [${sources.map((s) => `{ kind: ServiceAccount, name: ${s} }`).join(', ')}]
---
kind: HTTPRouteGroup
metadata: { name: reviews-routes, namespace: default }
spec:
  matches: [{ name: everything, pathRegex: ".*", methods: ["*"] }]
`;
  const file = () => path.join(configDir, 'reviews-access.yaml');

  it('no TrafficTarget: both callers are served', async () => {
    assert.equal((await fromProductpage()).status, 200);
    assert.equal((await fromRatings()).status, 200);
  });

  it('a TrafficTarget for productpage: productpage served, ratings 403 RBAC: access denied', async () => {
    fs.writeFileSync(file(), target(['productpage']));
    const denied = await waitFor('ratings denied', async () => {
      const r = await fromRatings();
      return r.status === 403 ? r : undefined;
    }, 15_000, procs);
    assert.equal(denied.body, 'RBAC: access denied');
    const ok = await fromProductpage();
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'reviews says hi');
    assert.ok((await adminStat(p.rvAdmin, 'http.inbound_0.0.0.0_' + p.rvIn + '.rbac.denied')) >= 1, 'reviews counted the denial');
  });

  it('editing the TrafficTarget to add ratings re-pushes the listener: both served; removing the file lifts the policy', async () => {
    fs.writeFileSync(file(), target(['productpage', 'ratings']));
    await waitFor('ratings allowed', async () => (await fromRatings()).status === 200, 15_000, procs);
    assert.equal((await fromProductpage()).status, 200);
    fs.writeFileSync(file(), target(['ratings']));
    await waitFor('productpage denied', async () => (await fromProductpage()).status === 403, 15_000, procs);
    fs.rmSync(file());
    await waitFor('productpage allowed again', async () => (await fromProductpage()).status === 200, 15_000, procs);
  });

  it('a TrafficTarget naming a match its HTTPRouteGroup lacks allows nothing, and the control plane logs why', async () => {
    fs.writeFileSync(file(), target(['productpage']).replace('matches: [everything]', 'matches: [evrything]'));
    await waitFor('productpage denied', async () => (await fromProductpage()).status === 403, 15_000, procs);
    await waitFor('the warning in the log', async () => controlPlane.output().includes('TrafficTarget default/reviews-readers: spec.rules[0].matches[0]: HTTPRouteGroup reviews-routes has no match "evrything" [WEFT_E_SMI_NOT_ENFORCED]'), 5_000, procs);
    fs.rmSync(file());
    await waitFor('productpage allowed again', async () => (await fromProductpage()).status === 200, 15_000, procs);
  });
});

describe('network RBAC on an inbound TCP port', () => {
  const root = () => fs.readFileSync(path.join(caDir, 'root-cert.pem'), 'utf8');

  /** A workload certificate for `sa` from the control plane's CA (its token, a CSR, the secure port). */
  async function svid(sa: string): Promise<{ key: string; chain: string }> {
    const key = await newWorkloadKey(`spiffe://cluster.local/ns/default/sa/${sa}`);
    const token = fs.readFileSync(tokenFile(dir, caDir, sa), 'utf8').trim();
    const r = await createCertificate(`127.0.0.1:${p.secure}`, tlsTo(root()), bearer(token), key.csrPem);
    assert.ok(r.ok, `CreateCertificate for ${sa}: ${!r.ok && r.details}`);
    return { key: key.privateKeyPem, chain: r.value.join('') };
  }

  /** mTLS to the TCP port, one message: what came back before the connection closed. */
  function exchange(id: { key: string; chain: string }): Promise<{ bytes: string; closed: boolean }> {
    return new Promise((resolve, reject) => {
      let bytes = '';
      const s = tls.connect({ host: '127.0.0.1', port: db.in, key: id.key, cert: id.chain, ca: root(), checkServerIdentity: () => undefined }, () => s.write('world'));
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`neither echo nor close; got ${JSON.stringify(bytes)}`));
      }, 5000);
      s.on('data', (d: Buffer) => {
        bytes += d.toString();
        if (bytes === 'hello world') {
          clearTimeout(timer);
          s.destroy();
          resolve({ bytes, closed: false });
        }
      });
      s.on('error', () => {});
      s.on('close', () => {
        clearTimeout(timer);
        resolve({ bytes, closed: true });
      });
    });
  }

  it('no policy: any meshed caller gets its echo through tcp_proxy', async () => {
    const r = await waitFor('echo through the sidecar', async () => {
      const got = await exchange(await svid('reviews'));
      return got.bytes === 'hello world' ? got : undefined;
    }, 15_000, procs);
    assert.equal(r.closed, false);
  });

  it('an AuthorizationPolicy on the TCP workload: the allowed principal gets its echo, a denied one is closed with no bytes', async () => {
    const allowed = await svid('reviews');
    const denied = await svid('ratings');
    fs.writeFileSync(
      path.join(configDir, 'mysqldb-authz.yaml'),
      `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: mysqldb-clients, namespace: default }
spec:
  selector: { matchLabels: { app: mysqldb } }
  rules:
  - from: [{ source: { principals: [cluster.local/ns/default/sa/reviews] } }]
    to: [{ operation: { ports: ["${db.app}"] } }]
`,
    );
    const closed = await waitFor('ratings closed', async () => {
      const r = await exchange(denied);
      return r.closed ? r : undefined;
    }, 15_000, procs);
    assert.equal(closed.bytes, '', 'the denied connection got no bytes');
    assert.deepEqual(await exchange(allowed), { bytes: 'hello world', closed: false });
    assert.ok((await adminStat(db.admin, 'tcp.rbac.denied')) >= 1, 'the sidecar counted the denial');
    assert.ok((await adminStat(db.admin, 'tcp.rbac.allowed')) >= 1);
  });
});
