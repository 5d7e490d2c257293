// Circuit breaking, outlier detection and retries with budgets, end to end: a TestAdsServer drives an
// in-process proxy whose clusters point at real upstream servers on loopback. Each test measures an
// outcome (counts and orderings, not tight wall-clock bounds).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startProxyUnderTest } from './helpers/proxy-under-test.js';
import { eventually, request, startUpstream, staticCluster, type Reply, type Upstream } from './helpers/resources.js';

const vhost = (name: string, route: object) => ({ name, domains: [name], routes: [{ match: { prefix: '/' }, route }] });
/** What the control plane emits for VirtualService `retries: {attempts: 3}` (Istio's conversion). */
const istioRetries = (attempts: number) => ({
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: { value: attempts },
  retriable_status_codes: [503],
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
  host_selection_retry_max_attempts: 5,
});
const budget = { thresholds: [{ retry_budget: { budget_percent: { value: 20 }, min_retry_concurrency: { value: 3 } } }] };

function answer(res: http.ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': 2 });
  res.end('ok');
}

/** Counts requests in flight at an upstream and their peak. */
class Concurrency {
  now = 0;
  peak = 0;
  enter(): void {
    this.peak = Math.max(this.peak, ++this.now);
  }
  leave(): void {
    this.now--;
  }
}

