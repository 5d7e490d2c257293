// Tracing for one HttpConnectionManager (its `tracing` field), called by the connection manager at
// the two ends of a stream, as Envoy's HCM does (tracing is not an HTTP filter there either: it
// must see every stream, local replies included, and its span is the stream's). start() runs on the
// request head: extract the caller's context, keep an upstream decision or sample anew, and write
// this proxy's span id upstream. finish() runs on the finalized record: a sampled stream becomes a
// span for the provider's batch processor. An unsampled stream costs header parsing and, when it
// starts the trace or lacks a decision, one traceparent written — no span, no SDK call.
import { randomFillSync } from 'node:crypto';
import { SpanKind, type Attributes } from '@opentelemetry/api';
import { WEFT_VERSION } from '../../../api/version.js';
import type { HttpStream } from '../../http/stream.js';
import type { HcmTracing, TrafficDirection } from '../../xds/model.js';
import type { ProxyTelemetry } from '../telemetry.js';
import { extractContext, injectContext } from './propagation.js';
import type { SpanPipeline, TraceProviders } from './providers.js';
import { streamSpans, type SpanTemplate } from './span.js';

export interface TracingDeps {
  /** This proxy's Node: node_id and zone attributes. */
  nodeId: string;
  zone: string;
  providers: TraceProviders;
  /** Decodes peer metadata (absent: metrics off; the peer is then known from EDS only). */
  telemetry: ProxyTelemetry | undefined;
  random: () => number;
}

const idPool = Buffer.alloc(4096);
let idOffset = idPool.length;
/** `bytes` random bytes as hex (trace ids 16, span ids 8), from a pool refilled 4 KiB at a time. */
export function randomHex(bytes: number): string {
  if (idOffset + bytes > idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  const s = idPool.toString('hex', idOffset, idOffset + bytes);
  idOffset += bytes;
  return s;
}

export class HcmTracer {
  private readonly pipeline: SpanPipeline | undefined;
  private readonly template: SpanTemplate | undefined;
  private readonly egress: boolean;

  constructor(
    private readonly config: HcmTracing,
    direction: TrafficDirection,
    private readonly deps: TracingDeps,
  ) {
    // Envoy: a listener's traffic_direction OUTBOUND is egress (CLIENT span); anything else ingress.
    this.egress = direction === 'OUTBOUND';
    this.pipeline = config.provider ? deps.providers.pipeline(config.provider) : undefined;
    if (!this.pipeline) return;
    const fixed: Attributes = { node_id: deps.nodeId, zone: deps.zone, component: 'proxy' };
    const headerTags: [string, string, string][] = [];
    for (const t of config.customTags) {
      if (t.kind === 'literal') fixed[t.tag] = t.value;
      else if (t.kind === 'environment') fixed[t.tag] = process.env[t.name] ?? t.defaultValue;
      else headerTags.push([t.tag, t.name, t.defaultValue]);
    }
    const telemetry = deps.telemetry;
    const egress = this.egress;
    this.template = {
      resource: this.pipeline.resource,
      scope: { name: 'weft', version: WEFT_VERSION },
      fixed,
      headerTags,
      maxPathTagLength: config.maxPathTagLength,
      kind: egress && !config.spawnUpstreamSpan ? SpanKind.CLIENT : SpanKind.SERVER,
      defaultName: (s) => `${s.authority}/*`,
      peer: (s) =>
        egress ? (telemetry?.peer(s.info.upstreamPeer) ?? s.info.upstreamWorkload) : telemetry?.peer(s.info.downstreamPeer),
    };
  }

  /** The request head, after route selection and before the filters. */
  start(stream: HttpStream): void {
    const headers = stream.req.headers;
    const incoming = extractContext(headers);
    const c = this.config;
    let sampled = incoming?.sampled;
    if (sampled === undefined) {
      const clientTraced = headers['x-client-trace-id'] !== undefined;
      sampled = this.deps.random() * 100 < (clientTraced ? c.clientSampling : c.randomSampling);
      if (!sampled && clientTraced) sampled = this.deps.random() * 100 < c.randomSampling;
      if (sampled && c.overallSampling < 100) sampled = this.deps.random() * 100 < c.overallSampling;
    } else if (!sampled && incoming!.traceId) {
      // Not sampled upstream, with ids: forward the caller's context as it is (nothing to write).
      return;
    }
    const traceId = incoming?.traceId ?? randomHex(16);
    const spanId = randomHex(8);
    const upstreamSpanId = sampled && c.spawnUpstreamSpan ? randomHex(8) : undefined;
    const b3 = incoming?.b3 ?? 'none';
    injectContext(headers, { traceId, spanId: upstreamSpanId ?? spanId, sampled, traceState: incoming?.traceState ?? '', b3 });
    const decorator = stream.route?.decorator;
    if (this.egress && decorator?.propagate) headers['x-envoy-decorator-operation'] = decorator.operation;
    if (!sampled) return;
    stream.info.trace = { traceId, spanId, parentSpanId: incoming?.parentSpanId, traceState: incoming?.traceState ?? '', upstreamSpanId };
  }

  /** The finalized record: a sampled stream's span(s) go to the provider. */
  finish(stream: HttpStream): void {
    const trace = stream.info.trace;
    if (!trace || !this.pipeline) return;
    for (const span of streamSpans(stream, trace, this.template!)) this.pipeline.submit(span);
  }
}
