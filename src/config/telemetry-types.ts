// What one proxy's telemetry is, once the mesh config's providers (MeshConfig.extensionProviders,
// defaultProviders) and the Istio Telemetry resources that select it (root namespace, its namespace,
// its workload selector) are merged: per direction (CLIENT: the outbound listeners, reporter
// "source"; SERVER: the inbound ones, reporter "destination"), the trace provider and sampling, the
// access logs and the metric overrides. The control plane's translators turn this into Envoy's
// HCM `tracing`, `access_log` and the istio.stats config; nothing downstream reads Istio resources.

/** A collector named by an extension provider, and the cluster a proxy reaches it through (a
 * registry service's outbound cluster, or one the control plane adds for a host:port the mesh does
 * not know, e.g. a collector on this machine). */
export interface ProviderEndpoint {
  /** The xDS cluster name (`outbound|PORT||HOST`). */
  cluster: string;
  /** The provider's `service` (a hostname or address) and `port`. */
  host: string;
  port: number;
}

/** extensionProviders[].opentelemetry, used for tracing. OTLP/HTTP when `http` is set (Istio's
 * `opentelemetry.http`), OTLP/gRPC otherwise. */
export interface OtelTracingProvider {
  kind: 'opentelemetry';
  name: string;
  endpoint: ProviderEndpoint;
  http?: {
    /** Istio's default: /v1/traces. */
    path: string;
    timeoutMs: number;
    headers: Record<string, string>;
  };
}

/** Telemetry.tracing[].customTags: a span attribute from a literal, a request header or an
 * environment variable of the proxy. */
export type CustomTag =
  | { tag: string; literal: string }
  | { tag: string; header: string; defaultValue?: string }
  | { tag: string; environment: string; defaultValue?: string };

export interface TracingPolicy {
  provider: OtelTracingProvider;
  /** 0–100; Telemetry's randomSamplingPercentage, else the mesh's defaultConfig.tracing.sampling,
   * else 1 (Istio's default). */
  randomSamplingPercentage: number;
  customTags: CustomTag[];
  /** Telemetry's disableSpanReporting: propagate the context, report no spans. */
  disableSpanReporting: boolean;
}

/** An access-log line format: Envoy format strings. `text` undefined: Istio's default text format;
 * `labels` undefined: Istio's default JSON fields. */
export type AccessLogFormat = { type: 'text'; text?: string } | { type: 'json'; labels?: Record<string, string> };

export type AccessLogProvider =
  /** extensionProviders[].envoyFileAccessLog, or the mesh's accessLogFile/accessLogEncoding/
   * accessLogFormat (the provider Istio calls `envoy`). `/dev/stdout` is the proxy's stdout. */
  | { kind: 'file'; name: string; path: string; format: AccessLogFormat }
  /** extensionProviders[].envoyOtelAls: OTLP logs to a collector (gRPC). */
  | { kind: 'otel'; name: string; endpoint: ProviderEndpoint; logName: string; format: AccessLogFormat };

export interface AccessLogPolicy {
  provider: AccessLogProvider;
  /** Telemetry.accessLogging[].filter.expression (a CEL expression such as `response.code >= 400`);
   * absent: every request is logged. */
  filterExpression?: string;
}

/** Istio's standard metrics, by the names Telemetry's MetricSelector.metric uses. */
export const ISTIO_METRIC_SELECTORS = {
  REQUEST_COUNT: 'requests_total',
  REQUEST_DURATION: 'request_duration_milliseconds',
  REQUEST_SIZE: 'request_bytes',
  RESPONSE_SIZE: 'response_bytes',
  TCP_OPENED_CONNECTIONS: 'tcp_connections_opened_total',
  TCP_CLOSED_CONNECTIONS: 'tcp_connections_closed_total',
  TCP_SENT_BYTES: 'tcp_sent_bytes_total',
  TCP_RECEIVED_BYTES: 'tcp_received_bytes_total',
  GRPC_REQUEST_MESSAGES: 'request_messages_total',
  GRPC_RESPONSE_MESSAGES: 'response_messages_total',
} as const;
export type IstioMetricSelector = keyof typeof ISTIO_METRIC_SELECTORS | 'ALL_METRICS';

export type TagOverride = { operation: 'UPSERT'; value: string } | { operation: 'REMOVE' };

export interface MetricsOverride {
  metric: IstioMetricSelector;
  disabled: boolean;
  /** Label name → what to do with it (UPSERT's value is an expression: a quoted literal or a
   * request header, e.g. `request.headers['x-user']`). */
  tagOverrides: Record<string, TagOverride>;
}

export interface DirectionTelemetry {
  /** Absent: no provider; the proxy still propagates trace headers and x-request-id. */
  tracing?: TracingPolicy;
  accessLogs: AccessLogPolicy[];
  /** In the order they apply (later entries override earlier ones for the same metric and tag). */
  metricOverrides: MetricsOverride[];
  /** No `prometheus` metrics provider is active for this direction (Telemetry metrics disabled). */
  metricsDisabled: boolean;
}

export interface ProxyTelemetryPolicy {
  client: DirectionTelemetry;
  server: DirectionTelemetry;
}

// ---------- The Istio Telemetry resource (telemetry.istio.io/v1), as validated config ----------

/** WorkloadMode: which side of a call an entry applies to; absent: both. */
export type WorkloadMode = 'CLIENT' | 'SERVER' | 'CLIENT_AND_SERVER';

export interface TelemetryTracing {
  mode: WorkloadMode;
  /** Absent: inherit (from the less specific Telemetry, else defaultProviders.tracing). */
  providers?: string[];
  randomSamplingPercentage?: number;
  disableSpanReporting?: boolean;
  customTags?: CustomTag[];
}

export interface TelemetryMetricsOverride {
  mode: WorkloadMode;
  metric: IstioMetricSelector;
  disabled?: boolean;
  tagOverrides: Record<string, TagOverride>;
}

export interface TelemetryMetrics {
  providers?: string[];
  overrides: TelemetryMetricsOverride[];
}

export interface TelemetryAccessLogging {
  mode: WorkloadMode;
  providers?: string[];
  disabled?: boolean;
  filterExpression?: string;
}

export interface TelemetrySpec {
  /** Absent (or no labels): the whole namespace, or the mesh in the root namespace. */
  selector?: { matchLabels: Record<string, string> };
  tracing: TelemetryTracing[];
  metrics: TelemetryMetrics[];
  accessLogging: TelemetryAccessLogging[];
}
