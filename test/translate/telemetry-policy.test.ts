// Resolving one proxy's telemetry as Istio does: mesh defaults, then the root namespace's
// Telemetry, the namespace's, the workload's (selector); per direction; providers from the mesh
// config; collector clusters for collectors the registry does not hold, which the proxy accepts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatConfigError } from '../../src/config/errors.js';
import { parseMeshConfig, type MeshConfig } from '../../src/config/mesh-config.js';
import type { TelemetrySpec } from '../../src/config/telemetry-types.js';
import { collectorClusters, telemetryFor, telemetryWarnings, type TelemetryLike } from '../../src/controlplane/translate/telemetry-policy.js';
import { translate } from '../../src/controlplane/translate/index.js';
import { configFrom, proxy, snapshot, yaml } from './fixtures.js';
import { decodeSet } from './simulate.js';

const MESH = [
  'extensionProviders:',
  '- name: otel',
  '  opentelemetry: { service: 127.0.0.1, port: 4318, http: { path: /v1/traces } }',
  '- name: otel-grpc',
  '  opentelemetry: { service: otel-collector.observability.svc.cluster.local, port: 4317 }',
  '- name: json-file',
  '  envoyFileAccessLog: { path: /tmp/access.json, logFormat: { labels: { code: "%RESPONSE_CODE%" } } }',
  'defaultProviders: { tracing: [otel] }',
  'defaultConfig: { tracing: { sampling: 5 } }',
].join('\n');

function mesh(text = MESH): MeshConfig {
  const r = parseMeshConfig(text, 'mesh.yaml');
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.mesh;
}

const tel = (namespace: string, name: string, spec: Partial<TelemetrySpec>): TelemetryLike => ({
  metadata: { name, namespace, labels: {}, annotations: {} },
  spec: { tracing: [], metrics: [], accessLogging: [], ...spec },
});

const reviews = { namespace: 'default', labels: { app: 'reviews', version: 'v1' } };
const input = (telemetries: TelemetryLike[], m = mesh()) => ({ mesh: m, telemetries, domain: 'cluster.local' });

