// One proxy's telemetry (config/telemetry-types.ts ProxyTelemetryPolicy), as Istio resolves the
// Telemetry API: the mesh's defaults (MeshConfig defaultProviders, accessLogFile, the default trace
// sampling), then the root namespace's Telemetry without a selector, then the proxy's namespace's
// without a selector, then those whose selector matches the proxy's labels; each level overrides
// what it sets, per direction (CLIENT: outbound, SERVER: inbound). Where several Telemetries share a
// level, the oldest (creation time, then name) decides, as for Istio's other policies.
// Provider names resolve against the mesh's extensionProviders; a name that is not there (or of the
// wrong kind for its use) is skipped and reported by `telemetryWarnings`.
import { isIP } from 'node:net';
import { findProvider, type ExtensionProvider, type MeshTelemetry } from '../../config/mesh-telemetry.js';
import type { MeshConfig } from '../../config/mesh-config.js';
import type { ConfigError, Meta, ResourceOf } from '../../config/types.js';
import type { AccessLogPolicy, CustomTag, DirectionTelemetry, MetricsOverride, ProviderEndpoint, ProxyTelemetryPolicy, TelemetrySpec, TracingPolicy, WorkloadMode } from '../../config/telemetry-types.js';
import { resolveHost } from '../model/hosts.js';
import { duration, socketAddress, type XdsResource } from './types.js';

export interface TelemetryLike {
  metadata: Meta;
  spec: TelemetrySpec;
}

export interface TelemetryInputs {
  mesh: MeshConfig;
  telemetries: readonly TelemetryLike[];
  /** The mesh's DNS domain (cluster.local): a provider's short service name resolves in the root namespace. */
  domain: string;
}

type Direction = 'CLIENT' | 'SERVER';

const applies = (mode: WorkloadMode, d: Direction): boolean => mode === 'CLIENT_AND_SERVER' || mode === d;

const byAge = (a: TelemetryLike, b: TelemetryLike): number => {
  const ta = a.metadata.annotations?.['weft.dev/creation-timestamp'] ?? '';
  const tb = b.metadata.annotations?.['weft.dev/creation-timestamp'] ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
};

const hasSelector = (t: TelemetryLike): boolean => Object.keys(t.spec.selector?.matchLabels ?? {}).length > 0;

/** The Telemetries that apply to a workload, least specific first (at most one per level). */
export function telemetryLevels(all: readonly TelemetryLike[], workload: { namespace: string; labels: Record<string, string> }, rootNamespace: string): TelemetryLike[] {
  const sorted = [...all].sort(byAge);
  const mesh = sorted.find((t) => t.metadata.namespace === rootNamespace && !hasSelector(t));
  const ns = workload.namespace === rootNamespace ? undefined : sorted.find((t) => t.metadata.namespace === workload.namespace && !hasSelector(t));
  const own = sorted.find(
    (t) => t.metadata.namespace === workload.namespace && hasSelector(t) && Object.entries(t.spec.selector!.matchLabels).every(([k, v]) => workload.labels[k] === v),
  );
  return [mesh, ns, own].filter((t): t is TelemetryLike => t !== undefined);
}

export function telemetryFor(input: TelemetryInputs, workload: { namespace: string; labels: Record<string, string> }): ProxyTelemetryPolicy {
  const levels = telemetryLevels(input.telemetries, workload, input.mesh.rootNamespace);
  return { client: direction(input, levels, 'CLIENT'), server: direction(input, levels, 'SERVER') };
}

function direction(input: TelemetryInputs, levels: readonly TelemetryLike[], d: Direction): DirectionTelemetry {
  const t = input.mesh.telemetry;
  const out: DirectionTelemetry = { accessLogs: accessLogs(input, levels, d), metricOverrides: [], metricsDisabled: false };
  const tracing = tracingPolicy(input, levels, d);
  if (tracing) out.tracing = tracing;
  let metricProviders = t.defaultProviders.metrics;
  for (const level of levels) {
    for (const m of level.spec.metrics) {
      if (m.providers) metricProviders = m.providers;
      for (const o of m.overrides) {
        if (!applies(o.mode, d)) continue;
        const override: MetricsOverride = { metric: o.metric, disabled: o.disabled ?? false, tagOverrides: o.tagOverrides };
        out.metricOverrides.push(override);
      }
    }
  }
  out.metricsDisabled = !metricProviders.some((name) => findProvider(t, name)?.kind === 'prometheus');
  return out;
}

function tracingPolicy(input: TelemetryInputs, levels: readonly TelemetryLike[], d: Direction): TracingPolicy | undefined {
  const t = input.mesh.telemetry;
  if (!t.enableTracing) return undefined;
  let providers = t.defaultProviders.tracing;
  let sampling = t.tracingSampling;
  let disableSpanReporting = false;
  const tags = new Map<string, CustomTag>();
  for (const level of levels) {
    for (const entry of level.spec.tracing) {
      if (!applies(entry.mode, d)) continue;
      if (entry.providers) providers = entry.providers;
      if (entry.randomSamplingPercentage !== undefined) sampling = entry.randomSamplingPercentage;
      if (entry.disableSpanReporting !== undefined) disableSpanReporting = entry.disableSpanReporting;
      for (const tag of entry.customTags ?? []) tags.set(tag.tag, tag);
    }
  }
  // Envoy runs one tracer per connection manager: the first provider that is a tracer.
  for (const name of providers) {
    const p = findProvider(t, name);
    if (p?.kind !== 'opentelemetry') continue;
    return {
      provider: { kind: 'opentelemetry', name: p.name, endpoint: providerEndpoint(input, p), ...(p.http ? { http: p.http } : {}) },
      randomSamplingPercentage: sampling,
      customTags: [...tags.values()],
      disableSpanReporting,
    };
  }
  return undefined;
}

