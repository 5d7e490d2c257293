// The Telemetry resource (telemetry.istio.io) and the mesh config's telemetry fields (extension
// providers, default providers, accessLog*, defaultConfig.tracing.sampling): valid forms typed,
// invalid ones an error with code, field path and message; what Weft does not implement is an
// error, not a silent skip.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { parseMeshConfig } from '../../src/config/mesh-config.js';
import { parseConfigText } from '../../src/config/parse.js';
import type { ParseResult } from '../../src/config/types.js';
import { assertHasError, onlyResource, type WantError } from './helpers.js';

const parse = (spec: unknown, apiVersion = 'telemetry.istio.io/v1'): ParseResult =>
  parseConfigText(stringify({ apiVersion, kind: 'Telemetry', metadata: { name: 't', namespace: 'foo' }, spec }), 'telemetry.yaml');

describe('Telemetry resource', () => {
  it('types every section (v1 and v1alpha1)', () => {
    for (const v of ['telemetry.istio.io/v1', 'telemetry.istio.io/v1alpha1']) {
      const r = onlyResource(
        parse(
          {
            selector: { matchLabels: { app: 'reviews' } },
            tracing: [{ match: { mode: 'SERVER' }, providers: [{ name: 'otel' }], randomSamplingPercentage: 12.5, customTags: { team: { literal: { value: 'a' } }, user: { header: { name: 'X-User', defaultValue: '-' } }, pod: { environment: { name: 'POD' } } } }],
            metrics: [{ providers: [{ name: 'prometheus' }], overrides: [{ match: { metric: 'REQUEST_COUNT', mode: 'CLIENT' }, tagOverrides: { request_protocol: { operation: 'REMOVE' }, destination_app: { value: "'x'" } } }, { disabled: true }] }],
            accessLogging: [{ providers: [{ name: 'envoy' }], filter: { expression: 'response.code >= 400' } }, { match: { mode: 'CLIENT' }, disabled: true }],
          },
          v,
        ),
      );
      assert.equal(r.kind, 'Telemetry');
      assert.deepEqual(r.spec, {
        selector: { matchLabels: { app: 'reviews' } },
        tracing: [
          {
            mode: 'SERVER',
            providers: ['otel'],
            randomSamplingPercentage: 12.5,
            customTags: [{ tag: 'team', literal: 'a' }, { tag: 'user', header: 'x-user', defaultValue: '-' }, { tag: 'pod', environment: 'POD' }],
          },
        ],
        metrics: [
          {
            providers: ['prometheus'],
            overrides: [
              { mode: 'CLIENT', metric: 'REQUEST_COUNT', tagOverrides: { request_protocol: { operation: 'REMOVE' }, destination_app: { operation: 'UPSERT', value: "'x'" } } },
              { mode: 'CLIENT_AND_SERVER', metric: 'ALL_METRICS', disabled: true, tagOverrides: {} },
            ],
          },
        ],
        accessLogging: [
          { mode: 'CLIENT_AND_SERVER', providers: ['envoy'], filterExpression: 'response.code >= 400' },
          { mode: 'CLIENT', disabled: true },
        ],
      });
    }
  });

  const invalid: Array<{ name: string; spec: unknown; error: WantError }> = [
    { name: 'sampling above 100', spec: { tracing: [{ randomSamplingPercentage: 101 }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.tracing[0].randomSamplingPercentage', message: /0\.\.100, got 101/ } },
    { name: 'unknown mode', spec: { accessLogging: [{ match: { mode: 'BOTH' } }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.accessLogging[0].match.mode', message: /CLIENT_AND_SERVER, CLIENT, SERVER/ } },
    { name: 'provider without a name', spec: { tracing: [{ providers: [{}] }] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.tracing[0].providers[0].name', message: /required/ } },
    { name: 'custom tag of two kinds', spec: { tracing: [{ customTags: { a: { literal: { value: 'x' }, header: { name: 'h' } } } }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.tracing[0].customTags.a', message: /exactly one of literal, environment, header/ } },
    { name: 'unknown metric', spec: { metrics: [{ overrides: [{ match: { metric: 'REQUESTS' } }] }] }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.metrics[0].overrides[0].match.metric', message: /REQUEST_COUNT/ } },
    { name: 'custom metric', spec: { metrics: [{ overrides: [{ match: { customMetric: 'my_metric' } }] }] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.metrics[0].overrides[0].match.customMetric', message: /custom metrics are not implemented/ } },
    { name: 'a CEL tag value beyond literals and headers', spec: { metrics: [{ overrides: [{ tagOverrides: { source_app: { value: 'request.host' } } }] }] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.metrics[0].overrides[0].tagOverrides.source_app.value', message: /quoted literal/ } },
    { name: 'a new dimension', spec: { metrics: [{ overrides: [{ tagOverrides: { request_host: { value: "'h'" } } }] }] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.metrics[0].overrides[0].tagOverrides.request_host', message: /new dimensions are not implemented/ } },
    { name: 'reportingInterval', spec: { metrics: [{ reportingInterval: '5s' }] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.metrics[0].reportingInterval', message: /not implemented/ } },
    { name: 'targetRefs', spec: { targetRefs: [{ kind: 'Gateway', name: 'g' }] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.targetRefs', message: /by namespace and selector only/ } },
    { name: 'filter without an expression', spec: { accessLogging: [{ filter: {} }] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.accessLogging[0].filter.expression', message: /required/ } },
    { name: 'a filter outside the CEL the sidecars run', spec: { accessLogging: [{ filter: { expression: 'xds.node.id == "a"' } }] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.accessLogging[0].filter.expression', message: /xds\.node is not supported/ } },
    { name: 'a filter with a syntax error', spec: { accessLogging: [{ filter: { expression: 'response.code >=' } }] }, error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.accessLogging[0].filter.expression', message: /syntax error/ } },
    { name: 'a typo', spec: { tracings: [] }, error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.tracings', message: /did you mean "tracing"/ } },
  ];
  for (const c of invalid) it(`rejects: ${c.name}`, () => void assertHasError(parse(c.spec), c.error));
});

describe('mesh config telemetry', () => {
  const ok = (yaml: string) => {
    const r = parseMeshConfig(yaml, 'mesh.yaml');
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    return r.mesh;
  };

  it('reads providers, defaults, access-log settings and sampling', () => {
    const mesh = ok(
      [
        'enableTracing: true',
        'accessLogFile: /dev/stdout',
        'accessLogEncoding: JSON',
        'defaultConfig: { tracing: { sampling: 10 } }',
        'extensionProviders:',
        '- name: otel',
        '  opentelemetry: { service: otel-collector.observability.svc.cluster.local, port: 4318, http: { path: /v1/traces, timeout: 5s, headers: [{ name: X-Token, value: t }] } }',
        '- name: file',
        '  envoyFileAccessLog: { path: /tmp/a.log, logFormat: { labels: { code: "%RESPONSE_CODE%" } } }',
        '- name: als',
        '  envoyOtelAls: { service: 127.0.0.1, port: 4317 }',
        'defaultProviders: { tracing: [otel], accessLogging: [file] }',
      ].join('\n'),
    );
    assert.deepEqual(mesh.telemetry, {
      extensionProviders: [
        { name: 'otel', kind: 'opentelemetry', service: 'otel-collector.observability.svc.cluster.local', port: 4318, http: { path: '/v1/traces', timeoutMs: 5000, headers: { 'x-token': 't' } } },
        { name: 'file', kind: 'envoyFileAccessLog', path: '/tmp/a.log', format: { type: 'json', labels: { code: '%RESPONSE_CODE%' } } },
        { name: 'als', kind: 'envoyOtelAls', service: '127.0.0.1', port: 4317, logName: 'otel_envoy_accesslog', format: { type: 'text' } },
      ],
      // An omitted list keeps its default (metrics: prometheus).
      defaultProviders: { tracing: ['otel'], metrics: ['prometheus'], accessLogging: ['file'] },
      accessLogFile: '/dev/stdout',
      accessLogEncoding: 'JSON',
      accessLogFormat: '',
      enableTracing: true,
      tracingSampling: 10,
    });
    assert.notEqual(mesh.version, 'default', 'telemetry settings are part of the mesh version (listeners key on it)');
    assert.notEqual(ok('accessLogFile: /dev/stdout').version, ok('accessLogFile: /tmp/x').version);
  });

  const cases: Array<{ name: string; yaml: string; error: RegExp }> = [
    { name: 'provider of an unimplemented kind', yaml: 'extensionProviders: [{ name: z, zipkin: { service: z, port: 9411 } }]', error: /extensionProviders\[0\]\.zipkin: is a provider Weft does not implement .* \[WEFT_E_UNSUPPORTED\]/ },
    { name: 'two kinds in one provider', yaml: 'extensionProviders: [{ name: z, prometheus: {}, opentelemetry: { service: a, port: 1 } }]', error: /extensionProviders\[0\]: must set exactly one of/ },
    { name: 'collector port out of range', yaml: 'extensionProviders: [{ name: o, opentelemetry: { service: a, port: 70000 } }]', error: /extensionProviders\[0\]\.opentelemetry\.port: must be a port number 1\.\.65535, got 70000 \[WEFT_E_INVALID_VALUE\]/ },
    { name: 'collector without a service', yaml: 'extensionProviders: [{ name: o, opentelemetry: { port: 4317 } }]', error: /extensionProviders\[0\]\.opentelemetry\.service: must name the collector/ },
    { name: 'duplicate provider names', yaml: 'extensionProviders: [{ name: o, prometheus: {} }, { name: o, prometheus: {} }]', error: /extensionProviders\[1\]\.name: provider "o" is defined twice \[WEFT_E_DUPLICATE_VALUE\]/ },
    { name: 'a built-in name', yaml: 'extensionProviders: [{ name: envoy, envoyFileAccessLog: {} }]', error: /extensionProviders\[0\]\.name: "envoy" is a built-in provider's name \[WEFT_E_CONFLICT\]/ },
    { name: 'a default provider that is not defined', yaml: 'defaultProviders: { tracing: [nope] }', error: /defaultProviders\.tracing\[0\]: names provider "nope", which extensionProviders does not define/ },
    { name: 'sampling out of range', yaml: 'defaultConfig: { tracing: { sampling: 150 } }', error: /defaultConfig\.tracing\.sampling: must be a percentage 0\.\.100, got 150/ },
    { name: 'an unimplemented ProxyConfig field', yaml: 'defaultConfig: { holdApplicationUntilProxyStarts: true }', error: /defaultConfig\.holdApplicationUntilProxyStarts: is a ProxyConfig field Weft does not implement/ },
    { name: 'a zipkin tracer in defaultConfig', yaml: 'defaultConfig: { tracing: { zipkin: { address: z:9411 } } }', error: /defaultConfig\.tracing\.zipkin: is not implemented: tracers are extensionProviders/ },
    { name: 'unknown encoding', yaml: 'accessLogEncoding: XML', error: /accessLogEncoding: must be TEXT or JSON, got "XML"/ },
    { name: 'log format of two kinds', yaml: 'extensionProviders: [{ name: f, envoyFileAccessLog: { logFormat: { text: a, labels: {} } } }]', error: /envoyFileAccessLog\.logFormat: must set exactly one of text, labels/ },
    { name: 'otel http path without a slash', yaml: 'extensionProviders: [{ name: o, opentelemetry: { service: a, port: 1, http: { path: v1 } } }]', error: /opentelemetry\.http\.path: must be a path starting with "\/"/ },
  ];
  for (const c of cases) {
    it(`rejects: ${c.name}`, () => {
      const r = parseMeshConfig(c.yaml, 'mesh.yaml');
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.errors.some((e) => c.error.test(e)), `no error matching ${c.error}; got:\n${r.ok ? '' : r.errors.join('\n')}`);
    });
  }
});
