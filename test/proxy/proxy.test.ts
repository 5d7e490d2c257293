// Integration: a real ADS server (grpc-js) drives an in-process Proxy; real HTTP upstreams on
// 127.0.0.1. Checks routing, weighted splits, local replies, ACK/NACK and admin.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { TypeUrl } from '../../src/api/envoy.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import {
  cla,
  edsCluster,
  eventually,
  FAULT_TYPE,
  hcmListener,
  rdsListener,
  request,
  routerFilter,
  startUpstream,
  staticCluster,
  type Upstream,
} from './helpers/resources.js';

const V1 = 'outbound|9080|v1|reviews.default.svc.cluster.local';
const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';
const RATINGS = 'outbound|9080||ratings.default.svc.cluster.local';
const EMPTY = 'outbound|9080||empty.default.svc.cluster.local';

function outboundRoutes(extraVhosts: object[] = []): object {
  return {
    name: 'virtualOutbound',
    virtual_hosts: [
      {
        name: 'reviews.default.svc.cluster.local:9080',
        domains: ['reviews.default.svc.cluster.local:9080', 'reviews', 'reviews:9080'],
        routes: [
          { match: { prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] }, route: { cluster: V2 } },
          {
            match: { prefix: '/split' },
            route: { weighted_clusters: { clusters: [{ name: V1, weight: { value: 80 } }, { name: V2, weight: { value: 20 } }] } },
          },
          { match: { safe_regex: { regex: '/api/v[0-9]+/.*' } }, route: { cluster: V2, regex_rewrite: { pattern: { regex: '^/api/v[0-9]+/' }, substitution: '/rewritten/' } } },
          { match: { prefix: '/' }, route: { cluster: V1 } },
        ],
      },
      {
        name: 'ratings',
        domains: ['ratings', 'ratings:9080'],
        routes: [
          { match: { prefix: '/v1/' }, route: { cluster: RATINGS, prefix_rewrite: '/' } },
          { match: { path: '/health' }, direct_response: { status: 200, body: { inline_string: 'ok' } } },
          { match: { prefix: '/old' }, redirect: { path_redirect: '/new', response_code: 'FOUND' } },
          {
            match: { prefix: '/teapot' },
            route: { cluster: RATINGS },
            typed_per_filter_config: {
              'envoy.filters.http.fault': { '@type': FAULT_TYPE, abort: { http_status: 418, percentage: { numerator: 100, denominator: 'HUNDRED' } } },
            },
          },
          { match: { prefix: '/' }, route: { cluster: RATINGS } },
        ],
      },
      { name: 'empty', domains: ['empty'], routes: [{ match: { prefix: '/' }, route: { cluster: EMPTY } }] },
      { name: 'missing', domains: ['missing'], routes: [{ match: { prefix: '/' }, route: { cluster: 'no-such-cluster' } }] },
      ...extraVhosts,
    ],
  };
}