function accessLogs(input: TelemetryInputs, levels: readonly TelemetryLike[], d: Direction): AccessLogPolicy[] {
  const t = input.mesh.telemetry;
  // Istio: defaultProviders.accessLogging, else the classic accessLogFile turns on the `envoy` log.
  const defaults = t.defaultProviders.accessLogging.length ? t.defaultProviders.accessLogging : t.accessLogFile ? ['envoy'] : [];
  let entries: Array<{ providers: string[]; filterExpression?: string }> = defaults.length ? [{ providers: defaults }] : [];
  for (const level of levels) {
    const own = level.spec.accessLogging.filter((a) => applies(a.mode, d));
    if (own.length === 0) continue;
    // A level that configures access logging for this direction replaces what it inherits.
    entries = own
      .filter((a) => !a.disabled)
      .map((a) => ({ providers: a.providers ?? (defaults.length ? defaults : ['envoy']), ...(a.filterExpression ? { filterExpression: a.filterExpression } : {}) }));
  }
  const out: AccessLogPolicy[] = [];
  for (const e of entries) {
    for (const name of e.providers) {
      const p = findProvider(t, name);
      if (p?.kind === 'envoyFileAccessLog') out.push({ provider: { kind: 'file', name: p.name, path: p.path, format: p.format }, ...filterOf(e) });
      else if (p?.kind === 'envoyOtelAls') out.push({ provider: { kind: 'otel', name: p.name, endpoint: providerEndpoint(input, p), logName: p.logName, format: p.format }, ...filterOf(e) });
    }
  }
  return out;
}

const filterOf = (e: { filterExpression?: string }) => (e.filterExpression ? { filterExpression: e.filterExpression } : {});

/** Where a collector is: `outbound|PORT||HOST` with HOST the provider's service resolved (a short
 * name in the root namespace); an address stays an address. */
export function providerEndpoint(input: Pick<TelemetryInputs, 'mesh' | 'domain'>, p: { service: string; port: number }): ProviderEndpoint {
  const host = isIP(p.service) ? p.service : resolveHost(p.service, input.mesh.rootNamespace, input.domain);
  return { cluster: `outbound|${p.port}||${host}`, host, port: p.port };
}

type CollectorProvider = Extract<ExtensionProvider, { service: string }>;

/** Clusters for the collectors the mesh's providers name that the registry does not hold (a
 * collector on an address, or a DNS name outside the mesh); a registry service already has its
 * outbound cluster under the same name. OTLP over gRPC needs HTTP/2 upstream. */
export function collectorClusters(input: Pick<TelemetryInputs, 'mesh' | 'domain'>, known: (host: string) => boolean): XdsResource[] {
  const out = new Map<string, XdsResource>();
  for (const p of input.mesh.telemetry.extensionProviders) {
    if (p.kind !== 'opentelemetry' && p.kind !== 'envoyOtelAls') continue;
    const ep = providerEndpoint(input, p);
    if (known(ep.host) || out.has(ep.cluster)) continue;
    out.set(ep.cluster, { name: ep.cluster, body: collectorCluster(input.mesh, ep, grpc(p)) });
  }
  return [...out.values()];
}

const grpc = (p: CollectorProvider): boolean => p.kind === 'envoyOtelAls' || (p.kind === 'opentelemetry' && !p.http);

function collectorCluster(mesh: MeshConfig, ep: ProviderEndpoint, http2: boolean): Record<string, unknown> {
  return {
    name: ep.cluster,
    type: isIP(ep.host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: duration(mesh.connectTimeoutMs),
    lb_policy: 'ROUND_ROBIN',
    load_assignment: { cluster_name: ep.cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(ep.host, ep.port) } }] }] },
    ...(http2
      ? {
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
        }
      : {}),
  };
}

/** Provider names the Telemetries use that the mesh config does not define, or of the wrong kind
 * for their use: the control plane logs them as warnings; resolution skips them. */
export function telemetryWarnings(t: MeshTelemetry, telemetries: readonly ResourceOf<'Telemetry'>[]): ConfigError[] {
  const out: ConfigError[] = [];
  const check = (r: ResourceOf<'Telemetry'>, at: string, names: readonly string[] | undefined, use: string, kinds: readonly ExtensionProvider['kind'][]) => {
    (names ?? []).forEach((name, i) => {
      const p = findProvider(t, name);
      const message = !p
        ? `provider ${JSON.stringify(name)} is not in the mesh config's extensionProviders; it is ignored`
        : !kinds.includes(p.kind)
          ? `provider ${JSON.stringify(name)} is ${p.kind}, not a ${use} provider; it is ignored`
          : undefined;
      if (!message) return;
      out.push({
        code: 'WEFT_E_TELEMETRY_PROVIDER',
        file: r.origin.file,
        document: r.origin.document,
        ...(r.origin.line !== undefined ? { line: r.origin.line } : {}),
        resource: `Telemetry ${r.metadata.namespace}/${r.metadata.name}`,
        path: `spec.${at}.providers[${i}]`,
        message,
      });
    });
  };
  for (const r of telemetries) {
    r.spec.tracing.forEach((e, i) => check(r, `tracing[${i}]`, e.providers, 'tracing', ['opentelemetry']));
    r.spec.accessLogging.forEach((e, i) => check(r, `accessLogging[${i}]`, e.providers, 'access-log', ['envoyFileAccessLog', 'envoyOtelAls']));
    r.spec.metrics.forEach((e, i) => check(r, `metrics[${i}]`, e.providers, 'metrics', ['prometheus']));
  }
  return out;
}