describe('telemetryFor', () => {
  it('mesh defaults: the default tracing provider at the default sampling, both directions; no access log; prometheus metrics', () => {
    const t = telemetryFor(input([]), reviews);
    for (const d of [t.client, t.server]) {
      assert.deepEqual(d.tracing, {
        provider: { kind: 'opentelemetry', name: 'otel', endpoint: { cluster: 'outbound|4318||127.0.0.1', host: '127.0.0.1', port: 4318 }, http: { path: '/v1/traces', timeoutMs: 10_000, headers: {} } },
        randomSamplingPercentage: 5,
        customTags: [],
        disableSpanReporting: false,
      });
      assert.deepEqual(d.accessLogs, []);
      assert.equal(d.metricsDisabled, false);
    }
  });

  it('root, namespace and workload levels override in turn, per direction', () => {
    const telemetries = [
      tel('istio-system', 'mesh-default', { tracing: [{ mode: 'CLIENT_AND_SERVER', randomSamplingPercentage: 50, customTags: [{ tag: 'env', literal: 'prod' }] }] }),
      tel('default', 'ns', { tracing: [{ mode: 'SERVER', providers: ['otel-grpc'] }], accessLogging: [{ mode: 'CLIENT_AND_SERVER', providers: ['json-file'] }] }),
      tel('default', 'reviews', {
        selector: { matchLabels: { app: 'reviews' } },
        tracing: [{ mode: 'CLIENT', randomSamplingPercentage: 100, customTags: [{ tag: 'env', literal: 'staging' }] }],
        accessLogging: [{ mode: 'SERVER', providers: ['envoy'], filterExpression: 'response.code >= 400' }],
      }),
      tel('default', 'ratings-only', { selector: { matchLabels: { app: 'ratings' } }, tracing: [{ mode: 'CLIENT_AND_SERVER', randomSamplingPercentage: 0 }] }),
    ];
    const t = telemetryFor(input(telemetries), reviews);
    assert.equal(t.client.tracing?.provider.name, 'otel');
    assert.equal(t.client.tracing?.randomSamplingPercentage, 100, 'the workload level wins for CLIENT');
    assert.deepEqual(t.client.tracing?.customTags, [{ tag: 'env', literal: 'staging' }]);
    assert.equal(t.server.tracing?.provider.name, 'otel-grpc', 'the namespace level changed the SERVER provider');
    assert.equal(t.server.tracing?.provider.endpoint.cluster, 'outbound|4317||otel-collector.observability.svc.cluster.local');
    assert.equal(t.server.tracing?.provider.http, undefined, 'OTLP/gRPC');
    assert.equal(t.server.tracing?.randomSamplingPercentage, 50, 'inherited from the root level');
    // CLIENT logging comes from the namespace; SERVER is replaced by the workload's filtered `envoy` log.
    assert.deepEqual(t.client.accessLogs.map((a) => [a.provider.name, a.filterExpression]), [['json-file', undefined]]);
    assert.deepEqual(t.server.accessLogs, [{ provider: { kind: 'file', name: 'envoy', path: '/dev/stdout', format: { type: 'text' } }, filterExpression: 'response.code >= 400' }]);
    // A selector that does not match changes nothing; another namespace sees only the root level.
    const other = telemetryFor(input(telemetries), { namespace: 'shop', labels: { app: 'reviews' } });
    assert.equal(other.client.tracing?.randomSamplingPercentage, 50);
    assert.deepEqual(other.client.accessLogs, []);
  });

  it('the oldest of two Telemetries on one level decides', () => {
    const a = tel('default', 'b-newer', { tracing: [{ mode: 'CLIENT_AND_SERVER', randomSamplingPercentage: 90 }] });
    a.metadata.annotations['weft.dev/creation-timestamp'] = '2026-02-01T00:00:00Z';
    const b = tel('default', 'a-older', { tracing: [{ mode: 'CLIENT_AND_SERVER', randomSamplingPercentage: 10 }] });
    b.metadata.annotations['weft.dev/creation-timestamp'] = '2026-01-01T00:00:00Z';
    assert.equal(telemetryFor(input([a, b]), reviews).client.tracing?.randomSamplingPercentage, 10);
  });

  it('accessLogFile alone turns on the envoy log everywhere (Istio\'s classic setting); disabled turns it off', () => {
    const m = mesh('accessLogFile: /dev/stdout\naccessLogEncoding: JSON');
    const on = telemetryFor(input([], m), reviews);
    assert.deepEqual(on.client.accessLogs, [{ provider: { kind: 'file', name: 'envoy', path: '/dev/stdout', format: { type: 'json' } } }]);
    assert.equal(on.client.tracing, undefined, 'no tracing provider: nothing to export to');
    const off = telemetryFor(input([tel('default', 'quiet', { accessLogging: [{ mode: 'CLIENT', disabled: true }] })], m), reviews);
    assert.deepEqual(off.client.accessLogs, []);
    assert.equal(off.server.accessLogs.length, 1, 'SERVER keeps the inherited log');
  });

  it('enableTracing false wins over providers; metrics without prometheus are disabled; overrides kept per direction', () => {
    const m = mesh(MESH + '\nenableTracing: false');
    const t = telemetryFor(
      input(
        [
          tel('default', 'm', {
            metrics: [
              { overrides: [{ mode: 'SERVER', metric: 'REQUEST_COUNT', tagOverrides: { request_protocol: { operation: 'REMOVE' } } }] },
              { providers: [], overrides: [] },
            ],
          }),
        ],
        m,
      ),
      reviews,
    );
    assert.equal(t.client.tracing, undefined);
    assert.equal(t.client.metricsDisabled, true);
    assert.deepEqual(t.client.metricOverrides, []);
    assert.deepEqual(t.server.metricOverrides, [{ metric: 'REQUEST_COUNT', disabled: false, tagOverrides: { request_protocol: { operation: 'REMOVE' } } }]);
  });

  it('warns of provider names the mesh does not define or of the wrong kind, naming file, resource and field', () => {
    const r = { kind: 'Telemetry' as const, apiVersion: 'telemetry.istio.io/v1', origin: { file: 't.yaml', document: 0 }, ...tel('default', 't', { tracing: [{ mode: 'CLIENT_AND_SERVER', providers: ['zipkin', 'json-file'] }], accessLogging: [{ mode: 'CLIENT_AND_SERVER', providers: ['envoy'] }] }) };
    assert.deepEqual(telemetryWarnings(mesh().telemetry, [r]).map(formatConfigError), [
      't.yaml: document 1: Telemetry default/t: spec.tracing[0].providers[0]: provider "zipkin" is not in the mesh config\'s extensionProviders; it is ignored [WEFT_E_TELEMETRY_PROVIDER]',
      't.yaml: document 1: Telemetry default/t: spec.tracing[0].providers[1]: provider "json-file" is envoyFileAccessLog, not a tracing provider; it is ignored [WEFT_E_TELEMETRY_PROVIDER]',
    ]);
  });
});

