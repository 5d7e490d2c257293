// One proxy's tracing against real peers, driven by a test ADS server (any xDS server may drive the
// proxy): OTLP/gRPC export over the collector's HTTP/2 cluster to a real grpc-js server,
// spawn_upstream_span (a SERVER span and its CLIENT child, whose id goes upstream), the route's
// decorator as span name and x-envoy-decorator-operation, an environment tag, error status on a 5xx,
// and an unsampled caller's context forwarded untouched with no span.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { OTEL_TRACER_CONFIG_TYPE_URL } from '../../src/api/envoy.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { OTLP_GRPC_EXPORT_PATH } from '../../src/proxy/telemetry/tracing/exporter.js';
import { TestAdsServer } from '../proxy/helpers/ads-server.js';
import { testWorkload } from '../proxy/helpers/proxy-under-test.js';
import { eventually, freePort, hcmListener, request, startUpstream, staticCluster, type Upstream } from '../proxy/helpers/resources.js';
import { decodeExport, type ReceivedSpan } from '../helpers/otlp-receiver.js';

const HTTP2 = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
};

const ads = new TestAdsServer();
let proxy: Proxy;
let app: Upstream;
let collector: grpc.Server;
let port = 0;
const received: ReceivedSpan[] = [];
let exportCalls = 0;

function startCollector(): Promise<number> {
  collector = new grpc.Server();
  const raw = (b: Buffer) => b;
  collector.addService(
    { Export: { path: OTLP_GRPC_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw, originalName: 'Export' } },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        exportCalls++;
        received.push(...decodeExport(call.request));
        cb(null, Buffer.alloc(0));
      },
    },
  );
  return new Promise((resolve, reject) => collector.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
}

before(async () => {
  process.env.WEFT_TRACING_TEST_ZONE_TAG = 'from-env';
  const collectorPort = await startCollector();
  app = await startUpstream('app', (req, res) => {
    if (req.url !== '/fail') return false;
    res.writeHead(503, { 'content-length': 0 }).end();
    return true;
  });
  await ads.start();
  const tracing = {
    random_sampling: { value: 100 },
    spawn_upstream_span: { value: true },
    custom_tags: [{ tag: 'env.tag', environment: { name: 'WEFT_TRACING_TEST_ZONE_TAG' } }],
    provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': OTEL_TRACER_CONFIG_TYPE_URL, service_name: 'gateway', grpc_service: { envoy_grpc: { cluster_name: 'otel' } } } },
  };
  const routes = {
    name: 'out',
    virtual_hosts: [
      {
        name: 'app',
        domains: ['*'],
        routes: [
          { match: { prefix: '/decorated' }, route: { cluster: 'app' }, decorator: { operation: 'getDecorated' } },
          { match: { prefix: '/' }, route: { cluster: 'app' } },
        ],
      },
    ],
  };
  // A second HCM whose collector is down (its cluster's port is closed): requests must not notice.
  const deadTracing = { provider: { name: 'envoy.tracers.opentelemetry', typed_config: { '@type': OTEL_TRACER_CONFIG_TYPE_URL, http_service: { http_uri: { uri: 'http://dead:1/v1/traces', cluster: 'dead', timeout: { seconds: 1 } } } } } };
  ads.set('cluster', 'c1', [staticCluster('app', [app.port]), staticCluster('otel', [collectorPort], { typed_extension_protocol_options: HTTP2 }), staticCluster('dead', [await freePort()])]);
  ads.set('listener', 'l1', [
    { ...hcmListener('out', 0, { route_config: routes, tracing }), traffic_direction: 'OUTBOUND' },
    { ...hcmListener('dead', 0, { route_config: routes, tracing: deadTracing }), traffic_direction: 'INBOUND' },
  ]);
  proxy = new Proxy({ xdsAddress: ads.address, xdsProtocol: 'sotw', workload: testWorkload, adminPort: 0, xdsBackoff: { initialMs: 20, maxMs: 100 } });
  await proxy.start();
  await proxy.whenReady(5000);
  port = proxy.listenerPort('out')!;
});

