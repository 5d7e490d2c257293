// The ADS conversation itself: warming order (routes and endpoints arriving after their
// listeners/clusters), subscription updates carrying versions and nonces, EDS NACKs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TypeUrl } from '../../src/api/envoy.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { cla, edsCluster, eventually, rdsListener, request, startUpstream, type Upstream } from './helpers/resources.js';

const routeTo = (cluster: string, extra: object[] = []) => ({
  name: 'out',
  virtual_hosts: [{ name: 'svc', domains: ['svc'], routes: [{ match: { prefix: '/' }, route: { cluster } }] }, ...extra],
});

describe('ADS protocol', () => {
  const ads = new TestAdsServer();
  let up: Upstream;
  let proxy: Proxy;
  let port: number;

  before(async () => {
    up = await startUpstream('up');
    await ads.start();
    // Listeners and clusters first; routes and endpoints not yet.
    ads.set('cluster', 'c1', [edsCluster('a'), edsCluster('b')]);
    ads.set('listener', 'l1', [rdsListener('out', 0)]);
    proxy = new Proxy({ xdsAddress: ads.address, xdsProtocol: 'sotw', workload: { service: 'w', namespace: 'default', labels: {}, serviceAccount: 'default', address: '127.0.0.1', appPort: 1, servicePort: 1, outboundPort: 15001, inboundPort: 15006, protocol: 'HTTP' }, adminPort: 0 });
    await proxy.start();
    await eventually(() => proxy.listenerPort('out') !== undefined, 5000, 'listener bound');
    port = proxy.listenerPort('out')!;
  });

  after(async () => {
    proxy?.destroy();
    await ads.stop();
    await up?.close();
  });

  it('is not ready until the route configuration its listener names arrives (listener warming); a host not in it answers 404', async () => {
    assert.equal((await request(proxy.adminPort, { path: '/ready' })).status, 503);
    await ads.setAndWait('route', 'r0', [{ name: 'out', virtual_hosts: [{ name: 'other', domains: ['other'], routes: [{ match: { prefix: '/' }, route: { cluster: 'a' } }] }] }]);
    await proxy.whenReady(5000);
    assert.equal((await request(proxy.adminPort, { path: '/ready' })).status, 200);
    const r = await request(port, { host: 'svc' });
    assert.equal(r.status, 404);
    assert.match(r.body, /no route for host "svc"/);
    assert.equal(r.headers['x-weft-reason'], 'NR no_route');
  });

  it('a cluster without endpoints yet answers 503, then serves once EDS arrives', async () => {
    const ack = await ads.setAndWait('route', 'r1', [routeTo('a')]);
    assert.equal(ack.version_info, 'r1');
    const before503 = await request(port, { host: 'svc' });
    assert.equal(before503.status, 503);
    assert.equal(before503.headers['x-weft-reason'], 'UH no_healthy_upstream');
    const edsAck = await ads.setAndWait('endpoint', 'e1', [cla('a', [up.port]), cla('b', [up.port])]);
    assert.equal(edsAck.version_info, 'e1');
    assert.deepEqual([...edsAck.resource_names].sort(), ['a', 'b'], 'an ACK repeats the subscription');
    await eventually(async () => (await request(port, { host: 'svc' })).status === 200, 3000, 'endpoints applied');
  });

  it('NACKs bad endpoints and keeps the old ones', async () => {
    const nack = await ads.setAndWait('endpoint', 'e-bad', [cla('a', [up.port], 'not-an-ip')]);
    assert.equal(nack.version_info, 'e1');
    assert.match(nack.error_detail!.message, /^endpoint a: endpoints\[0\]\.lb_endpoints\[0\]\.endpoint\.address\.socket_address\.address: "not-an-ip" is not an IP address$/);
    assert.equal((await request(port, { host: 'svc' })).status, 200);
  });

  it('shrinks the EDS subscription when a cluster goes, carrying the last version and nonce', async () => {
    const edsNonce = ads.lastNonce('endpoint');
    const from = ads.requests.length;
    ads.set('cluster', 'c2', [edsCluster('a')]);
    const sub = await ads.waitForRequest((r) => r.type_url === TypeUrl.endpoint && r.resource_names.length === 1, 5000, from);
    assert.deepEqual(sub.resource_names, ['a']);
    assert.equal(sub.version_info, 'e1', 'the last ACKed EDS version');
    assert.equal(sub.response_nonce, edsNonce, 'the last EDS nonce');
    assert.equal(proxy.clusters.get('b'), undefined);
    const dump = JSON.parse((await request(proxy.adminPort, { path: '/config_dump' })).body);
    assert.deepEqual(
      dump.configs[3].dynamic_endpoint_configs.map((e: { endpoint_config: { cluster_name: string } }) => e.endpoint_config.cluster_name),
      ['a'],
    );
  });

  it('grows the RDS subscription when a listener names another route', async () => {
    const from = ads.requests.length;
    const ack = await ads.setAndWait('listener', 'l2', [rdsListener('out', 0), rdsListener('second', 0, 'other')]);
    assert.equal(ack.version_info, 'l2');
    const sub = await ads.waitForRequest((r) => r.type_url === TypeUrl.route && r.resource_names.length === 2, 5000, from);
    assert.deepEqual(sub.resource_names, ['other', 'out']);
    ads.set('route', 'r2', [routeTo('a'), { name: 'other', virtual_hosts: [{ name: 'o', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 204 } }] }] }]);
    const second = proxy.listenerPort('second')!;
    await eventually(async () => (await request(second, { host: 'anything' })).status === 204, 3000, 'second route applied');
    assert.equal(proxy.listenerPort('out'), port, 'the first listener kept its socket');
  });
});

describe('listener warming gives up on missing routes after the initial fetch timeout', () => {
  it('becomes ready without its route configuration and answers 404 route not found', async () => {
    const ads = new TestAdsServer();
    await ads.start();
    ads.set('cluster', 'c1', [edsCluster('a')]);
    ads.set('listener', 'l1', [rdsListener('out', 0)]);
    const workload = { service: 'w', namespace: 'default', labels: {}, serviceAccount: 'default', address: '127.0.0.1', appPort: 1, servicePort: 1, outboundPort: 15001, inboundPort: 15006, protocol: 'HTTP' as const };
    const proxy = new Proxy({ xdsAddress: ads.address, xdsProtocol: 'sotw', workload, adminPort: 0, initialFetchTimeoutMs: 200 });
    try {
      await proxy.start();
      await proxy.whenReady(5000);
      const r = await request(proxy.listenerPort('out')!, { host: 'svc' });
      assert.equal(r.status, 404);
      assert.match(r.body, /route not found/);
    } finally {
      proxy.destroy();
      await ads.stop();
    }
  });
});