describe('collector clusters', () => {
  it('one cluster per collector the registry lacks (HTTP/2 for OTLP/gRPC), none for a registry service; the proxy accepts them', () => {
    const m = mesh();
    const clusters = collectorClusters({ mesh: m, domain: 'cluster.local' }, () => false);
    assert.deepEqual(
      clusters.map((c) => [c.name, c.body.type, Boolean(c.body.typed_extension_protocol_options)]),
      [
        ['outbound|4318||127.0.0.1', 'STATIC', false],
        ['outbound|4317||otel-collector.observability.svc.cluster.local', 'STRICT_DNS', true],
      ],
    );
    assert.deepEqual(
      collectorClusters({ mesh: m, domain: 'cluster.local' }, (h) => h.endsWith('.svc.cluster.local')).map((c) => c.name),
      ['outbound|4318||127.0.0.1'],
    );
    // Through the real composition and the proxy's own decoder and validator.
    const snap = snapshot(configFrom(yaml('none.yaml', '')), [proxy('reviews', 'v1', 1)], m);
    const set = translate(snap, proxy('reviews', 'v1', 1));
    const names = set.cluster.map((c) => c.name);
    assert.ok(names.includes('outbound|4318||127.0.0.1') && names.includes('outbound|4317||otel-collector.observability.svc.cluster.local'), names.join(', '));
    const decoded = decodeSet(set);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.errors.join('\n'));
  });
});

describe('metric overrides in the listeners', () => {
  it('a Telemetry override reaches the stats filter of its direction as PluginConfig.metrics; no prometheus provider: no stats filter', () => {
    const config = configFrom(
      yaml(
        'telemetry.yaml',
        `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: reviews, namespace: default }
spec:
  selector: { matchLabels: { app: reviews } }
  metrics:
  - overrides:
    - match: { metric: REQUEST_COUNT, mode: SERVER }
      tagOverrides:
        request_protocol: { operation: REMOVE }
        destination_app: { value: "'front'" }
    - match: { metric: REQUEST_SIZE }
      disabled: true
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: quiet, namespace: default }
spec:
  selector: { matchLabels: { app: ratings } }
  metrics:
  - providers: []
`,
      ),
    );
    const reviews = proxy('reviews', 'v1', 1);
    const snap = snapshot(config, [reviews, proxy('ratings', 'v1', 2)]);
    const set = translate(snap, reviews);
    const decoded = decodeSet(set);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.errors.join('\n'));
    const statsOf = (listener: string) => {
      const l = set.listener.find((x) => x.name === listener)!.body as { filter_chains: Array<{ filters: Array<{ typed_config: { http_filters?: Array<{ name: string; typed_config: Record<string, unknown> }> } }> }> };
      return l.filter_chains.flatMap((c) => c.filters.flatMap((f) => f.typed_config.http_filters ?? [])).filter((f) => f.name === 'istio.stats').map((f) => f.typed_config.metrics);
    };
    assert.deepEqual(statsOf('virtualInbound'), [
      [
        { name: 'requests_total', dimensions: { destination_app: "'front'" }, tags_to_remove: ['request_protocol'] },
        { name: 'request_bytes', drop: true },
      ],
    ]);
    assert.deepEqual(statsOf('virtualOutbound'), [[{ name: 'request_bytes', drop: true }]], 'CLIENT gets only the override for both modes');
    const ratings = translate(snap, proxy('ratings', 'v1', 2));
    const text = JSON.stringify(ratings.listener.map((l) => l.body));
    assert.equal(text.split('"istio.stats"').length - 1, 2, 'the filter stays on both sides, for the peer metadata exchange');
    assert.equal(text.split('"metrics":[{"name":"","drop":true}]').length - 1, 2, 'metrics off for ratings: every metric dropped');
  });
});
