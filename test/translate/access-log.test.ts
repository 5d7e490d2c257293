// Access-log policies → Envoy access_log entries as Istio writes them, accepted by the proxy's own
// validator (compiled formats and filters), and wired into every sidecar HCM and tcp_proxy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HCM_TYPE_URL, packAny, TCP_PROXY_TYPE_URL, unpackAny } from '../../src/api/envoy.js';
import { parseMeshConfig, type MeshConfig } from '../../src/config/mesh-config.js';
import { findProvider } from '../../src/config/mesh-telemetry.js';
import type { AccessLogPolicy, ProxyTelemetryPolicy } from '../../src/config/telemetry-types.js';
import { accessLogs, ISTIO_JSON_FORMAT, ISTIO_TEXT_FORMAT } from '../../src/controlplane/translate/access-log.js';
import { translate } from '../../src/controlplane/translate/index.js';
import { listeners } from '../../src/controlplane/translate/listeners.js';
import { StreamInfo } from '../../src/proxy/http/stream-info.js';
import { accessLogs as proxyAccessLogs, type AccessLogConfig } from '../../src/proxy/telemetry/access-log/config.js';
import { TcpLogInput } from '../../src/proxy/telemetry/access-log/log-input.js';
import { Problems } from '../../src/proxy/xds/validate-common.js';
import { capturedProxy, configFrom, mysqldb, proxy, snapshot, yaml } from './fixtures.js';
import { decodeSet } from './simulate.js';

const endpoint = { cluster: 'outbound|4317||otel-collector.observability.svc.cluster.local', host: 'otel-collector.observability.svc.cluster.local', port: 4317 };

/** Through the wire and the proxy's validator, as a proxy receives it. */
function onProxy(entries: unknown[]): AccessLogConfig[] {
  const tcp = unpackAny(packAny(TCP_PROXY_TYPE_URL, { stat_prefix: 's', cluster: 'c', access_log: entries }));
  const p = new Problems();
  const out = proxyAccessLogs(tcp.access_log, 'access_log', p);
  assert.deepEqual(p.list, []);
  return out;
}

