// On-demand VHDS through a real proxy and control plane in this process: requests for one unknown
// host share one subscription, and with the control plane gone a request for a new host gets a
// retriable 503 once the wait runs out (shortened here), while known hosts keep being served.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane } from '../../src/controlplane/control-plane.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { freePorts } from '../helpers/processes.js';
import { eventually, request, startUpstream, type Upstream } from './helpers/resources.js';

describe('on-demand VHDS', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-on-demand-'));
  const cp = new ControlPlane({ configDir: dir, xdsAddress: '127.0.0.1:0', monitorAddress: '127.0.0.1:0', debounceMs: 10, endpointGraceMs: 50, domain: 'cluster.local' });
  let up: Upstream;
  let server: Proxy;
  let client: Proxy;
  let port: number;

  before(async () => {
    up = await startUpstream('ratings');
    await cp.start();
    const [a, b, c, d] = await freePorts(4);
    const workload = (service: string, appPort: number, outboundPort: number, inboundPort: number) =>
      ({ service, namespace: 'default', labels: {}, serviceAccount: 'default', address: '127.0.0.1', appPort, servicePort: 9080, outboundPort, inboundPort, protocol: 'HTTP' });
    server = new Proxy({ xdsAddress: `127.0.0.1:${cp.xdsPort}`, workload: workload('ratings', up.port, a, b), adminPort: 0 });
    client = new Proxy({ xdsAddress: `127.0.0.1:${cp.xdsPort}`, workload: workload('client', 1, c, d), adminPort: 0, onDemandTimeoutMs: 300, xdsBackoff: { initialMs: 50, maxMs: 200 } });
    await Promise.all([server.start(), client.start()]);
    await Promise.all([server.whenReady(5000), client.whenReady(5000)]);
    port = client.listenerPort('virtualOutbound')!;
    await eventually(async () => (await request(port, { host: 'ratings:9080' })).status === 200, 5000, 'ratings reachable');
  });

  after(async () => {
    client?.destroy();
    server?.destroy();
    await cp.close();
    await up?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('concurrent requests for one unknown host share one subscription', async () => {
    const before = client.onDemand.names();
    const answers = await Promise.all(Array.from({ length: 5 }, () => request(port, { host: 'client:9080' })));
    // Routed to the client's own (closed) app port: the answer came, and the router took over.
    assert.deepEqual(answers.map((a) => a.headers['x-weft-reason']), Array(5).fill('UF upstream_connect_failure'));
    assert.deepEqual(client.onDemand.names(), [...before, 'virtualOutbound/client:9080'].sort());
  });

  it('without a control plane, known hosts are served and a new host gets 503 vhds_unavailable', async () => {
    await cp.close();
    await eventually(() => !client.ads.connected, 3000, 'the client notices');
    assert.equal((await request(port, { host: 'ratings:9080' })).status, 200);
    const r = await request(port, { host: 'later:9080' });
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-weft-reason'], 'NR vhds_unavailable');
    assert.match(r.body, /no answer from the control plane for host "later:9080"/);
    assert.ok(client.onDemand.names().includes('virtualOutbound/later:9080'), 'the subscription stays for when the control plane is back');
  });
});
