// HttpConnectionManager.tracing at the xDS edge, after a real protobuf round trip: what is
// implemented becomes the typed model (defaults as Envoy's), everything else is a NACK naming its
// field; and the control plane's hcmTracing output is what the proxy accepts and means.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HCM_TYPE_URL, OTEL_TRACER_CONFIG_TYPE_URL, packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import type { TracingPolicy } from '../../src/config/telemetry-types.js';
import { parseMeshConfig } from '../../src/config/mesh-config.js';
import { translate } from '../../src/controlplane/translate/index.js';
import { hcmTracing as cpTracing } from '../../src/controlplane/translate/tracing.js';
import { capturedProxy, configFrom, proxy, snapshot, yaml } from '../translate/fixtures.js';
import { validateResource } from '../../src/proxy/xds/decode.js';
import type { HcmTracing, Listener } from '../../src/proxy/xds/model.js';

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const listener = (tracing: object) => ({
  name: 'l',
  address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: { '@type': HCM_TYPE_URL, stat_prefix: 's', rds: { route_config_name: 'r', config_source: { ads: {} } }, http_filters: [ROUTER], tracing },
        },
      ],
    },
  ],
});

function parse(tracing: object): { tracing?: HcmTracing; errors: string[] } {
  const v = validateResource('listener', unpackAny(packAny(TypeUrl.listener, listener(tracing))));
  if (!v.valid) return { errors: v.errors };
  const t = (v.result as Listener).filterChains[0].terminal;
  return { tracing: t.kind === 'http_connection_manager' ? t.hcm.tracing : undefined, errors: [] };
}

const AT = 'listener l: filter_chains[0].filters[0].typed_config.tracing';
const otel = (cfg: object) => ({ name: 'envoy.tracers.opentelemetry', typed_config: { '@type': OTEL_TRACER_CONFIG_TYPE_URL, ...cfg } });
const httpService = { http_uri: { uri: 'http://collector:4318/v1/traces', cluster: 'otel', timeout: { seconds: 2 } }, request_headers_to_add: [{ header: { key: 'X-Tenant', value: 't1' } }] };

describe('HCM tracing: accepted', () => {
  it('an empty tracing block: Envoy defaults (100 % everywhere, path tags of 256, no provider)', () => {
    assert.deepEqual(parse({}), {
      tracing: { clientSampling: 100, randomSampling: 100, overallSampling: 100, maxPathTagLength: 256, customTags: [], spawnUpstreamSpan: false, provider: undefined },
      errors: [],
    });
  });

  it('percentages, tags, spawn_upstream_span and an OTLP/HTTP provider', () => {
    const r = parse({
      client_sampling: { value: 50 },
      random_sampling: { value: 0 },
      overall_sampling: { value: 12.5 },
      max_path_tag_length: { value: 64 },
      spawn_upstream_span: { value: true },
      custom_tags: [
        { tag: 'team', literal: { value: 'shop' } },
        { tag: 'pod', environment: { name: 'POD_NAME', default_value: 'none' } },
        { tag: 'user', request_header: { name: 'End-User', default_value: 'anon' } },
      ],
      provider: otel({ service_name: 'reviews.default', http_service: httpService }),
    });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.tracing, {
      clientSampling: 50,
      randomSampling: 0,
      overallSampling: 12.5,
      maxPathTagLength: 64,
      spawnUpstreamSpan: true,
      customTags: [
        { tag: 'team', kind: 'literal', value: 'shop' },
        { tag: 'pod', kind: 'environment', name: 'POD_NAME', defaultValue: 'none' },
        { tag: 'user', kind: 'request_header', name: 'end-user', defaultValue: 'anon' },
      ],
      provider: {
        name: 'envoy.tracers.opentelemetry',
        serviceName: 'reviews.default',
        exporter: { kind: 'http', cluster: 'otel', authority: 'collector:4318', path: '/v1/traces', timeoutMs: 2000, headers: [['x-tenant', 't1']] },
      },
    });
  });

  it('an OTLP/gRPC provider through an envoy_grpc cluster', () => {
    const r = parse({ provider: otel({ grpc_service: { envoy_grpc: { cluster_name: 'otel-grpc', authority: 'collector:4317' }, timeout: { seconds: 1 }, initial_metadata: [{ key: 'X-Token', value: 'k' }] } }) });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.tracing?.provider?.exporter, { kind: 'grpc', cluster: 'otel-grpc', authority: 'collector:4317', timeoutMs: 1000, headers: [['x-token', 'k']] });
  });
});

