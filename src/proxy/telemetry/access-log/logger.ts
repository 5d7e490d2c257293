// The access loggers of one HCM or tcp_proxy at run time: each a compiled filter, a compiled format
// and a sink resolved once when the config is applied. Per finished request: the filter, one
// string built, one buffered write. Nothing waits on I/O here.
import type { AccessLogConfig } from './config.js';
import type { LogInput } from './log-input.js';
import { renderText } from './operators.js';
import type { OtelAccessLogConfig } from './otel-config.js';
import type { AccessLogSinks } from './sinks.js';

/** One OTLP log record, as the OpenTelemetry sink exports it. */
export interface OtelLogRecord {
  timeMs: number;
  body: string | undefined;
  attributes: Record<string, string>;
}

export interface OtelLogSink {
  emit(record: OtelLogRecord): void;
}

export interface AccessLogDeps {
  sinks: AccessLogSinks;
  /** The OTLP sink for a config (one per collector cluster and log name, kept by the proxy). */
  otel(config: OtelAccessLogConfig): OtelLogSink;
}

export type AccessLogger = (i: LogInput) => void;

export function createAccessLoggers(configs: readonly AccessLogConfig[], deps: AccessLogDeps | undefined): AccessLogger[] {
  if (!deps || configs.length === 0) return [];
  return configs.map((c) => {
    const filter = c.filter;
    const emit = emitter(c, deps);
    return filter ? (i) => filter(i) && emit(i) : emit;
  });
}

function emitter(c: AccessLogConfig, deps: AccessLogDeps): (i: LogInput) => void {
  const s = c.sink;
  if (s.kind === 'file') {
    const sink = deps.sinks.sink(s.path);
    const format = s.format;
    return (i) => sink.write(format.format(i));
  }
  const sink = deps.otel(s);
  const { body, attributes } = s;
  return (i) => {
    const attrs: Record<string, string> = {};
    for (const [k, parts] of attributes) attrs[k] = renderText(parts, i, false);
    sink.emit({ timeMs: i.info.startTime, body: body && renderText(body, i, false), attributes: attrs });
  };
}

/** Run every logger on a finished request (a logger's own failure never reaches the stream). */
export function logAll(loggers: readonly AccessLogger[], i: LogInput): void {
  for (const log of loggers) log(i);
}
