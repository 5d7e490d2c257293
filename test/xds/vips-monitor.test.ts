// Service VIPs on the control plane's monitor port: /debug/vips lists every service's addresses
// (declared, or auto-allocated from --service-vip-range), and ?format=hosts&namespace=NS writes the
// hosts file a captured app in NS resolves names with. A real control plane over real sockets.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane } from '../../src/controlplane/control-plane.js';
import { parseVipRange } from '../../src/controlplane/model/vips.js';
import type { ServiceVips } from '../../src/controlplane/vip-view.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { freePorts, httpGetJson, spawnWeft, waitFor } from '../helpers/processes.js';

const ENTRIES = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: shop }
spec:
  hosts: [db.shop.svc.cluster.local]
  addresses: [198.18.7.10]
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
  resolution: STATIC
  endpoints: [{ address: 198.18.7.10 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: shop }
spec:
  hosts: [api.example.com]
  ports: [{ number: 443, name: https, protocol: HTTPS }]
  resolution: DNS
`;

describe('/debug/vips', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-vips-'));
  fs.writeFileSync(path.join(dir, 'entries.yaml'), ENTRIES);
  const range = parseVipRange('198.19.0.0/16');
  assert.ok(range.ok);
  const cp = new ControlPlane({ configDir: dir, xdsAddress: '127.0.0.1:0', monitorAddress: '127.0.0.1:0', debounceMs: 10, endpointGraceMs: 50, domain: 'cluster.local', vipRange: range.range });
  let sidecar: Proxy;
  const url = (p: string) => `http://127.0.0.1:${cp.monitorPort}${p}`;

  before(async () => {
    await cp.start();
    // A registry service: an explicit-mode sidecar registers `cart` in `shop` over ADS.
    const [outboundPort, inboundPort] = await freePorts(2);
    sidecar = new Proxy({ xdsAddress: `127.0.0.1:${cp.xdsPort}`, workload: { service: 'cart', namespace: 'shop', labels: {}, serviceAccount: 'cart', address: '127.0.0.1', appPort: 1, servicePort: 8080, outboundPort, inboundPort, protocol: 'HTTP' }, adminPort: 0 });
    await sidecar.start();
    await sidecar.whenReady(5000);
  });

  after(async () => {
    sidecar?.destroy();
    await cp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists declared and auto-allocated addresses, and a hosts file per namespace', async () => {
    const vips = await waitFor('three services', async () => {
      const v = await httpGetJson<ServiceVips>(url('/debug/vips'));
      return v.services.length === 3 && v;
    });
    assert.equal(vips.range, '198.19.0.0/16');
    const byHost = Object.fromEntries(vips.services.map((s) => [s.hostname, s.addresses]));
    assert.deepEqual(byHost['db.shop.svc.cluster.local'], ['198.18.7.10']);
    assert.match(byHost['cart.shop.svc.cluster.local'][0], /^198\.19\.\d+\.\d+$/);
    assert.match(byHost['api.example.com'][0], /^198\.19\.\d+\.\d+$/);
    const hosts = await (await fetch(url('/debug/vips?format=hosts&namespace=shop'))).text();
    assert.ok(hosts.includes(`${byHost['cart.shop.svc.cluster.local'][0]} cart.shop.svc.cluster.local cart.shop.svc cart.shop cart\n`), hosts);
    assert.ok(hosts.includes('198.18.7.10 db.shop.svc.cluster.local db.shop.svc db.shop db\n'), hosts);
    const elsewhere = await (await fetch(url('/debug/vips?format=hosts&namespace=default'))).text();
    assert.ok(elsewhere.includes('198.18.7.10 db.shop.svc.cluster.local db.shop.svc db.shop\n'), 'no short name outside the namespace');
  });
});

it('weft control-plane refuses a bad --service-vip-range at start', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-vips-'));
  const p = spawnWeft('control-plane', ['control-plane', '--insecure-registration', '--config-dir', dir, '--xds-address', '127.0.0.1:0', '--monitor-address', '127.0.0.1:0', '--service-vip-range', '198.19.0.1/16']);
  const code = await new Promise<number | null>((resolve) => p.child.once('exit', (c) => resolve(c)));
  assert.notEqual(code, 0);
  assert.match(p.output(), /--service-vip-range: "198\.19\.0\.1\/16" has host bits set/);
  fs.rmSync(dir, { recursive: true, force: true });
});