describe('resilience behaviour through real sockets', () => {
  const ads = new TestAdsServer();
  let proxy: Proxy;
  let port: number;
  const ups: Upstream[] = [];
  // circuit breaking
  const held: http.ServerResponse[] = [];
  const heldConcurrency = new Concurrency();
  const sockets = new Set<number>();
  // retries
  let flakyCalls = 0;
  let allFail = false;
  const retryAttempts = new Concurrency();
  // outlier detection
  const badSeen: number[] = [];

  before(async () => {
    const ok = await startUpstream('ok');
    const limited = await startUpstream('limited', (_req, res) => {
      heldConcurrency.enter();
      res.on('close', () => heldConcurrency.leave());
      held.push(res);
      return true;
    });
    const perConn = await startUpstream('per-conn', (req, res) => {
      sockets.add(req.socket.remotePort!);
      answer(res, 200);
      return true;
    });
    // Two instances of one service: one fails half the time (or always, when allFail).
    const retryHandler = (flaky: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
      const isRetry = req.headers['x-envoy-attempt-count'] !== '1';
      if (isRetry) retryAttempts.enter();
      const fail = allFail || (flaky && flakyCalls++ % 2 === 0);
      // All-fail mode answers after 20 ms, so attempts stay in flight long enough to overlap.
      setTimeout(() => {
        if (isRetry) retryAttempts.leave();
        answer(res, fail ? 503 : 200);
      }, allFail ? 20 : 0);
      return true;
    };
    const r1 = await startUpstream('r1', retryHandler(true));
    const r2 = await startUpstream('r2', retryHandler(false));
    const good = await startUpstream('good');
    const bad = await startUpstream('bad', (_req, res) => {
      badSeen.push(performance.now());
      answer(res, 503);
      return true;
    });
    ups.push(ok, limited, perConn, r1, r2, good, bad);
    ({ proxy, port } = await startProxyUnderTest(ads, {
      readyHost: 'ok',
      clusters: [
        staticCluster('ok', [ok.port]),
        staticCluster('limited', [limited.port], { circuit_breakers: { thresholds: [{ max_connections: { value: 1 }, max_pending_requests: { value: 1 } }] } }),
        staticCluster('per-conn', [perConn.port], { common_http_protocol_options: { max_requests_per_connection: { value: 2 } } }),
        staticCluster('retried', [r1.port, r2.port], { circuit_breakers: budget }),
        staticCluster('outlier', [good.port, bad.port], {
          outlier_detection: {
            consecutive_5xx: { value: 3 },
            interval: { nanos: 100_000_000 },
            base_ejection_time: { nanos: 200_000_000 },
            enforcing_success_rate: { value: 0 },
          },
          common_lb_config: { healthy_panic_threshold: { value: 0 } },
        }),
      ],
      routes: {
        name: 'out',
        virtual_hosts: [
          vhost('ok', { cluster: 'ok' }),
          vhost('limited', { cluster: 'limited', timeout: { seconds: 10 } }),
          vhost('per-conn', { cluster: 'per-conn' }),
          vhost('retried', { cluster: 'retried', retry_policy: istioRetries(3) }),
          vhost('outlier', { cluster: 'outlier' }),
        ],
      },
    }));
  });

  after(async () => {
    for (const r of held) r.destroy();
    proxy?.destroy();
    await ads.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it('max_connections 1 + max_pending_requests 1: 20 concurrent callers, overflows are UO 503s at once', async (t) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    try {
      // Warm 20 client connections first, so the figures below are the proxy's answer time.
      await Promise.all(Array.from({ length: 20 }, () => request(port, { host: 'ok', agent })));
      const replies: (Reply & { ms: number })[] = [];
      const calls = Array.from({ length: 20 }, () => {
        const started = performance.now();
        return request(port, { host: 'limited', agent }).then((r) => {
          replies.push({ ...r, ms: performance.now() - started });
          return r;
        });
      });
      // The upstream holds what reaches it; every overflow is answered while it does. Whether the
      // second caller found the pending slot free depends on whether the first connection was still
      // connecting (Envoy counts that as pending too): 18 or 19 overflows.
      const pending = () => proxy.clusters.get('limited')!.resources.pending.count;
      await eventually(() => held.length === 1 && replies.length + 1 + pending() === 20, 5000, 'every caller answered, held or queued');
      const queued = pending();
      const overflowed = replies.filter((r) => r.status === 503 && r.headers['x-weft-reason'] === 'UO overflow');
      assert.equal(overflowed.length, 19 - queued, 'one request at the upstream, at most one pending, the rest refused');
      assert.ok(overflowed.length >= 18);
      assert.equal(held.length, 1);
      const stats = proxy.stats();
      assert.equal(stats['cluster.limited.upstream_rq_pending_overflow'], overflowed.length);
      if (queued) assert.ok(stats['cluster.limited.upstream_cx_overflow'] >= 1, 'the pending request wanted a second connection');
      assert.equal(stats['cluster.limited.circuit_breakers.default.cx_open'], 1, 'the connection breaker is open while the one connection is busy');
      assert.equal(stats['cluster.limited.circuit_breakers.default.remaining_cx'], 0);
      const ms = overflowed.map((r) => r.ms).sort((a, b) => a - b);
      t.diagnostic(`${ms.length} overflow 503s: median ${ms[ms.length >> 1].toFixed(1)} ms, max ${ms[ms.length - 1].toFixed(1)} ms per request`);
      // Release: a pending request goes out on the same connection once the first is answered.
      answer(held[0], 200);
      if (queued) {
        await eventually(() => held.length === 2, 5000, 'pending request sent');
        answer(held[1], 200);
      }
      const all = await Promise.all(calls);
      assert.equal(all.filter((r) => r.status === 200).length, 1 + queued);
      assert.equal(heldConcurrency.peak, 1, 'the upstream never saw more than max_connections at once');
    } finally {
      agent.destroy();
    }
  });

  it('max_requests_per_connection 2: a new upstream connection every two requests', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await request(port, { host: 'per-conn' })).status, 200);
    assert.equal(sockets.size, 3);
  });

  it('retries: one instance failing half the time, attempts 3 → ≥ 99 % success over 2,000 requests', async (t) => {
    let okCount = 0;
    const workers = 3; // the budget's min_retry_concurrency: retries never wait on the budget here
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let i = w; i < 2000; i += workers) if ((await request(port, { host: 'retried' })).status === 200) okCount++;
      }),
    );
    const stats = proxy.stats();
    t.diagnostic(`success ${okCount}/2000, retries ${stats['cluster.retried.upstream_rq_retry']}`);
    assert.ok(okCount / 2000 >= 0.99, `success ${okCount}/2000`);
    assert.ok(stats['cluster.retried.upstream_rq_retry'] > 200, 'the failures were retried');
  });

  it('the retry budget caps retries when every instance fails', async (t) => {
    allFail = true;
    retryAttempts.peak = 0;
    const before = proxy.stats();
    const callers = 20;
    const perCaller = 10;
    const agent = new http.Agent({ keepAlive: true, maxSockets: callers });
    try {
      await Promise.all(
        Array.from({ length: callers }, async () => {
          for (let i = 0; i < perCaller; i++) assert.equal((await request(port, { host: 'retried', agent })).status, 503);
        }),
      );
    } finally {
      agent.destroy();
      allFail = false;
    }
    const s = proxy.stats();
    const requests = callers * perCaller;
    const retries = s['cluster.retried.upstream_rq_retry'] - before['cluster.retried.upstream_rq_retry'];
    const overflow = s['cluster.retried.upstream_rq_retry_overflow'] - before['cluster.retried.upstream_rq_retry_overflow'];
    t.diagnostic(`${requests} requests: ${retries} retries (unbudgeted: ${3 * requests}), ${overflow} refused by the budget, peak ${retryAttempts.peak} retry attempts in flight`);
    // Envoy's rule: active retries ≤ max(min_retry_concurrency, 20 % of active + pending requests).
    assert.ok(retryAttempts.peak <= Math.max(3, 0.2 * callers), `peak ${retryAttempts.peak}`);
    assert.ok(overflow > 0, 'the budget refused retries (counted)');
    // The budget bounds retries in flight, not a ratio of requests; over this run that is a small
    // fraction of the 3 retries per request an unbudgeted policy would send.
    assert.ok(retries < 0.5 * requests, `retries ${retries} of ${requests} requests`);
  });

  it('consecutive_5xx 3: a failing instance is ejected, returns, and its second ejection lasts twice as long', async (t) => {
    badSeen.length = 0;
    const deadline = Date.now() + 8000;
    // Requests until the bad instance has had three bursts (eject, return, eject, return, eject).
    while (badSeen.length < 9 && Date.now() < deadline) {
      await request(port, { host: 'outlier' });
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(badSeen.length, 9, 'three bursts of consecutive_5xx requests');
    const gap1 = badSeen[3] - badSeen[2];
    const gap2 = badSeen[6] - badSeen[5];
    const within = (i: number) => badSeen[i + 2] - badSeen[i];
    assert.ok(within(0) < gap1 && within(3) < gap2, 'each burst is three requests in a row, then nothing');
    t.diagnostic(`ejections: ${gap1.toFixed(0)} ms, then ${gap2.toFixed(0)} ms without a request (base 200 ms, sweep every 100 ms)`);
    assert.ok(gap1 >= 200, `first ejection ${gap1.toFixed(0)} ms ≥ base_ejection_time`);
    assert.ok(gap2 >= 400, `second ejection ${gap2.toFixed(0)} ms ≥ 2 × base_ejection_time`);
    assert.ok(gap2 > gap1, 'the second ejection is longer');
    const clusters = (await request(proxy.adminPort, { path: '/clusters' })).body;
    const badKey = `outlier::127.0.0.1:${ups[6].port}`;
    assert.ok(clusters.includes(`${badKey}::outlier_ejected::true`), clusters);
    assert.ok(clusters.includes(`${badKey}::outlier_ejections::3`), clusters);
    assert.ok(clusters.includes(`${badKey}::health_flags::/failed_outlier_check`), clusters);
    const json = JSON.parse((await request(proxy.adminPort, { path: '/clusters?format=json' })).body) as {
      cluster_statuses: { name: string; host_statuses: { address: { socket_address: { port_value: number } }; outlier?: { ejected: boolean; ejections: number } }[] }[];
    };
    const hosts = json.cluster_statuses.find((c) => c.name === 'outlier')!.host_statuses;
    assert.deepEqual(hosts.find((h) => h.address.socket_address.port_value === ups[6].port)?.outlier, { ejected: true, ejections: 3 });
    assert.deepEqual(hosts.find((h) => h.address.socket_address.port_value === ups[5].port)?.outlier, { ejected: false, ejections: 0 });
    const stats = proxy.stats();
    assert.equal(stats['cluster.outlier.outlier_detection.ejections_enforced_total'], 3);
    assert.equal(stats['cluster.outlier.outlier_detection.ejections_returned_total'], 2);
    assert.equal(stats['cluster.outlier.outlier_detection.ejections_active'], 1);
  });
});
