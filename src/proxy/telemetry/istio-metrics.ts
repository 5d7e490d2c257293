// Istio's standard metrics (https://istio.io/latest/docs/reference/config/metrics/): names, labels
// in Istio's order, buckets, and one family of each in a registry. A "series" groups the children
// one request or connection outcome bumps, so the hot path resolves labels once per outcome key.
import { MetricRegistry, type CounterChild, type CounterFamily, type HistogramChild, type HistogramFamily } from './registry.js';
import type { MetricOverride, StatsConfig, StatsMetric } from './stats-config.js';

export { ISTIO_LABELS, type IstioLabel } from '../../api/istio-labels.js';
import { ISTIO_LABELS, type IstioLabel } from '../../api/istio-labels.js';
export type IstioLabels = Record<IstioLabel, string>;

/** TCP metrics carry no HTTP outcome labels (Istio leaves response_code, grpc status and protocol "tcp"). */
export const ISTIO_TCP_LABELS = ISTIO_LABELS.filter((l) => l !== 'response_code' && l !== 'grpc_response_status');

/** Istio's default duration buckets (ms), Envoy's default histogram buckets. */
export const DURATION_BUCKETS_MS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** Istio's size buckets (bytes): the same Envoy defaults. Istio's stats filter gives its byte histograms
 * no buckets of its own and its bootstrap sets `histogram_bucket_settings` only from the
 * `sidecar.istio.io/statsHistogramBuckets` annotation, so a sidecar reports 0.5 … 3600000 for sizes too
 * (the powers of ten were Mixer's, before telemetry v2). */
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

  /** The series for `key`; `labels` is only called (and its result rendered) the first time. With
   * a stats config's overrides (its id and header values must be part of `key`), a dropped metric
   * records into a detached child and an overridden one gets its own labels. */
  request(key: string, grpc: boolean, labels: () => IstioLabels, cfg?: StatsConfig, header: HeaderReader = noHeader): RequestSeries {
    let s = this.requestSeries.get(key);
    if (!s) {
      const l = labels();
      if (this.requestSeries.size >= this.maxSeries) {
        this.overflow.value++;
        key = overflowKey(l) + (grpc ? '|g' : '') + (cfg?.id ? `|${cfg.id}` : '');
        const known = this.requestSeries.get(key);
        if (known) return known;
      }
      const child = childMaker(key, l, ISTIO_LABELS, cfg, header);
      s = {
        requests: child(this.requests, 'requests_total'),
        duration: child(this.duration, 'request_duration_milliseconds'),
        requestBytes: child(this.requestBytes, 'request_bytes'),
        responseBytes: child(this.responseBytes, 'response_bytes'),
        requestMessages: grpc ? child(this.requestMessages, 'request_messages_total') : undefined,
        responseMessages: grpc ? child(this.responseMessages, 'response_messages_total') : undefined,
      };
      this.requestSeries.set(key, s);
    }
    return s;
  }

  tcp(key: string, labels: () => IstioLabels, cfg?: StatsConfig): TcpSeries {
    let s = this.tcpSeries.get(key);
    if (!s) {
      const l = labels();
      if (this.tcpSeries.size >= this.maxSeries) {
        this.overflow.value++;
        key = overflowKey(l) + (cfg?.id ? `|${cfg.id}` : '');
        const known = this.tcpSeries.get(key);
        if (known) return known;
      }
      const child = childMaker(key, l, ISTIO_TCP_LABELS, cfg, noHeader);
      s = {
        opened: child(this.tcpOpened, 'tcp_connections_opened_total'),
        closed: child(this.tcpClosed, 'tcp_connections_closed_total'),
        sent: child(this.tcpSent, 'tcp_sent_bytes_total'),
        received: child(this.tcpReceived, 'tcp_received_bytes_total'),
      };
      this.tcpSeries.set(key, s);
    }
    return s;
  }
}

export type HeaderReader = (name: string) => string | undefined;
const noHeader: HeaderReader = () => undefined;

interface FamilyOf<C> {
  child(key: string, values: readonly string[]): C;
  detached(): C;
}

/** Children of one outcome: the plain label values, or per metric its override's. */
function childMaker(key: string, l: IstioLabels, names: readonly IstioLabel[], cfg: StatsConfig | undefined, header: HeaderReader) {
  const plain = names.map((n) => l[n]);
  return <C>(family: FamilyOf<C>, metric: StatsMetric): C => {
    const o = cfg?.overrides.get(metric);
    if (!o) return family.child(key, plain);
    if (o.drop) return family.detached();
    const v = overriddenLabels(o, l, header);
    return family.child(key, names.map((n) => v[n]));
  };
}

/** The labels of one metric under an override: removed ones empty (Prometheus reads an empty label
 * as no label), literals as given, a header's value or "unknown" (TCP has no headers). */
export function overriddenLabels(o: MetricOverride, labels: IstioLabels, header: HeaderReader): IstioLabels {
  const out = { ...labels };
  for (const [tag, v] of o.labels) out[tag] = v.kind === 'remove' ? '' : v.kind === 'literal' ? v.value : (header(v.name) ?? UNKNOWN);
  return out;
}