const cases: Array<{ name: string; policy: AccessLogPolicy; check: (entry: Record<string, unknown>, proxy: AccessLogConfig) => void }> = [
  {
    name: 'the default text format is Istio\'s',
    policy: { provider: { kind: 'file', name: 'envoy', path: '/dev/stdout', format: { type: 'text' } } },
    check: (e, p) => {
      assert.equal(e.name, 'envoy.access_loggers.file');
      assert.deepEqual((e.typed_config as { log_format: unknown }).log_format, { text_format_source: { inline_string: ISTIO_TEXT_FORMAT } });
      assert.ok(p.sink.kind === 'file' && p.sink.path === '/dev/stdout' && p.sink.format.kind === 'text');
    },
  },
  {
    name: 'a custom text format gets the newline Istio adds',
    policy: { provider: { kind: 'file', name: 'f', path: '/tmp/a.log', format: { type: 'text', text: '%RESPONSE_CODE% %REQ_WITHOUT_QUERY(:PATH)%' } } },
    check: (e, p) => {
      const lf = (e.typed_config as { log_format: { text_format_source: { inline_string: string }; formatters?: unknown[] } }).log_format;
      assert.equal(lf.text_format_source.inline_string, '%RESPONSE_CODE% %REQ_WITHOUT_QUERY(:PATH)%\n');
      assert.equal(lf.formatters?.length, 1, 'REQ_WITHOUT_QUERY brings its formatter, as Istio adds it');
      const info = new StreamInfo(undefined);
      assert.ok(p.sink.kind === 'file');
      assert.equal(p.sink.format.format(new TcpLogInput(info, {})), '0 -\n');
    },
  },
  {
    name: 'JSON without labels: Istio\'s default fields',
    policy: { provider: { kind: 'file', name: 'j', path: '/tmp/j.log', format: { type: 'json' } } },
    check: (_e, p) => {
      assert.ok(p.sink.kind === 'file' && p.sink.format.kind === 'json');
      const info = new StreamInfo(undefined);
      info.bytesSent = 4;
      const line = JSON.parse(p.sink.format.format(new TcpLogInput(info, {}))) as Record<string, unknown>;
      assert.deepEqual(Object.keys(line).sort(), Object.keys(ISTIO_JSON_FORMAT).sort());
      assert.equal(line.bytes_sent, 4);
      assert.equal(line.response_code, 0);
      assert.equal(line.upstream_transport_failure_reason, null);
    },
  },
  {
    name: 'JSON labels and a filter expression',
    policy: { provider: { kind: 'file', name: 'j', path: '/tmp/j.log', format: { type: 'json', labels: { code: '%RESPONSE_CODE%', flags: '%RESPONSE_FLAGS%' } } }, filterExpression: 'response.code >= 400' },
    check: (e, p) => {
      assert.deepEqual(e.filter, { extension_filter: { name: 'envoy.access_loggers.extension_filters.cel', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter', expression: 'response.code >= 400' } } });
      const info = new StreamInfo('HTTP/1.1');
      info.responseCode = 503;
      assert.equal(p.filter?.(new TcpLogInput(info, {})), true);
      info.responseCode = 200;
      assert.equal(p.filter?.(new TcpLogInput(info, {})), false);
    },
  },
  {
    name: 'OpenTelemetry: gRPC to the collector cluster, the text as body, labels as attributes',
    policy: { provider: { kind: 'otel', name: 'otel-logs', endpoint, logName: 'weft-logs', format: { type: 'json', labels: { code: '%RESPONSE_CODE%' } } } },
    check: (e, p) => {
      assert.equal(e.name, 'envoy.access_loggers.open_telemetry');
      assert.ok(p.sink.kind === 'otel');
      assert.equal(p.sink.cluster, endpoint.cluster);
      assert.equal(p.sink.authority, endpoint.host);
      assert.equal(p.sink.logName, 'weft-logs');
      assert.deepEqual(p.sink.attributes.map(([k]) => k), ['code']);
      assert.ok(p.sink.body && p.sink.body.length > 10);
    },
  },
];

describe('accessLogs (policies → Envoy access_log)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const entries = accessLogs([c.policy]);
      assert.equal(entries.length, 1);
      c.check(entries[0], onProxy(entries)[0]);
    });
  }
});

const withLogs = (expression?: string): ProxyTelemetryPolicy => {
  const logs: AccessLogPolicy[] = [{ provider: { kind: 'file', name: 'envoy', path: '/dev/stdout', format: { type: 'json' } }, ...(expression ? { filterExpression: expression } : {}) }];
  return { client: { accessLogs: logs, metricOverrides: [], metricsDisabled: false }, server: { accessLogs: [], metricOverrides: [], metricsDisabled: false } };
};

/** Every terminal network filter of a listener set: [kind, has access_log]. */
function terminals(bodies: Array<Record<string, unknown>>): Array<[string, string, boolean]> {
  const out: Array<[string, string, boolean]> = [];
  for (const l of bodies) {
    for (const chain of (l.filter_chains as Array<{ name?: string; filters: Array<{ typed_config: Record<string, unknown> }> }>) ?? []) {
      const t = chain.filters[chain.filters.length - 1].typed_config;
      const kind = t['@type'] === HCM_TYPE_URL ? 'hcm' : t['@type'] === TCP_PROXY_TYPE_URL ? 'tcp' : String(t['@type']);
      out.push([`${String(l.name)}/${chain.name ?? ''}`, kind, Array.isArray(t.access_log) && t.access_log.length > 0]);
    }
  }
  return out;
}

