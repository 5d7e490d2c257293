// Access logs from a proxy driven over real xDS: OTLP log records over gRPC to a real gRPC receiver
// (LogsService/Export, decoded here with the OTLP message shapes), the body and attributes formatted
// per request; a file logger with a status_code_filter beside it; the file counters in /stats.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { toStruct } from '../../src/api/envoy.js';
import type { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startSotwProxy } from './helpers/proxy-under-test.js';
import { eventually, hcmListener, request, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';

// The OTLP logs request, as opentelemetry-proto defines it (the fields this test reads).
const OTLP = protobuf.parse(`syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message LogRecord { fixed64 time_unix_nano = 1; AnyValue body = 5; repeated KeyValue attributes = 6; }
message ScopeLogs { repeated LogRecord log_records = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
`, { keepCase: true }).root.lookupType('otlp.ExportLogsServiceRequest');

interface Received {
  resource: Record<string, string>;
  body: string;
  attributes: Record<string, string>;
  timeMs: number;
}

const kv = (list: Array<{ key: string; value?: { string_value?: string } }> = []) => Object.fromEntries(list.map((a) => [a.key, a.value?.string_value ?? '']));

const received: Received[] = [];
const ads = new TestAdsServer();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-otel-log-'));
const file = path.join(dir, 'errors.log');
let collector: grpc.Server;
let collectorPort = 0;
let proxy: Proxy;
let app: Upstream;

before(async () => {
  collector = new grpc.Server();
  collector.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: (v: Buffer) => v,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (v: Buffer) => v,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const req = OTLP.toObject(OTLP.decode(call.request), { longs: Number }) as { resource_logs?: Array<{ resource?: { attributes?: [] }; scope_logs?: Array<{ log_records?: Array<{ time_unix_nano: number; body?: { string_value?: string }; attributes?: [] }> }> }> };
        for (const rl of req.resource_logs ?? []) {
          for (const sl of rl.scope_logs ?? []) {
            for (const r of sl.log_records ?? []) received.push({ resource: kv(rl.resource?.attributes), body: r.body?.string_value ?? '', attributes: kv(r.attributes), timeMs: r.time_unix_nano / 1e6 });
          }
        }
        cb(null, Buffer.alloc(0));
      },
    },
  );
  collectorPort = await new Promise<number>((resolve, reject) => collector.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  app = await startUpstream('app', (req, res) => {
    if (req.url !== '/missing') return false;
    res.writeHead(404, { 'content-length': 0 });
    res.end();
    return true;
  });
  await ads.start();
  ads.set('cluster', 'c1', [staticCluster('app', [app.port]), staticCluster('otel-collector', [collectorPort])]);
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
  collector?.forceShutdown();
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
