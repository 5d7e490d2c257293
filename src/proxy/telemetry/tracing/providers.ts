// The proxy's span pipelines, one per distinct provider config: a BatchSpanProcessor (bounded queue,
// export off the request path, a full queue drops spans and counts them) in front of the cluster
// exporter. HCMs rebuilt by a listener update with the same provider share the pipeline, so an LDS
// push neither loses queued spans nor opens new ones. close() flushes what is queued.
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { TraceProvider } from '../../xds/model.js';
import { ClusterOtlpExporter, type ExportStats } from './exporter.js';

/** Spans held for export at most (the SDK's default); beyond it new spans are dropped. */
export const MAX_QUEUED_SPANS = 2048;
/** close() waits this long for the last exports (a collector that is gone must not hold a shutdown). */
const CLOSE_FLUSH_MS = 2000;

export interface SpanPipeline {
  readonly resource: Resource;
  /** Hand a finished span over; never blocks, never throws. */
  submit(span: ReadableSpan): void;
}

export interface TracingStats extends ExportStats {
  spans_started: number;
  spans_dropped: number;
}

/** Spans per export (the SDK's default is 512). */
const EXPORT_BATCH_SPANS = 32;

export class TraceProviders {
  readonly stats: TracingStats = { spans_started: 0, spans_sent: 0, spans_failed: 0, export_failed: 0, spans_dropped: 0 };
  private readonly pipelines = new Map<string, { processor: BatchSpanProcessor; pipeline: SpanPipeline }>();

  constructor(private readonly clusters: ClusterManager) {}

  pipeline(provider: TraceProvider): SpanPipeline {
    const key = JSON.stringify(provider);
    const existing = this.pipelines.get(key);
    if (existing) return existing.pipeline;
    const exporter = new ClusterOtlpExporter(provider.exporter, this.clusters, this.stats);
    // Delay and timeout follow the SDK (and its OTEL_BSP_* environment variables); the queue bound is
    // fixed so a stalled collector costs bounded memory. Batches are small unless the environment says
    // otherwise, as Envoy's tracer flushes them (min_flush_spans 5): one export then serializes a few
    // dozen spans between requests instead of 512 at once.
    const batch = process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE ? {} : { maxExportBatchSize: EXPORT_BATCH_SPANS };
    const processor = new BatchSpanProcessor(exporter, { maxQueueSize: MAX_QUEUED_SPANS, ...batch });
    const stats = this.stats;
    const pipeline: SpanPipeline = {
      resource: resourceFromAttributes({ 'service.name': provider.serviceName || 'unknown_service:weft' }),
      submit(span) {
        // Spans neither exported nor failed yet are in the queue (or in an export under way).
        if (stats.spans_started - stats.spans_sent - stats.spans_failed >= MAX_QUEUED_SPANS) {
          stats.spans_dropped++;
          return;
        }
        stats.spans_started++;
        processor.onEnd(span);
      },
    };
    this.pipelines.set(key, { processor, pipeline });
    return pipeline;
  }

  /** Export what is queued (close, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.pipelines.values()].map((p) => p.processor.forceFlush().catch(() => {})));
  }

  async close(): Promise<void> {
    const all = [...this.pipelines.values()];
    this.pipelines.clear();
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_FLUSH_MS).unref()));
    await Promise.race([Promise.all(all.map((p) => p.processor.shutdown().catch(() => {}))), cap]);
    clearTimeout(timer);
  }
}