describe('proxy driven over ADS', () => {
  const ads = new TestAdsServer();
  let v1: Upstream;
  let v2: Upstream;
  let ratings: Upstream;
  let app: Upstream;
  let proxy: Proxy;
  let out: number;
  let inbound: number;

  before(async () => {
    [v1, v2, ratings, app] = await Promise.all([startUpstream('v1'), startUpstream('v2'), startUpstream('ratings'), startUpstream('app')]);
    await ads.start();
    ads.set('cluster', 'c1', [edsCluster(V1), edsCluster(V2), edsCluster(EMPTY), staticCluster(RATINGS, [ratings.port]), staticCluster('inbound|9080||', [app.port])]);
    ads.set('endpoint', 'e1', [cla(V1, [v1.port]), cla(V2, [v2.port])]);
    ads.set('listener', 'l1', [
      rdsListener('virtualOutbound', 0),
      hcmListener('virtualInbound', 0, {
        stat_prefix: 'inbound_0.0.0.0_15006',
        http_filters: [routerFilter],
        route_config: {
          name: 'inbound|9080||',
          virtual_hosts: [{ name: 'inbound|http|9080', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'inbound|9080||', timeout: { seconds: 0 } } }] }],
        },
      }),
    ]);
    ads.set('route', 'r1', [outboundRoutes()]);
    proxy = new Proxy({
      xdsAddress: ads.address,
      xdsProtocol: 'sotw', // the test server speaks state of the world
      workload: {
        service: 'productpage',
        namespace: 'default',
        labels: { app: 'productpage', version: 'v1' },
        serviceAccount: 'bookinfo-productpage',
        address: '127.0.0.1',
        appPort: app.port,
        servicePort: 9080,
        outboundPort: 15001,
        inboundPort: 15006,
        protocol: 'HTTP',
      },
      adminPort: 0,
      xdsBackoff: { initialMs: 20, maxMs: 200 },
    });
    await proxy.start();
    await proxy.whenReady(5000);
    out = proxy.listenerPort('virtualOutbound')!;
    inbound = proxy.listenerPort('virtualInbound')!;
    // RDS and EDS follow LDS/CDS; wait until both are in.
    await eventually(async () => (await request(out, { host: 'reviews' })).status === 200, 5000, 'routes and endpoints');
  });

  after(async () => {
    proxy?.destroy();
    await ads.stop();
    await Promise.all([v1, v2, ratings, app].map((u) => u?.close()));
  });

  it('sends the node with its registration metadata and subscribes like Envoy', async () => {
    const first = ads.requests[0];
    assert.ok(first.node, 'first request carries the node');
    assert.match(first.node!.id, /^sidecar~127\.0\.0\.1~productpage-\d+\.default~default\.svc\.cluster\.local$/);
    assert.equal(first.node!.cluster, 'productpage');
    const types = ads.requests.slice(0, 2).map((r) => r.type_url);
    assert.deepEqual(types, [TypeUrl.cluster, TypeUrl.listener]);
    const eds = await ads.waitForRequest((r) => r.type_url === TypeUrl.endpoint);
    assert.deepEqual([...eds.resource_names].sort(), [EMPTY, V1, V2].sort());
    const rds = await ads.waitForRequest((r) => r.type_url === TypeUrl.route);
    assert.deepEqual(rds.resource_names, ['virtualOutbound']);
  });

  it('serves /ready and /config_dump on the admin port', async () => {
    const ready = await request(proxy.adminPort, { path: '/ready' });
    assert.equal(ready.status, 200);
    assert.equal(ready.body.trim(), 'LIVE');
    const dump = JSON.parse((await request(proxy.adminPort, { path: '/config_dump' })).body);
    assert.equal(dump.xds.connected, true);
    assert.equal(dump.xds.control_plane, ads.address);
    const [listeners, clusters, routes, endpoints] = dump.configs;
    assert.match(listeners['@type'], /ListenersConfigDump$/);
    assert.deepEqual(listeners.dynamic_listeners.map((l: { name: string }) => l.name).sort(), ['virtualInbound', 'virtualOutbound']);
    assert.equal(clusters.version_info, 'c1');
    assert.equal(clusters.dynamic_active_clusters.length, 5);
    assert.equal(routes.dynamic_route_configs[0].route_config.name, 'virtualOutbound');
    assert.equal(endpoints.dynamic_endpoint_configs.length, 2);
    const clustersText = (await request(proxy.adminPort, { path: '/clusters' })).body;
    assert.ok(clustersText.includes(`${V1}::127.0.0.1:${v1.port}::health_flags::healthy`), clustersText);
    assert.match(clustersText, new RegExp(`${V1.replace(/[|.]/g, '\\$&')}::127\\.0\\.0\\.1:${v1.port}::rq_total::\\d+`));
  });

  it('routes by host, path and header', async () => {
    const cases: { name: string; host: string; path: string; headers: Record<string, string>; cluster: string; upstream: string }[] = [
      { name: 'default route', host: 'reviews', path: '/x', headers: {}, cluster: V1, upstream: 'v1' },
      { name: 'host with port', host: 'reviews:9080', path: '/', headers: {}, cluster: V1, upstream: 'v1' },
      { name: 'FQDN host', host: 'reviews.default.svc.cluster.local:9080', path: '/', headers: {}, cluster: V1, upstream: 'v1' },
      { name: 'header match', host: 'reviews', path: '/x', headers: { 'end-user': 'jason' }, cluster: V2, upstream: 'v2' },
      { name: 'other service', host: 'ratings', path: '/r', headers: {}, cluster: RATINGS, upstream: 'ratings' },
      { name: 'prefix_rewrite', host: 'ratings', path: '/v1/stars', headers: {}, cluster: RATINGS, upstream: 'ratings' },
      { name: 'regex + regex_rewrite', host: 'reviews', path: '/api/v2/items?q=1', headers: {}, cluster: V2, upstream: 'v2' },
    ];
    for (const c of cases) {
      const r = await request(out, { host: c.host, path: c.path, headers: c.headers });
      assert.equal(r.status, 200, c.name);
      assert.equal(r.headers['x-weft-upstream-cluster'], c.cluster, c.name);
      assert.equal(JSON.parse(r.body).upstream, c.upstream, c.name);
      assert.match(String(r.headers['x-weft-upstream-host']), /^127\.0\.0\.1:\d+$/, c.name);
    }
    assert.equal(v2.seen.at(-1)!.url, '/rewritten/items?q=1');
    assert.ok(ratings.seen.some((s) => s.url === '/stars'), 'prefix_rewrite /v1/ → /');
    const h = v1.seen.at(-1)!.headers;
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.match(String(h['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(h['x-envoy-attempt-count'], '1');
  });

  it('answers direct responses, redirects and faults itself', async () => {
    const d = await request(out, { host: 'ratings', path: '/health' });
    assert.equal(d.status, 200);
    assert.equal(d.body, 'ok');
    const r = await request(out, { host: 'ratings:9080', path: '/old/x?y=1' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'http://ratings:9080/new?y=1');
    const f = await request(out, { host: 'ratings', path: '/teapot' });
    assert.equal(f.status, 418);
    assert.equal(f.body, 'fault filter abort');
  });

  it('splits weighted traffic about 80/20', async () => {
    const counts: Record<string, number> = {};
    const N = 1000;
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => request(out, { host: 'reviews', path: '/split' })));
      for (const b of batch) counts[String(b.headers['x-weft-upstream-cluster'])] = (counts[String(b.headers['x-weft-upstream-cluster'])] ?? 0) + 1;
    }
    const share = (counts[V1] ?? 0) / N;
    assert.ok(share > 0.75 && share < 0.85, `v1 share ${share} (counts ${JSON.stringify(counts)})`);
    assert.equal((counts[V1] ?? 0) + (counts[V2] ?? 0), N);
  });

  it('404s an unknown host and 503s a cluster without endpoints or unknown', async () => {
    const nf = await request(out, { host: 'nowhere.example' });
    assert.equal(nf.status, 404);
    assert.equal(nf.body, 'weft: no route for host "nowhere.example"');
    assert.equal(nf.headers['x-weft-reason'], 'NR no_route');
    const empty = await request(out, { host: 'empty' });
    assert.equal(empty.status, 503);
    assert.equal(empty.body, `weft: no healthy upstream for cluster "${EMPTY}"`);
    assert.equal(empty.headers['x-weft-reason'], 'UH no_healthy_upstream');
    const missing = await request(out, { host: 'missing' });
    assert.equal(missing.status, 503);
    assert.equal(missing.headers['x-weft-reason'], 'NC cluster_not_found');
  });

  it('forwards inbound traffic to the app keeping the Host header', async () => {
    const r = await request(inbound, { host: 'reviews.default.svc.cluster.local:9080', path: '/in' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-weft-upstream-cluster'], 'inbound|9080||');
    const echoed = JSON.parse(r.body);
    assert.equal(echoed.upstream, 'app');
    assert.equal(echoed.headers.host, 'reviews.default.svc.cluster.local:9080');
  });

  it('ACKs a good route update and routes by it', async () => {
    const routes = outboundRoutes([{ name: 'new', domains: ['newhost'], routes: [{ match: { prefix: '/' }, route: { cluster: V2 } }] }]);
    const ack = await ads.setAndWait('route', 'r2', [routes]);
    assert.equal(ack.version_info, 'r2');
    assert.ok(!ack.error_detail || !ack.error_detail.message, 'no error_detail on an ACK');
    const r = await request(out, { host: 'newhost' });
    assert.equal(r.headers['x-weft-upstream-cluster'], V2);
  });

  it('NACKs an invalid update with every error, keeps the old config', async () => {
    const bad = [edsCluster(V1), edsCluster(V2, { lb_policy: 'CLUSTER_PROVIDED' }), { ...(edsCluster(EMPTY) as object), type: 'ORIGINAL_DST' }];
    const nack = await ads.setAndWait('cluster', 'c-bad', bad);
    assert.equal(nack.version_info, 'c1', 'NACK carries the last ACKed version');
    assert.equal(nack.error_detail?.code, 3);
    assert.match(nack.error_detail!.message, new RegExp(`cluster ${V2.replace(/[|.]/g, '\\$&')}: lb_policy: CLUSTER_PROVIDED is only valid for an ORIGINAL_DST cluster`));
    assert.match(nack.error_detail!.message, /lb_policy: ROUND_ROBIN is not valid for an ORIGINAL_DST cluster/);
    // Old clusters still serve.
    const r = await request(out, { host: 'ratings' });
    assert.equal(r.status, 200);
    assert.equal((await request(out, { host: 'reviews', path: '/split' })).status, 200);
    const dump = JSON.parse((await request(proxy.adminPort, { path: '/config_dump' })).body);
    assert.equal(dump.configs[1].version_info, 'c1');
    assert.equal(dump.xds.last_nack.version, 'c-bad');
    assert.match(dump.xds.last_nack.message, /CLUSTER_PROVIDED/);
  });

  it('NACKs a listener with an unknown filter, naming the field path', async () => {
    const l = hcmListener('virtualOutbound', 0, {
      rds: { route_config_name: 'virtualOutbound', config_source: { ads: {} } },
      // A type this proxy has no proto for travels as a raw Any (type_url + bytes).
      http_filters: [{ name: 'envoy.filters.http.lua', typed_config: { type_url: 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua', value: Buffer.from([0x0a, 0x01, 0x78]) } }, routerFilter],
    });
    const nack = await ads.setAndWait('listener', 'l-bad', [l]);
    assert.equal(nack.version_info, 'l1');
    assert.match(nack.error_detail!.message, /listener virtualOutbound: filter_chains\[0\]\.filters\[0\]\.typed_config\.http_filters\[0\]\.typed_config: unsupported type type\.googleapis\.com\/envoy\.extensions\.filters\.http\.lua\.v3\.Lua for http filter "envoy\.filters\.http\.lua"/);
    assert.equal(proxy.listenerPort('virtualOutbound'), out, 'the listener was not touched');
    assert.equal((await request(out, { host: 'reviews' })).status, 200);
  });

  it('NACKs a listener that cannot bind and keeps serving', async () => {
    const blocker = http.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const nack = await ads.setAndWait('listener', 'l-bind', [rdsListener('virtualOutbound', 0), rdsListener('extra', taken)]);
      assert.equal(nack.version_info, 'l1');
      assert.match(nack.error_detail!.message, /listener extra: address: cannot bind 127\.0\.0\.1:\d+: EADDRINUSE/);
      assert.equal((await request(out, { host: 'reviews' })).status, 200);
      assert.equal(proxy.listenerPort('extra'), undefined);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