describe('wiring into the sidecar listeners', () => {
  it('explicit mode: the outbound HCM logs by the client policy, the inbound by the server policy', () => {
    const out = listeners(proxy('reviews', 'v1', 4), { onDemandVhds: false, telemetry: withLogs() });
    assert.deepEqual(terminals(out.map((r) => r.body)).map(([, kind, has]) => [kind, has]), [
      ['hcm', true],
      ['hcm', false],
    ]);
    // A TCP workload's inbound tcp_proxy (both PERMISSIVE chains: mTLS and plaintext) logs by the server policy.
    const swapped = { client: withLogs().server, server: withLogs().client };
    assert.deepEqual(terminals(listeners(mysqldb(), { onDemandVhds: false, telemetry: swapped }).map((r) => r.body)).map(([, kind, has]) => [kind, has]), [
      ['hcm', false],
      ['tcp', true],
      ['tcp', true],
    ]);
  });

  it('mesh accessLogFile + a Telemetry filter reach every HCM and tcp_proxy a captured sidecar runs (loop guards excepted), and the proxy accepts them', () => {
    const r = parseMeshConfig('accessLogFile: /dev/stdout\naccessLogEncoding: JSON\n', 'mesh.yaml');
    assert.ok(r.ok);
    const mesh: MeshConfig = r.mesh;
    const telemetry = yaml('telemetry.yaml', 'apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: { name: mesh-default, namespace: istio-system }\nspec:\n  accessLogging:\n  - providers: [{ name: envoy }]\n    filter: { expression: "response.code >= 400" }\n');
    const tcpService = yaml('mysql.yaml', 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: db }\nspec:\n  hosts: [db.example.com]\n  addresses: [198.19.9.9]\n  ports: [{ number: 3306, name: tcp, protocol: TCP }]\n  resolution: STATIC\n  endpoints: [{ address: 127.0.0.9 }]\n');
    const client = capturedProxy('productpage', 'v1', 2);
    const snap = snapshot(configFrom(telemetry, tcpService), [client, capturedProxy('reviews', 'v1', 4)], mesh);
    const set = translate(snap, client);
    const decoded = decodeSet(set);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.errors.join('\n'));
    const found = terminals(set.listener.map((l) => l.body));
    const missing = found.filter(([name, , has]) => !has && !name.includes('blackhole'));
    assert.deepEqual(missing, []);
    assert.ok(found.some(([, k]) => k === 'hcm') && found.some(([, k]) => k === 'tcp'));
    const hcm = set.listener.flatMap((l) => (l.body.filter_chains as Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }>).map((c) => c.filters[c.filters.length - 1].typed_config)).find((t) => t['@type'] === HCM_TYPE_URL)!;
    const entry = (hcm.access_log as Array<Record<string, unknown>>)[0];
    assert.equal((entry.filter as { extension_filter: { typed_config: { expression: string } } }).extension_filter.typed_config.expression, 'response.code >= 400');
  });
});

describe("the mesh's classic access-log settings", () => {
  const envoyFormat = (text: string) => {
    const r = parseMeshConfig(text, 'mesh.yaml');
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    const p = findProvider(r.mesh.telemetry, 'envoy');
    assert.ok(p?.kind === 'envoyFileAccessLog');
    return { path: p.path, format: p.format };
  };
  it('JSON with accessLogFormat: its object is the labels (Istio parses it as a Struct)', () => {
    assert.deepEqual(envoyFormat('accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: \'{"code":"%RESPONSE_CODE%","who":"%DOWNSTREAM_PEER_URI_SAN%"}\'\n'), {
      path: '/dev/stdout',
      format: { type: 'json', labels: { code: '%RESPONSE_CODE%', who: '%DOWNSTREAM_PEER_URI_SAN%' } },
    });
  });
  it('JSON without a usable accessLogFormat: the default fields, as istiod falls back', () => {
    assert.deepEqual(envoyFormat('accessLogFile: /tmp/a.log\naccessLogEncoding: JSON\naccessLogFormat: "not json"\n').format, { type: 'json' });
  });
  it('TEXT keeps the format as text', () => {
    assert.deepEqual(envoyFormat('accessLogFile: /tmp/a.log\naccessLogFormat: "%RESPONSE_CODE%"\n').format, { type: 'text', text: '%RESPONSE_CODE%' });
  });
});
