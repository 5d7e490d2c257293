// envoy.access_loggers.open_telemetry at run time: OTLP log records over gRPC to the collector of
// the config's cluster, through the OpenTelemetry JS SDK (a LoggerProvider whose batch processor
// queues records, bounded, and exports every buffer_flush_interval), so the request path only hands
// a record over. One sink per (cluster, log name), shared by every logger naming it. The collector
// address is the cluster's endpoint picked when the first record is emitted (the collector is a
// service outside the mesh: plaintext gRPC, as Istio's envoyOtelAls provider connects).
import { LoggerProvider, BatchLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import { LogsExporterMetricsHelper, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Logger } from '@opentelemetry/api-logs';
import type { ClusterManager } from '../../upstream/cluster-manager.js';
import type { OtelAccessLogConfig } from './otel-config.js';
import type { OtelLogRecord, OtelLogSink } from './logger.js';
import { SinkRegistry } from './sinks.js';

/** Records the SDK's batch processor queues per sink; past it, it drops new ones. */
const MAX_QUEUE = 8192;

class OtlpGrpcLogExporter extends OTLPExporterBase<ReadableLogRecord[]> {
  constructor(url: string) {
    super(
      createOtlpGrpcExportDelegate(
        convertLegacyOtlpGrpcOptions({ url }, 'LOGS'),
        ProtobufLogsSerializer,
        'weft_otlp_grpc_log_exporter',
        LogsExporterMetricsHelper,
        undefined,
        'LogsExportService',
        '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      ),
    );
  }
}

/** access_logs.otel.*: records handed to the SDK, and records dropped because the cluster had no endpoint. */
export interface OtelStats {
  records: number;
  dropped_records: number;
}

export interface OtelSinksOptions {
  clusters: ClusterManager;
  /** Envoy's builtin resource labels: node_name (node id), cluster_name (node cluster). */
  node: { id: string; cluster: string };
}

export class OtelLogSinks {
  readonly stats: OtelStats = { records: 0, dropped_records: 0 };
  private readonly sinks = new SinkRegistry<ClusterOtelSink>();

  constructor(private readonly o: OtelSinksOptions) {}

  sink(config: OtelAccessLogConfig): OtelLogSink {
    return this.sinks.get(`${config.cluster}|${config.logName}`, () => new ClusterOtelSink(config, this.o, this.stats));
  }

  flush(): Promise<void> {
    return this.sinks.flush();
  }

  close(): Promise<void> {
    return this.sinks.close();
  }
}

class ClusterOtelSink implements OtelLogSink {
  private provider: LoggerProvider | undefined;
  private logger: Logger | undefined;

  constructor(
    private readonly config: OtelAccessLogConfig,
    private readonly o: OtelSinksOptions,
    private readonly stats: OtelStats,
  ) {}

  emit(record: OtelLogRecord): void {
    const logger = this.logger ?? this.start();
    if (!logger) {
      this.stats.dropped_records++;
      return;
    }
    this.stats.records++;
    logger.emit({ timestamp: record.timeMs, body: record.body, attributes: record.attributes });
  }

  private start(): Logger | undefined {
    const host = this.o.clusters.get(this.config.cluster)?.pick(undefined, undefined);
    if (!host) return undefined;
    const exporter = new OtlpGrpcLogExporter(`http://${host.ip.includes(':') ? `[${host.ip}]` : host.ip}:${host.port}`);
    const c = this.config;
    const attributes: Record<string, string> = c.builtinLabels ? { log_name: c.logName, node_name: this.o.node.id, cluster_name: this.o.node.cluster, ...c.resourceAttributes } : { ...c.resourceAttributes };
    const processor = new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: c.flushIntervalMs, maxQueueSize: MAX_QUEUE });
    this.provider = new LoggerProvider({ resource: resourceFromAttributes(attributes), processors: [processor] });
    this.logger = this.provider.getLogger('weft-access-log');
    return this.logger;
  }

  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }

  async close(): Promise<void> {
    await this.provider?.shutdown();
  }
}
