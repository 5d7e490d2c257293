// The HCM `tracing` field of a sidecar's connection managers, from the proxy's resolved tracing
// policy (telemetry-policy.ts), as Istio writes it for an OpenTelemetry provider: random_sampling
// from the policy, client and overall sampling at 100 %, max_path_tag_length 256, the provider as
// envoy.tracers.opentelemetry with OTLP/HTTP (http_service) or OTLP/gRPC (envoy_grpc) to the
// collector's cluster, service_name `<canonical service>.<namespace>`, the workload's istio.*
// literal tags and the policy's custom tags. disableSpanReporting keeps the field without a
// provider: the context is still propagated and sampled, no span is sent.
import { OTEL_TRACER_CONFIG_TYPE_URL } from '../../api/envoy.js';
import type { CustomTag, TracingPolicy } from '../../config/telemetry-types.js';
import type { ProxyNode } from '../model/proxy-node.js';
import { duration } from './types.js';

export const OTEL_TRACER = 'envoy.tracers.opentelemetry';
/** Istio's defaultConfig.tracing.maxPathTagLength default (and Envoy's). */
const MAX_PATH_TAG_LENGTH = 256;

/** Who the spans are from: Istio's canonical service and revision labels, else app / version. */
export interface TracingWorkload {
  namespace: string;
  labels: Record<string, string>;
}

function canonical(w: TracingWorkload): { service: string; revision: string } {
  const l = w.labels;
  return {
    service: l['service.istio.io/canonical-name'] ?? l['app.kubernetes.io/name'] ?? l.app ?? 'unknown',
    revision: l['service.istio.io/canonical-revision'] ?? l['app.kubernetes.io/version'] ?? l.version ?? 'latest',
  };
}

function customTag(t: CustomTag): Record<string, unknown> {
  if ('literal' in t) return { tag: t.tag, literal: { value: t.literal } };
  if ('header' in t) return { tag: t.tag, request_header: { name: t.header, ...(t.defaultValue ? { default_value: t.defaultValue } : {}) } };
  return { tag: t.tag, environment: { name: t.environment, ...(t.defaultValue ? { default_value: t.defaultValue } : {}) } };
}

function provider(policy: TracingPolicy, serviceName: string): Record<string, unknown> {
  const p = policy.provider;
  const { cluster, host, port } = p.endpoint;
  const authority = `${host}:${port}`;
  const exporter = p.http
    ? {
        http_service: {
          http_uri: { uri: `http://${authority}${p.http.path}`, cluster, timeout: duration(p.http.timeoutMs) },
          request_headers_to_add: Object.entries(p.http.headers).map(([key, value]) => ({ header: { key, value } })),
        },
      }
    : { grpc_service: { envoy_grpc: { cluster_name: cluster, authority } } };
  return { name: OTEL_TRACER, typed_config: { '@type': OTEL_TRACER_CONFIG_TYPE_URL, service_name: serviceName, ...exporter } };
}

/** The HCM's `tracing`, or undefined when the proxy has no tracing provider for this direction
 * (the HCM then leaves trace headers as the app sent them). */
export function hcmTracing(policy: TracingPolicy | undefined, workload?: TracingWorkload): Record<string, unknown> | undefined {
  if (!policy) return undefined;
  const c = workload ? canonical(workload) : undefined;
  const identityTags = workload
    ? [
        { tag: 'istio.canonical_revision', literal: { value: c!.revision } },
        { tag: 'istio.canonical_service', literal: { value: c!.service } },
        { tag: 'istio.namespace', literal: { value: workload.namespace } },
      ]
    : [];
  return {
    client_sampling: { value: 100 },
    random_sampling: { value: policy.randomSamplingPercentage },
    overall_sampling: { value: 100 },
    max_path_tag_length: { value: MAX_PATH_TAG_LENGTH },
    custom_tags: [...identityTags, ...policy.customTags.map(customTag)],
    ...(policy.disableSpanReporting ? {} : { provider: provider(policy, c ? `${c.service}.${workload!.namespace}` : '') }),
  };
}

/** `{tracing}` to spread into an HCM's config, or nothing. */
export function tracingField(policy: TracingPolicy | undefined, proxy: Pick<ProxyNode, 'namespace' | 'labels'>): { tracing?: Record<string, unknown> } {
  const tracing = hcmTracing(policy, proxy);
  return tracing ? { tracing } : {};
}
