// Istio's standard metrics (https://istio.io/latest/docs/reference/config/metrics/): names, labels
// in Istio's order, buckets, and one family of each in a registry. A "series" groups the children
// one request or connection outcome bumps, so the hot path resolves labels once per outcome key.
import { MetricRegistry, type CounterChild, type CounterFamily, type HistogramChild, type HistogramFamily } from './registry.js';

export const ISTIO_LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;
export type IstioLabel = (typeof ISTIO_LABELS)[number];
export type IstioLabels = Record<IstioLabel, string>;

/** TCP metrics carry no HTTP outcome labels (Istio leaves response_code, grpc status and protocol "tcp"). */
export const ISTIO_TCP_LABELS = ISTIO_LABELS.filter((l) => l !== 'response_code' && l !== 'grpc_response_status');

/** Istio's default duration buckets (ms), Envoy's default histogram buckets. */
export const DURATION_BUCKETS_MS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** Istio's size buckets (bytes): the same Envoy defaults. Istio's stats filter gives its byte histograms
 * no buckets of its own and its bootstrap sets `histogram_bucket_settings` only from the
 * `sidecar.istio.io/statsHistogramBuckets` annotation, so a sidecar reports 0.5 … 3600000 for sizes too
 * (the powers of ten were Mixer's `requestsize`, gone with telemetry v2). */
export const SIZE_BUCKETS_BYTES: readonly number[] = DURATION_BUCKETS_MS;

export const UNKNOWN = 'unknown';

/** Request or TCP outcome keys kept before new ones lose their peer workload labels: a peer header
 * is the caller's to write, so junk values must not grow the series without bound. */
export const MAX_SERIES = 4096;

const PEER_WORKLOAD_LABELS: readonly IstioLabel[] = ISTIO_LABELS.filter((l) => /^(source|destination)_(workload|workload_namespace|app|version|cluster)$/.test(l));

/** Past MAX_SERIES: the outcome with every workload label "unknown", keyed by its label values
 * (bounded: what is left comes from certificates, this proxy's config and status codes). */
function overflowKey(l: IstioLabels): string {
  for (const k of PEER_WORKLOAD_LABELS) l[k] = UNKNOWN;
  return `overflow|${ISTIO_LABELS.map((k) => l[k]).join('|')}`;
}

/** The children one finished HTTP request bumps. */
export interface RequestSeries {
  requests: CounterChild;
  duration: HistogramChild;
  requestBytes: HistogramChild;
  responseBytes: HistogramChild;
  /** gRPC streams only (Istio reports message counts for gRPC). */
  requestMessages: CounterChild | undefined;
  responseMessages: CounterChild | undefined;
}

/** The children one TCP connection bumps. */
export interface TcpSeries {
  opened: CounterChild;
  closed: CounterChild;
  sent: CounterChild;
  received: CounterChild;
}

export class IstioMetrics {
  readonly registry: MetricRegistry;
  readonly requests: CounterFamily;
  readonly duration: HistogramFamily;
  readonly requestBytes: HistogramFamily;
  readonly responseBytes: HistogramFamily;
  readonly requestMessages: CounterFamily;
  readonly responseMessages: CounterFamily;
  readonly tcpOpened: CounterFamily;
  readonly tcpClosed: CounterFamily;
  readonly tcpSent: CounterFamily;
  readonly tcpReceived: CounterFamily;
  private readonly requestSeries = new Map<string, RequestSeries>();
  private readonly tcpSeries = new Map<string, TcpSeries>();
  /** The same series by label values: two outcome keys can resolve to one label set (a subset's
   * cluster and the plain one reaching the same workload), and an exposition with one label set twice
   * is refused whole by Prometheus ("duplicate sample"). Looked up only for a key not seen before. */
  private readonly requestByLabels = new Map<string, RequestSeries>();
  private readonly tcpByLabels = new Map<string, TcpSeries>();
  private readonly overflow: CounterChild;
  private readonly maxSeries: number;

  constructor(registry = new MetricRegistry(), maxSeries = MAX_SERIES) {
    this.registry = registry;
    this.maxSeries = maxSeries;
    const r = registry;
    this.overflow = r.counter('weft_istio_series_overflow_total', 'Outcomes counted without their peer workload labels (too many distinct series).', []).child('', []);
    this.requests = r.counter('istio_requests_total', 'Requests, by source and destination workload and outcome.', ISTIO_LABELS);
    this.duration = r.histogram('istio_request_duration_milliseconds', 'Request duration in milliseconds.', ISTIO_LABELS, DURATION_BUCKETS_MS);
    this.requestBytes = r.histogram('istio_request_bytes', 'Request body sizes in bytes.', ISTIO_LABELS, SIZE_BUCKETS_BYTES);
    this.responseBytes = r.histogram('istio_response_bytes', 'Response body sizes in bytes.', ISTIO_LABELS, SIZE_BUCKETS_BYTES);
    this.requestMessages = r.counter('istio_request_messages_total', 'gRPC messages sent by the client.', ISTIO_LABELS);
    this.responseMessages = r.counter('istio_response_messages_total', 'gRPC messages sent by the server.', ISTIO_LABELS);
    this.tcpOpened = r.counter('istio_tcp_connections_opened_total', 'TCP connections opened.', ISTIO_TCP_LABELS);
    this.tcpClosed = r.counter('istio_tcp_connections_closed_total', 'TCP connections closed.', ISTIO_TCP_LABELS);
    this.tcpSent = r.counter('istio_tcp_sent_bytes_total', 'Bytes sent to the downstream peer during TCP connections (response direction).', ISTIO_TCP_LABELS);
    this.tcpReceived = r.counter('istio_tcp_received_bytes_total', 'Bytes received from the downstream peer during TCP connections (request direction).', ISTIO_TCP_LABELS);
  }

  /** The series for `key`; `labels` is only called (and its result rendered) the first time. */
  request(key: string, grpc: boolean, labels: () => IstioLabels): RequestSeries {
    let s = this.requestSeries.get(key);
    if (!s) {
      const l = labels();
      if (this.requestSeries.size >= this.maxSeries) {
        this.overflow.value++;
        key = overflowKey(l) + (grpc ? '|g' : '');
        const known = this.requestSeries.get(key);
        if (known) return known;
      }
      const v = ISTIO_LABELS.map((n) => l[n]);
      const byLabels = `${grpc ? 'g' : 'h'}\0${v.join('\0')}`;
      const same = this.requestByLabels.get(byLabels);
      if (same) {
        this.requestSeries.set(key, same);
        return same;
      }
      s = {
        requests: this.requests.child(key, v),
        duration: this.duration.child(key, v),
        requestBytes: this.requestBytes.child(key, v),
        responseBytes: this.responseBytes.child(key, v),
        requestMessages: grpc ? this.requestMessages.child(key, v) : undefined,
        responseMessages: grpc ? this.responseMessages.child(key, v) : undefined,
      };
      this.requestSeries.set(key, s);
      this.requestByLabels.set(byLabels, s);
    }
    return s;
  }

  tcp(key: string, labels: () => IstioLabels): TcpSeries {
    let s = this.tcpSeries.get(key);
    if (!s) {
      const l = labels();
      if (this.tcpSeries.size >= this.maxSeries) {
        this.overflow.value++;
        key = overflowKey(l);
        const known = this.tcpSeries.get(key);
        if (known) return known;
      }
      const v = ISTIO_TCP_LABELS.map((n) => l[n]);
      const byLabels = v.join('\0');
      const same = this.tcpByLabels.get(byLabels);
      if (same) {
        this.tcpSeries.set(key, same);
        return same;
      }
      s = { opened: this.tcpOpened.child(key, v), closed: this.tcpClosed.child(key, v), sent: this.tcpSent.child(key, v), received: this.tcpReceived.child(key, v) };
      this.tcpSeries.set(key, s);
      this.tcpByLabels.set(byLabels, s);
    }
    return s;
  }
}