describe('HCM tracing: NACKs name the field', () => {
  const cases: Array<{ name: string; tracing: object; errors: string[] }> = [
    { name: 'verbose', tracing: { verbose: true }, errors: [`${AT}.verbose: not supported (no per-filter span annotations)`] },
    { name: 'a percentage above 100', tracing: { random_sampling: { value: 101 } }, errors: [`${AT}.random_sampling.value: must be between 0 and 100, got 101`] },
    { name: 'a metadata tag', tracing: { custom_tags: [{ tag: 'm', metadata: { kind: { request: {} }, metadata_key: { key: 'k', path: [{ key: 'a' }] } } }] }, errors: [`${AT}.custom_tags[0].metadata: not supported (literal, environment and request_header tags only)`] },
    { name: 'a tag without a name', tracing: { custom_tags: [{ literal: { value: 'v' } }] }, errors: [`${AT}.custom_tags[0].tag: is required`] },
    { name: 'a header tag without a header', tracing: { custom_tags: [{ tag: 't', request_header: {} }] }, errors: [`${AT}.custom_tags[0].request_header.name: is required`] },
    {
      name: 'another tracer (zipkin)',
      // A type the proxy has no schema for arrives as a raw Any.
      tracing: { provider: { name: 'envoy.tracers.zipkin', typed_config: { type_url: 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig', value: Buffer.from([0x0a, 0x01, 0x7a]) } } },
      errors: [`${AT}.provider.typed_config: unsupported tracer type.googleapis.com/envoy.config.trace.v3.ZipkinConfig (only ${OTEL_TRACER_CONFIG_TYPE_URL})`],
    },
    { name: 'resource detectors', tracing: { provider: otel({ http_service: httpService, resource_detectors: [{ name: 'env', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Empty' } }] }) }, errors: [`${AT}.provider.typed_config.resource_detectors: not supported`] },
    { name: 'a sampler', tracing: { provider: otel({ http_service: httpService, sampler: { name: 's', typed_config: { '@type': 'type.googleapis.com/google.protobuf.Empty' } } }) }, errors: [`${AT}.provider.typed_config.sampler: not supported`] },
    { name: 'neither exporter', tracing: { provider: otel({ service_name: 'x' }) }, errors: [`${AT}.provider.typed_config: exactly one of grpc_service, http_service is required`] },
    { name: 'google_grpc', tracing: { provider: otel({ grpc_service: { google_grpc: { target_uri: 'x:1', stat_prefix: 'p' } } }) }, errors: [`${AT}.provider.typed_config.grpc_service.google_grpc: not supported (envoy_grpc only)`, `${AT}.provider.typed_config.grpc_service.envoy_grpc.cluster_name: is required`] },
    { name: 'an https collector URI', tracing: { provider: otel({ http_service: { http_uri: { uri: 'https://c/v1/traces', cluster: 'c', timeout: { seconds: 1 } } } }) }, errors: [`${AT}.provider.typed_config.http_service.http_uri.uri: scheme https: is not supported (TLS to the collector comes from the cluster's transport socket)`] },
    { name: 'an http_uri without cluster', tracing: { provider: otel({ http_service: { http_uri: { uri: 'http://c/v1/traces', timeout: { seconds: 1 } } } }) }, errors: [`${AT}.provider.typed_config.http_service.http_uri.cluster: is required`] },
    { name: 'a provider without name', tracing: { provider: { typed_config: { '@type': OTEL_TRACER_CONFIG_TYPE_URL, http_service: httpService } } }, errors: [`${AT}.provider.name: is required`] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parse(c.tracing).errors, c.errors));
});

describe('hcmTracing (control plane)', () => {
  const endpoint = { cluster: 'outbound|4318||otel.observability.svc.cluster.local', host: 'otel.observability.svc.cluster.local', port: 4318 };
  const policy = (o: Partial<TracingPolicy> = {}): TracingPolicy => ({
    provider: { kind: 'opentelemetry', name: 'otel', endpoint, http: { path: '/v1/traces', timeoutMs: 3000, headers: { 'x-tenant': 'a' } } },
    randomSamplingPercentage: 7.5,
    customTags: [],
    disableSpanReporting: false,
    ...o,
  });
  const reviews = { namespace: 'shop', labels: { app: 'reviews', version: 'v2' } };

  it('no policy: no tracing field', () => assert.equal(cpTracing(undefined, reviews), undefined));

  it('an OTLP/HTTP policy: Istio\'s sampling fields, identity tags, custom tags, the collector cluster; the proxy reads it back as meant', () => {
    const body = cpTracing(policy({ customTags: [{ tag: 'env', literal: 'prod' }, { tag: 'user', header: 'end-user', defaultValue: 'anon' }, { tag: 'pod', environment: 'POD_NAME' }] }), reviews)!;
    const r = parse(body);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.tracing, {
      clientSampling: 100,
      randomSampling: 7.5,
      overallSampling: 100,
      maxPathTagLength: 256,
      spawnUpstreamSpan: false,
      customTags: [
        { tag: 'istio.canonical_revision', kind: 'literal', value: 'v2' },
        { tag: 'istio.canonical_service', kind: 'literal', value: 'reviews' },
        { tag: 'istio.namespace', kind: 'literal', value: 'shop' },
        { tag: 'env', kind: 'literal', value: 'prod' },
        { tag: 'user', kind: 'request_header', name: 'end-user', defaultValue: 'anon' },
        { tag: 'pod', kind: 'environment', name: 'POD_NAME', defaultValue: '' },
      ],
      provider: {
        name: 'envoy.tracers.opentelemetry',
        serviceName: 'reviews.shop',
        exporter: { kind: 'http', cluster: endpoint.cluster, authority: `${endpoint.host}:4318`, path: '/v1/traces', timeoutMs: 3000, headers: [['x-tenant', 'a']] },
      },
    });
  });

  it('OTLP/gRPC when the provider has no http; 0 % stays 0 %', () => {
    const r = parse(cpTracing(policy({ provider: { kind: 'opentelemetry', name: 'g', endpoint } , randomSamplingPercentage: 0 }), reviews)!);
    assert.deepEqual(r.errors, []);
    assert.equal(r.tracing?.randomSampling, 0);
    assert.deepEqual(r.tracing?.provider?.exporter, { kind: 'grpc', cluster: endpoint.cluster, authority: `${endpoint.host}:4318`, timeoutMs: 5000, headers: [] });
  });

  it('disableSpanReporting: sampling and propagation stay, no provider', () => {
    const r = parse(cpTracing(policy({ disableSpanReporting: true, randomSamplingPercentage: 100 }), reviews)!);
    assert.deepEqual(r.errors, []);
    assert.equal(r.tracing?.randomSampling, 100);
    assert.equal(r.tracing?.provider, undefined);
  });

  it('canonical labels win over app/version', () => {
    const r = parse(cpTracing(policy(), { namespace: 'ns', labels: { app: 'a', 'service.istio.io/canonical-name': 'canon', 'service.istio.io/canonical-revision': 'r9' } })!);
    assert.equal(r.tracing?.provider?.serviceName, 'canon.ns');
    assert.deepEqual(r.tracing?.customTags.slice(0, 2).map((t) => t.kind === 'literal' && t.value), ['r9', 'canon']);
  });
});

describe('every sidecar HCM carries its direction\'s tracing', () => {
  const MESH = ['extensionProviders:', '- name: otel', '  opentelemetry: { service: 127.0.0.1, port: 4318, http: { path: /v1/traces } }', 'defaultProviders: { tracing: [otel] }'].join('\n');
  const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: split, namespace: istio-system }
spec:
  tracing:
  - match: { mode: CLIENT }
    randomSamplingPercentage: 40
  - match: { mode: SERVER }
    randomSamplingPercentage: 60
`;
  /** [listener name, traffic_direction, random_sampling] of every HCM in the LDS output. */
  function hcms(resources: Array<{ name: string; body: Record<string, unknown> }>): Array<[string, string, number | undefined]> {
    const out: Array<[string, string, number | undefined]> = [];
    for (const l of resources) {
      for (const chain of (l.body.filter_chains ?? []) as Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }>) {
        for (const f of chain.filters) {
          if (f.typed_config['@type'] !== HCM_TYPE_URL) continue;
          const t = f.typed_config.tracing as { random_sampling: { value: number } } | undefined;
          out.push([l.name, String(l.body.traffic_direction), t?.random_sampling.value]);
        }
      }
    }
    return out;
  }

  it('explicit and captured layouts: CLIENT sampling outbound, SERVER sampling inbound; every HCM set', () => {
    const parsed = parseMeshConfig(MESH, 'mesh.yaml');
    assert.ok(parsed.ok);
    const config = configFrom(yaml('telemetry.yaml', TELEMETRY));
    for (const p of [proxy('reviews', 'v1', 4), capturedProxy('reviews', 'v1', 4)]) {
      const snap = snapshot(config, [p, proxy('ratings', 'v1', 7)], parsed.mesh);
      const found = hcms(translate(snap, p).listener);
      assert.ok(found.length >= 2, JSON.stringify(found));
      for (const [name, direction, sampling] of found) assert.equal(sampling, direction === 'INBOUND' ? 60 : 40, `${p.interceptionMode} ${name}`);
      assert.ok(found.some(([, d]) => d === 'INBOUND') && found.some(([, d]) => d === 'OUTBOUND'));
    }
  });
});
