// Access logs from a proxy driven over real xDS: OTLP log records over gRPC to a real gRPC receiver
// (LogsService/Export, decoded here with the OTLP message shapes), the body and attributes formatted
// per request; a file logger with a status_code_filter beside it; the file counters in /stats.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { toStruct } from '../../src/api/envoy.js';
import type { Proxy } from '../../src/proxy/proxy.js';
import { startOtlpLogsReceiver, type OtlpLogsReceiver, type ReceivedLog } from '../helpers/otlp-logs-receiver.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startSotwProxy } from './helpers/proxy-under-test.js';
import { eventually, hcmListener, request, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';

const ads = new TestAdsServer();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-otel-log-'));
const file = path.join(dir, 'errors.log');
let collector: OtlpLogsReceiver;
let received: ReceivedLog[] = [];
let proxy: Proxy;
let app: Upstream;

before(async () => {
  collector = await startOtlpLogsReceiver();
  received = collector.records;
  app = await startUpstream('app', (req, res) => {
    if (req.url !== '/missing') return false;
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return true;
  });
  await ads.start();
  ads.set('cluster', 'c1', [staticCluster('app', [app.port]), staticCluster('otel-collector', [collector.port])]);
  ads.set('listener', 'l1', [
    hcmListener('front', 0, {
      route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'all', match: { prefix: '/' }, route: { cluster: 'app' } }] }] },
      access_log: [
        {
          name: 'envoy.access_loggers.open_telemetry',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig',
            common_config: { log_name: 'weft-test', grpc_service: { envoy_grpc: { cluster_name: 'otel-collector' } }, transport_api_version: 'V3', buffer_flush_interval: { nanos: 100_000_000 } },
            body: { string_value: '%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%' },
            attributes: { values: [{ key: 'code', value: { string_value: '%RESPONSE_CODE%' } }, { key: 'route', value: { string_value: '%ROUTE_NAME%' } }] },
          },
        },
        {
          name: 'envoy.access_loggers.file',
          filter: { status_code_filter: { comparison: { op: 'GE', value: { default_value: 400, runtime_key: 'unused' } } } },
          typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: file, log_format: { json_format: toStruct({ code: '%RESPONSE_CODE%', path: '%REQ(:PATH)%' }) } },
        },
      ],
    }),
  ]);
  proxy = await startSotwProxy(ads);
});

after(async () => {
  proxy?.destroy();
  await ads.stop();
  await app?.close();
  collector?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('each request becomes one OTLP log record with its body and attributes; the filtered file logger writes only the 404', async () => {
  const port = proxy.listenerPort('front')!;
  const t0 = Date.now();
  for (const p of ['/a', '/b', '/missing']) await request(port, { path: p, host: 'app' });
  await eventually(() => received.length >= 3, 10_000, 'three OTLP log records');
  assert.deepEqual(received.map((r) => r.body).sort(), ['GET /a 200', 'GET /b 200', 'GET /missing 404']);
  for (const r of received) {
    assert.equal(r.attributes.route, 'all');
    assert.ok(r.timeMs >= t0 - 1000 && r.timeMs <= Date.now(), 'the record carries the request start time');
    assert.equal(r.resource.log_name, 'weft-test');
  }
  assert.deepEqual(received.map((r) => r.attributes.code).sort(), ['200', '200', '404']);
  await eventually(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8').length > 0, 5000, 'the error log');
  assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)), [{ code: 404, path: '/missing' }]);
  const stats = proxy.stats();
  assert.equal(stats['access_logs.otel.records'], 3);
  assert.equal(stats['access_logs.file.write_buffered'], 1);
  assert.equal(stats['access_logs.file.dropped_lines'], 0);
});
