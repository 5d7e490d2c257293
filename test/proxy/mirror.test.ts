// request_mirror_policies through a real sidecar: the mirror gets the copies (with the `-shadow`
// host and the body), its answers never reach the caller, and its 2 s delay adds nothing to the
// caller's latency; runtime_fraction mirrors a share.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startProxyUnderTest } from './helpers/proxy-under-test.js';
import { request, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';

describe('request mirroring', () => {
  const ads = new TestAdsServer();
  let primary: Upstream;
  let shadow: Upstream;
  let proxy: Proxy;
  let port = 0;

  before(async () => {
    primary = await startUpstream('primary');
    shadow = await startUpstream('shadow', (_req, res) => {
      const t = setTimeout(() => {
        res.writeHead(500, { 'content-length': 6 });
        res.end('mirror');
      }, 2000);
      res.on('close', () => clearTimeout(t));
      return true;
    });
    const route = (mirror: object) => ({ cluster: 'primary', request_mirror_policies: [{ cluster: 'shadow', ...mirror }] });
    ({ proxy, port } = await startProxyUnderTest(ads, {
      clusters: [staticCluster('primary', [primary.port]), staticCluster('shadow', [shadow.port])],
      routes: {
        name: 'out',
        virtual_hosts: [
          { name: 'all', domains: ['app'], routes: [{ match: { prefix: '/' }, route: route({}) }] },
          { name: 'half', domains: ['half'], routes: [{ match: { prefix: '/' }, route: route({ runtime_fraction: { default_value: { numerator: 50, denominator: 'HUNDRED' } } }) }] },
          { name: 'ready', domains: ['ready'], routes: [{ match: { prefix: '/' }, route: { cluster: 'primary' } }] },
        ],
      },
      readyHost: 'ready',
    }));
  });

  after(async () => {
    proxy?.destroy();
    await ads.stop();
    await primary?.close();
    await shadow?.close();
  });

  it('the mirror receives ≥ 95% of copies, with -shadow host and body, and its 2 s delay adds nothing to the caller', async () => {
    const N = 200;
    const latencies: number[] = [];
    for (let i = 0; i < N; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const t0 = performance.now();
          const r = await request(port, { host: 'app', path: `/m${i + k}`, method: 'POST', body: `body-${i + k}` });
          latencies.push(performance.now() - t0);
          assert.equal(r.status, 200);
          assert.equal(JSON.parse(r.body).upstream, 'primary');
        }),
      );
    }
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(N * 0.99) - 1];
    // A mirror on the caller's path would add its 2 s to every request.
    assert.ok(p99 < 1000, `caller p99 ${p99.toFixed(1)} ms`);
    const deadline = Date.now() + 5000;
    while (shadow.seen.length < N * 0.95 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(shadow.seen.length >= N * 0.95, `mirror saw ${shadow.seen.length} of ${N}`);
    const one = shadow.seen.find((s) => s.url === '/m7')!;
    assert.equal(one.headers.host, 'app-shadow');
    assert.equal(one.body, 'body-7');
    assert.equal(proxy.stats()['cluster.shadow.upstream_rq_mirror'] >= N, true);
  });

  it('runtime_fraction mirrors about that share', async () => {
    const before = shadow.seen.length;
    for (let i = 0; i < 400; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => request(port, { host: 'half', path: `/h${i + k}` })));
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && shadow.seen.length - before < 150) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 2500)); // the slowest copies land
    const share = ((shadow.seen.length - before) / 400) * 100;
    assert.ok(share > 40 && share < 60, `mirrored ${share}%`);
  });
});
