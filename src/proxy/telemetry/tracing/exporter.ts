// OTLP span export to a host of an xDS cluster, as Envoy's OpenTelemetry tracer reaches its collector
// through a named cluster: the batch is serialized by the OpenTelemetry serializer (protobuf
// ExportTraceServiceRequest) and sent over the cluster's own pools — OTLP/HTTP as a POST on the
// HTTP/1.1 pool, OTLP/gRPC as TraceService/Export on the HTTP/2 pool — so the collector's address,
// its load balancing and its transport socket (TLS included) all come from CDS/EDS. The SDK's OTLP
// exporters would need a fixed URL and a socket of their own beside the cluster manager.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { UpstreamPool } from '../../upstream/pool.js';
import type { OtlpExporterConfig } from '../../xds/model.js';

export const OTLP_GRPC_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** Export outcomes, shown in the proxy's stats as tracing.otlp.* (Envoy's tracing.opentelemetry.*). */
export interface ExportStats {
  spans_sent: number;
  /** Spans of failed exports, and the failed exports themselves. */
  spans_failed: number;
  export_failed: number;
}

function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export class ClusterOtlpExporter implements SpanExporter {
  private closed = false;

  constructor(
    private readonly config: OtlpExporterConfig,
    private readonly clusters: ClusterManager,
    readonly stats: ExportStats,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const fail = (why: string) => {
      this.stats.export_failed++;
      this.stats.spans_failed += spans.length;
      done({ code: ExportResultCode.FAILED, error: new Error(`trace export to ${this.config.cluster}: ${why}`) });
    };
    if (this.closed) return fail('exporter closed');
    const message = ProtobufTraceSerializer.serializeRequest(spans);
    if (!message) return fail('serialization failed');
    const host = this.clusters.get(this.config.cluster)?.pick();
    if (!host) return fail('no healthy host in the cluster');
    const c = this.config;
    const grpc = c.kind === 'grpc';
    const body = grpc ? grpcFrame(message) : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    const headers: Record<string, string> = grpc
      ? { host: c.authority, 'content-type': 'application/grpc', te: 'trailers', 'content-length': String(body.length) }
      : { host: c.authority, 'content-type': 'application/x-protobuf', 'content-length': String(body.length) };
    for (const [k, v] of c.headers) headers[k] = v;
    const pool: UpstreamPool = host.poolFor(grpc ? 'http2' : 'http1');
    let status = 0;
    let grpcStatus: string | undefined;
    let settled = false;
    const settle = (why: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      host.onRequestEnd();
      if (why) return fail(why);
      this.stats.spans_sent += spans.length;
      done({ code: ExportResultCode.SUCCESS });
    };
    // Counted as a request of the host, so least-request balancing sees exports in flight.
    host.onRequestStart();
    const exchange = pool.request(
      { method: 'POST', path: grpc ? OTLP_GRPC_EXPORT_PATH : (c as { path: string }).path, headers, body },
      {
        onResponse: (s, _m, h) => {
          status = s;
          if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
        },
        onData: () => {},
        onTrailers: (t) => {
          if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']);
        },
        onEnd: () => {
          if (status < 200 || status >= 300) return settle(`HTTP ${status}`);
          if (grpc && grpcStatus !== '0') return settle(`grpc-status ${grpcStatus ?? '(none)'}`);
          settle(undefined);
        },
        onError: (err) => settle(err.code ?? err.message),
      },
    );
    const timer = setTimeout(() => {
      exchange.abort();
      settle(`timed out after ${c.timeoutMs} ms`);
    }, c.timeoutMs);
    timer.unref();
  }

  async shutdown(): Promise<void> {
    this.closed = true;
  }

  async forceFlush(): Promise<void> {}
}