after(async () => {
  proxy?.destroy();
  await ads.stop();
  await app?.close();
  collector?.forceShutdown();
  delete process.env.WEFT_TRACING_TEST_ZONE_TAG;
});

async function spansOf(traceId: string, n: number): Promise<ReceivedSpan[]> {
  await proxy.traceProviders.flush();
  await eventually(() => received.filter((s) => s.traceId === traceId).length >= n, 5000, `${n} spans of ${traceId}`);
  return received.filter((s) => s.traceId === traceId);
}

describe('tracing in one proxy', () => {
  it('spawn_upstream_span: a SERVER span and a CLIENT child, the child is the parent upstream; exported over OTLP/gRPC', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const r = await request(port, { host: 'app.local', path: '/decorated', headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } });
    assert.equal(r.status, 200);
    const spans = await spansOf(traceId, 2);
    const server = spans.find((s) => s.kind === 2)!;
    const client = spans.find((s) => s.kind === 3)!;
    assert.equal(server.parentSpanId, 'b7ad6b7169203331');
    assert.equal(client.parentSpanId, server.spanId);
    assert.equal(server.name, 'getDecorated', 'the route decorator names the span');
    assert.equal(server.serviceName, 'gateway');
    assert.equal(server.attributes['env.tag'], 'from-env');
    assert.equal(client.attributes.upstream_cluster, 'app');
    const seen = app.seen[app.seen.length - 1].headers;
    assert.equal(seen.traceparent, `00-${traceId}-${client.spanId}-01`, 'upstream continues from the CLIENT span');
    assert.equal(seen['x-envoy-decorator-operation'], 'getDecorated');
    assert.ok(exportCalls > 0);
    assert.ok(proxy.stats()['tracing.opentelemetry.spans_sent'] >= 2);
  });

  it('a 5xx is an error span, its attributes say so', async () => {
    const traceId = '1af7651916cd43dd8448eb211c80319c';
    const r = await request(port, { host: 'app.local', path: '/fail', headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } });
    assert.equal(r.status, 503);
    const [server] = (await spansOf(traceId, 2)).filter((s) => s.kind === 2);
    assert.equal(server.statusCode, 2, 'STATUS_CODE_ERROR');
    assert.equal(server.attributes.error, true);
    assert.equal(server.attributes['http.status_code'], '503');
    assert.equal(server.name, 'app.local/*', 'no decorator: <authority>/*');
  });

  it('an unsampled caller: its context goes upstream untouched and no span is made', async () => {
    const before = received.length;
    const tp = '00-2af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    assert.equal((await request(port, { host: 'app.local', path: '/quiet', headers: { traceparent: tp } })).status, 200);
    assert.equal(app.seen[app.seen.length - 1].headers.traceparent, tp);
    // A sampled marker after it: once its spans are exported, the quiet one would have been too.
    const marker = '3af7651916cd43dd8448eb211c80319c';
    await request(port, { host: 'app.local', path: '/marker', headers: { traceparent: `00-${marker}-b7ad6b7169203331-01` } });
    await spansOf(marker, 2);
    assert.deepEqual(received.slice(before).filter((s) => s.traceId !== marker), []);
  });

  it('a collector that is down: requests are answered as before, the failed exports are counted', async () => {
    const deadPort = proxy.listenerPort('dead')!;
    for (let i = 0; i < 5; i++) assert.equal((await request(deadPort, { host: 'app.local', path: '/x' })).status, 200);
    await proxy.traceProviders.flush();
    await eventually(() => proxy.stats()['tracing.opentelemetry.export_failed'] >= 1, 5000, 'a failed export');
    assert.ok(proxy.stats()['tracing.opentelemetry.spans_failed'] >= 5);
  });
});
