// Integration: retries, timeouts, circuit breaking, DNS clusters, in-place listener updates,
// rebinding, control-plane restarts and graceful shutdown — all through real sockets.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { TypeUrl } from '../../src/api/envoy.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startProxyUnderTest } from './helpers/proxy-under-test.js';
import { eventually, freePort, rdsListener, request, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';

const previousHosts = { name: 'envoy.retry_host_predicates.previous_hosts' };

function vhost(name: string, route: object, match: object = { prefix: '/' }): object {
  return { name, domains: [name], routes: [{ match, route }] };
}

interface Try {
  at: number;
  attempt: string;
  cutAt?: number;
  answered: boolean;
}

describe('proxy resilience', () => {
  let ads = new TestAdsServer();
  let good: Upstream;
  let flaky: Upstream;
  let slow: Upstream;
  let deadPort: number;
  let proxy: Proxy;
  let port: number;
  let flakyCount = 0;
  let scripted: Upstream;
  /** What `scripted` saw of each attempt: when it came, its attempt header, whether the proxy cut it
   * (the connection closed before the upstream answered), and when. */
  const tries = new Map<string, Try[]>();
  const PER_TRY_MS = 150;

  const routes = (extra: object[] = []) => ({
    name: 'out',
    virtual_hosts: [
      vhost('good', { cluster: 'good' }),
      vhost('flaky', { cluster: 'flaky', retry_policy: { retry_on: '5xx', num_retries: { value: 2 } } }),
      vhost('flaky-noretry', { cluster: 'flaky' }),
      vhost('deadlive', { cluster: 'deadlive', retry_policy: { retry_on: 'connect-failure', num_retries: { value: 3 }, retry_host_predicate: [previousHosts] } }),
      vhost('dead', { cluster: 'dead' }),
      vhost('slow', { cluster: 'slow', timeout: { nanos: 150_000_000 } }),
      vhost('retry2', { cluster: 'scripted', retry_policy: { retry_on: '5xx', num_retries: { value: 2 } } }),
      vhost('pertry', { cluster: 'scripted', retry_policy: { retry_on: 'gateway-error', num_retries: { value: 1 }, per_try_timeout: { nanos: PER_TRY_MS * 1e6 } } }),
      vhost('limited', { cluster: 'limited' }),
      vhost('dns', { cluster: 'dns' }),
      ...extra,
    ],
  });

  const clusters = () => [
      staticCluster('good', [good.port]),
      staticCluster('flaky', [flaky.port]),
      // Ten concurrent callers may all retry at once: above Envoy's default of 3 concurrent retries.
      staticCluster('deadlive', [deadPort, good.port], { circuit_breakers: { thresholds: [{ max_retries: { value: 10 } }] } }),
      staticCluster('dead', [deadPort]),
      staticCluster('slow', [slow.port]),
      staticCluster('scripted', [scripted.port]),
      staticCluster('limited', [slow.port], { circuit_breakers: { thresholds: [{ max_requests: { value: 1 } }] } }),
      {
        name: 'dns',
        type: 'STRICT_DNS',
        dns_lookup_family: 'V4_ONLY',
        connect_timeout: { seconds: 1 },
        load_assignment: { cluster_name: 'dns', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'localhost', port_value: good.port } } } }] }] },
      },
    ];

  before(async () => {
    good = await startUpstream('good');
    flaky = await startUpstream('flaky', (_req, res) => {
      // Every other request fails.
      if (flakyCount++ % 2 === 0) {
        res.writeHead(503, { 'content-length': 4 });
        res.end('oops');
        return true;
      }
    });
    slow = await startUpstream('slow', (_req, res) => {
      const t = setTimeout(() => {
        res.writeHead(200, { 'content-length': 4 });
        res.end('slow');
      }, 1000);
      res.on('close', () => clearTimeout(t));
      return true;
    });
    // /fail/N/ID: the first N requests for that path get 503, later ones 200.
    // /hang-first/ID: the first request for that path is answered only after 2 s, later ones at once.
    scripted = await startUpstream('scripted', (req, res) => {
      const url = req.url ?? '';
      const seen = tries.get(url) ?? [];
      tries.set(url, seen);
      const t: Try = { at: Date.now(), attempt: String(req.headers['x-envoy-attempt-count']), answered: false };
      seen.push(t);
      const answer = (status: number) => {
        t.answered = true;
        res.writeHead(status, { 'content-length': 2 });
        res.end('ok');
      };
      const fail = /^\/fail\/(\d+)\//.exec(url);
      if (fail) answer(seen.length <= Number(fail[1]) ? 503 : 200);
      else if (url.startsWith('/hang-first/') && seen.length === 1) {
        const timer = setTimeout(() => answer(200), 2000);
        res.on('close', () => {
          clearTimeout(timer);
          if (!t.answered) t.cutAt = Date.now();
        });
      } else answer(200);
      return true;
    });
    deadPort = await freePort();
    ({ proxy, port } = await startProxyUnderTest(ads, { clusters: clusters(), routes: routes(), readyHost: 'good', drainTimeoutMs: 3000 }));
  });

  after(async () => {
    proxy?.destroy();
    await ads.stop();
    await Promise.all([good, flaky, slow, scripted].map((u) => u?.close()));
  });

  it('retries 5xx and tells the upstream the attempt number', async () => {
    flakyCount = 0;
    const r = await request(port, { host: 'flaky', method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 200);
    const last = flaky.seen.at(-1)!;
    assert.equal(last.headers['x-envoy-attempt-count'], '2');
    assert.equal(last.body, 'payload', 'the buffered body is replayed');
    flakyCount = 0;
    const noRetry = await request(port, { host: 'flaky-noretry' });
    assert.equal(noRetry.status, 503, 'without a retry policy the upstream 503 passes through');
    assert.equal(noRetry.body, 'oops');
  });

  it('num_retries 2 makes up to three attempts: an upstream that fails twice answers the third', async () => {
    const r = await request(port, { host: 'retry2', path: '/fail/2/a' });
    assert.equal(r.status, 200);
    assert.deepEqual(
      tries.get('/fail/2/a')!.map((t) => t.attempt),
      ['1', '2', '3'],
    );
    // And no more than that: failing three times exhausts the retries and the last 503 passes through.
    const exhausted = await request(port, { host: 'retry2', path: '/fail/3/b' });
    assert.equal(exhausted.status, 503);
    assert.equal(tries.get('/fail/3/b')!.length, 3, 'one attempt plus two retries');
  });

  it('per_try_timeout cuts a slow attempt and retries it', async () => {
    const r = await request(port, { host: 'pertry', path: '/hang-first/a' });
    assert.equal(r.status, 200);
    const [first, second] = tries.get('/hang-first/a')!;
    assert.equal(tries.get('/hang-first/a')!.length, 2);
    assert.deepEqual([first.attempt, second.attempt], ['1', '2']);
    assert.equal(first.answered, false, 'the first attempt was cut before its upstream answered');
    assert.ok(first.cutAt !== undefined && first.cutAt <= second.at, 'the first attempt was cut before the retry went out');
    // Cut at the per-try timeout, not at the route timeout (15 s) or the 2 s the upstream takes.
    const cutAfter = first.cutAt - first.at;
    assert.ok(cutAfter >= PER_TRY_MS - 20 && cutAfter < PER_TRY_MS + 1000, `first attempt cut after ${cutAfter} ms (per_try_timeout ${PER_TRY_MS} ms)`);
  });

  it('retries connect failures on another host', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => request(port, { host: 'deadlive' })));
    assert.deepEqual(
      results.map((r) => r.status),
      Array(10).fill(200),
    );
    const dead = await request(port, { host: 'dead' });
    assert.equal(dead.status, 503);
    assert.equal(dead.headers['x-weft-reason'], 'UF upstream_connect_failure');
  });

  it('times out slow upstreams with 504 at the route timeout', async () => {
    const r = await request(port, { host: 'slow', path: '/always' });
    assert.equal(r.status, 504);
    assert.equal(r.body, 'upstream request timeout');
  });

  it('enforces max_requests', async () => {
    const first = request(port, { host: 'limited', path: '/always' }).catch(() => undefined);
    await eventually(() => proxy.clusters.get('limited')!.active === 1, 2000, 'first request in flight');
    const second = await request(port, { host: 'limited' });
    assert.equal(second.status, 503);
    assert.equal(second.headers['x-weft-reason'], 'UO overflow');
    await first;
  });

  it('resolves STRICT_DNS clusters', async () => {
    await eventually(() => (proxy.clusters.get('dns')?.hosts.length ?? 0) > 0, 3000, 'dns resolution');
    const r = await request(port, { host: 'dns' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-weft-upstream-host'], `127.0.0.1:${good.port}`);
    const clustersText = (await request(proxy.adminPort, { path: '/clusters' })).body;
    assert.ok(clustersText.includes(`dns::127.0.0.1:${good.port}::hostname::localhost`), clustersText);
  });

  it('updates an unchanged listener in place: keep-alive connections survive', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ports: number[] = [];
      const grab = () =>
        new Promise<number>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: '/', headers: { host: 'good' }, agent }, (res) => {
              const local = res.socket.localPort!;
              res.resume();
              res.on('end', () => resolve(local));
            })
            .on('error', reject);
        });
      ports.push(await grab());
      const l = rdsListener('out', 0) as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] };
      l.filter_chains[0].filters[0].typed_config.stat_prefix = 'renamed';
      const ack = await ads.setAndWait('listener', 'l2', [l]);
      assert.equal(ack.version_info, 'l2');
      assert.ok(!ack.error_detail?.message);
      assert.equal(proxy.listenerPort('out'), port, 'same socket');
      ports.push(await grab());
      assert.equal(ports[1], ports[0], 'the same client connection carried both requests');
      assert.ok('http.renamed.downstream_rq_total' in proxy.stats());
    } finally {
      agent.destroy();
    }
  });

  it('rebinds a listener whose port changes and drains the old one', async () => {
    const newPort = await freePort();
    const ack = await ads.setAndWait('listener', 'l3', [rdsListener('out', newPort)]);
    assert.equal(ack.version_info, 'l3');
    assert.equal(proxy.listenerPort('out'), newPort);
    assert.equal((await request(newPort, { host: 'good' }, )).status, 200);
    await eventually(
      () =>
        request(port, { host: 'good', agent: new http.Agent() }).then(
          () => false,
          (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED',
        ),
      3000,
      'old port closed',
    );
    port = newPort;
  });

  it('keeps serving while the control plane restarts, then resumes from its versions', async () => {
    let failures = 0;
    let ok = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const r = await request(port, { host: 'good' }).catch(() => undefined);
        if (r?.status === 200) ok++;
        else failures++;
        await new Promise((res) => setTimeout(res, 5));
      }
    })();
    const adsPort = ads.port;
    const versions = proxy.ads.versions();
    await ads.stop();
    await eventually(() => !proxy.ads.connected, 3000, 'proxy notices the stream is gone');
    const okBefore = ok;
    await eventually(() => ok >= okBefore + 10, 3000, 'traffic to flow while disconnected');
    ads = new TestAdsServer();
    ads.set('cluster', versions.cluster, clusters());
    ads.set('listener', 'l3', [rdsListener('out', port)]);
    ads.set('route', 'r-new', [routes([vhost('fresh', { cluster: 'good' })])]);
    await ads.start(adsPort);
    const resumed = await ads.waitForRequest((r) => r.type_url === TypeUrl.cluster, 5000);
    assert.equal(resumed.version_info, versions.cluster, 'a reconnect resumes from the last ACKed version');
    assert.ok(resumed.node?.id, 'node on the first request of the new stream');
    await eventually(() => proxy.ads.connected, 3000, 'reconnected');
    // New config from the new server is applied.
    await eventually(async () => (await request(port, { host: 'fresh' })).status === 200, 3000, 'new config applied');
    running = false;
    await loop;
    assert.equal(failures, 0, 'no request failed across the restart');
    assert.ok(ok > 10);
  });

  it('drains in-flight requests on close()', async () => {
    ads.set('cluster', 'c9', [staticCluster('slow', [slow.port])]);
    ads.set('route', 'r9', [{ name: 'out', virtual_hosts: [vhost('slow', { cluster: 'slow', timeout: { seconds: 5 } })] }]);
    await eventually(() => proxy.clusters.get('slow') !== undefined, 3000, 'cluster back');
    await eventually(async () => proxy.routes.get('out')?.config.virtualHosts.length === 1, 3000, 'routes');
    const inflight = request(port, { host: 'slow', path: '/always' });
    await eventually(() => proxy.clusters.get('slow')!.active === 1, 2000, 'in flight');
    const closed = proxy.close();
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'slow');
    await closed;
    await assert.rejects(request(port, { host: 'slow', agent: new http.Agent() }), /ECONNREFUSED/);
  });
});
