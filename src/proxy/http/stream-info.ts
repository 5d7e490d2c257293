// One record per request (Envoy's StreamInfo). The connection manager creates it; route selection,
// the filters, the router and each upstream attempt fill it; it is finalized exactly once when the
// stream ends, and that final record is what stats, the access logs (and the metrics, traces and
// outlier detection to come) read. tcp_proxy keeps one per connection too (protocol undefined), as
// Envoy does, so one access-log formatter serves both. Failures are typed here, not errno strings.
import type { PeerWorkload } from '../../api/peer-metadata.js';
import type { ResponseFlag } from './response-flags.js';

/** Why an upstream attempt failed. */
export type UpstreamFailure = 'connect' | 'timeout' | 'reset' | 'overflow' | 'protocol';

export type StreamProtocol = 'HTTP/1.0' | 'HTTP/1.1' | 'HTTP/2';

/** A sampled request's trace context (telemetry/tracing): the span this proxy reports and its parent. */
export interface StreamTrace {
  traceId: string;
  spanId: string;
  /** The caller's span; undefined: this proxy started the trace. */
  parentSpanId: string | undefined;
  traceState: string;
  /** spawn_upstream_span: the CLIENT child span for the upstream request (its id went upstream). */
  upstreamSpanId: string | undefined;
}

export class StreamInfo {
  /** Epoch ms when the request head was complete. */
  readonly startTime = Date.now();
  private readonly startedAt = performance.now();
  /** undefined: a tcp_proxy connection. */
  protocol: StreamProtocol | undefined;
  routeName = '';
  virtualHostName = '';
  clusterName = '';
  /** "ip:port" of the host that served the last attempt, and this proxy's end of that connection. */
  upstreamHost = '';
  upstreamLocalAddress = '';
  attempts = 0;
  /** The status sent downstream (0: none was sent). */
  responseCode = 0;
  /** Short machine-readable reason for a local reply or failure (e.g. `upstream_connect_failure`). */
  details = '';
  /** Why the downstream connection was closed by the proxy (Envoy's CONNECTION_TERMINATION_DETAILS); '' when it was not. */
  connectionTerminationDetails = '';
  readonly responseFlags: ResponseFlag[] = [];
  /** x-request-id as the request left the connection manager (generated when absent). */
  requestId = '';
  /** Set only when the request is sampled: unsampled requests carry no trace object. */
  trace: StreamTrace | undefined;
  /** The last upstream attempt's failure, if it failed. */
  upstreamFailure: UpstreamFailure | undefined;
  /** Why the last upstream TLS handshake failed or its peer was refused (with upstreamFailure 'connect'). */
  upstreamTlsFailure: string | undefined;
  /** The upstream peer's identity (its certificate's URI SANs) and the TLS version, when TLS was used. */
  upstreamPeerUriSans: readonly string[] = [];
  upstreamTlsVersion = '';
  /** Peer metadata (api/peer-metadata.ts) as the other sidecar sent it: the downstream's from the
   * request, the upstream's from the response (raw header values; the stats filter decodes them). */
  downstreamPeer: string | undefined;
  upstreamPeer: string | undefined;
  /** The chosen upstream endpoint's workload, from its EDS metadata. */
  upstreamWorkload: PeerWorkload | undefined;
  /** grpc-status of a gRPC response (headers of a trailers-only reply, or trailers); '' when none. */
  grpcStatus = '';
  /** gRPC messages (length-prefixed frames) each way, counted for gRPC streams only. */
  requestMessages = 0;
  responseMessages = 0;
  /** Request body bytes received from downstream, response body bytes sent to it. */
  bytesReceived = 0;
  bytesSent = 0;
  /** ms since the start: first response byte from upstream, and the end of the stream. */
  firstUpstreamByteMs: number | undefined;
  durationMs: number | undefined;
  private completed = false;

  constructor(protocol: StreamProtocol | undefined) {
    this.protocol = protocol;
  }

  addFlag(flag: ResponseFlag): void {
    if (!this.responseFlags.includes(flag)) this.responseFlags.push(flag);
  }

  hasFlag(flag: ResponseFlag): boolean {
    return this.responseFlags.includes(flag);
  }

  /** Envoy's %RESPONSE_FLAGS% form: codes joined by commas, `-` for none. */
  get flagString(): string {
    return this.responseFlags.length === 0 ? '-' : this.responseFlags.join(',');
  }

  markFirstUpstreamByte(): void {
    this.firstUpstreamByteMs ??= performance.now() - this.startedAt;
  }

  get finalized(): boolean {
    return this.completed;
  }

  /** Seal the record; returns false if it was already sealed (the stream ends once). */
  finalize(): boolean {
    if (this.completed) return false;
    this.completed = true;
    this.durationMs = performance.now() - this.startedAt;
    return true;
  }
}
