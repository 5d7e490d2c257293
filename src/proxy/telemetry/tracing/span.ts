// A finished stream's span(s), built once from its record (StreamInfo) when the connection manager
// finalizes it. Attributes are Envoy's HTTP tracer tags (source/common/tracing/http_tracer_impl.cc):
// node_id, zone, guid:x-request-id, http.url, http.method, http.protocol, downstream_cluster,
// user_agent, peer.address, request_size, response_size, upstream_cluster(.name), upstream_address,
// http.status_code, response_flags, error; plus the other side's workload when the peer metadata
// exchange told it (peer.workload, peer.namespace, peer.app, peer.version). The objects are plain
// ReadableSpans for the SDK's batch processor: no Tracer, no context API, nothing for unsampled streams.
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import { TraceState, type InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { PeerWorkload } from '../../../api/peer-metadata.js';
import type { HttpStream } from '../../http/stream.js';
import type { StreamTrace } from '../../http/stream-info.js';

/** What is the same for every span of one HCM: resolved once when the HCM is built. */
export interface SpanTemplate {
  resource: Resource;
  scope: InstrumentationScope;
  /** node_id, zone and the literal / environment custom tags. */
  fixed: Attributes;
  /** request_header custom tags: tag, header name, default. */
  headerTags: ReadonlyArray<readonly [string, string, string]>;
  maxPathTagLength: number;
  /** The HCM span's kind (SERVER inbound, CLIENT outbound; SERVER with an upstream child span). */
  kind: SpanKind;
  /** The default span name when the route has no decorator (`<host>:<port>/*`, Istio's). */
  defaultName(stream: HttpStream): string;
  /** The other side's workload, if known. */
  peer(stream: HttpStream): PeerWorkload | undefined;
}

const SAMPLED_NOT_REMOTE = { traceFlags: TraceFlags.SAMPLED, isRemote: false } as const;

function hrTime(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}

function header(stream: HttpStream, name: string): string | undefined {
  const v = stream.req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function spanOf(o: { name: string; kind: SpanKind; ctx: SpanContext; parent: SpanContext | undefined; start: HrTime; end: HrTime; durationMs: number; attributes: Attributes; error: boolean; t: SpanTemplate }): ReadableSpan {
  const seconds = Math.floor(o.durationMs / 1000);
  return {
    name: o.name,
    kind: o.kind,
    spanContext: () => o.ctx,
    parentSpanContext: o.parent,
    startTime: o.start,
    endTime: o.end,
    duration: [seconds, Math.round((o.durationMs - seconds * 1000) * 1e6)],
    status: o.error ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.UNSET },
    attributes: o.attributes,
    links: [],
    events: [],
    ended: true,
    resource: o.t.resource,
    instrumentationScope: o.t.scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** The HCM's span, and with spawn_upstream_span its upstream child; [] never (trace is set). */
export function streamSpans(stream: HttpStream, trace: StreamTrace, t: SpanTemplate): ReadableSpan[] {
  const info = stream.info;
  const code = info.responseCode;
  // Envoy's error tag: a 5xx, or no response at all (reset, timeout before headers).
  const error = code >= 500 || code === 0;
  const url = `http://${stream.authority}${stream.url}`;
  const attributes: Attributes = {
    ...t.fixed,
    'guid:x-request-id': info.requestId,
    'http.url': url.length > t.maxPathTagLength ? url.slice(0, t.maxPathTagLength) : url,
    'http.method': stream.method,
    'http.protocol': info.protocol,
    downstream_cluster: header(stream, 'x-envoy-downstream-service-cluster') ?? '-',
    user_agent: header(stream, 'user-agent') ?? '-',
    'peer.address': stream.connection.remoteAddress ?? '',
    request_size: info.bytesReceived,
    response_size: info.bytesSent,
    upstream_cluster: info.clusterName || '-',
    'upstream_cluster.name': info.clusterName || '-',
    upstream_address: info.upstreamHost || '-',
    'http.status_code': String(code),
    response_flags: info.flagString,
  };
  if (error) attributes.error = true;
  for (const [tag, name, dflt] of t.headerTags) {
    const v = header(stream, name) ?? dflt;
    if (v) attributes[tag] = v;
  }
  const peer = t.peer(stream);
  if (peer) {
    attributes['peer.workload'] = peer.workload;
    attributes['peer.namespace'] = peer.namespace;
    if (peer.app) attributes['peer.app'] = peer.app;
    if (peer.version) attributes['peer.version'] = peer.version;
  }
  const name = stream.route?.decorator?.operation || t.defaultName(stream);
  const durationMs = info.durationMs ?? 0;
  const start = hrTime(info.startTime);
  const end = hrTime(info.startTime + durationMs);
  const traceState = trace.traceState ? new TraceState(trace.traceState) : undefined;
  const ctx: SpanContext = { traceId: trace.traceId, spanId: trace.spanId, ...SAMPLED_NOT_REMOTE, ...(traceState ? { traceState } : {}) };
  const parent: SpanContext | undefined = trace.parentSpanId ? { traceId: trace.traceId, spanId: trace.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true } : undefined;
  const main = spanOf({ name, kind: t.kind, ctx, parent, start, end, durationMs, attributes, error, t });
  if (!trace.upstreamSpanId) return [main];
  // The upstream request's span: from the first attempt to the end of the stream (one per stream,
  // not per attempt; the attempts are in the record's `attempts`).
  const child = spanOf({
    name: `router ${info.clusterName || '-'} egress`,
    kind: SpanKind.CLIENT,
    ctx: { traceId: trace.traceId, spanId: trace.upstreamSpanId, ...SAMPLED_NOT_REMOTE, ...(traceState ? { traceState } : {}) },
    parent: ctx,
    start,
    end,
    durationMs,
    attributes: { ...attributes, 'upstream.attempts': info.attempts },
    error,
    t,
  });
  return [main, child];
}
