// config.accesslog.v3.AccessLog entries (HttpConnectionManager.access_log, TcpProxy.access_log) →
// typed, compiled configs: the filter as one predicate, the format parsed once. Loggers:
// envoy.access_loggers.file (FileAccessLog), envoy.access_loggers.stdout/stderr (Stdout/StderrAccessLog)
// and envoy.access_loggers.open_telemetry (OTLP logs, otel-config.ts). Anything else is a NACK.
import { anyTypeUrl, has, join, list, obj, str, type Problems, type Raw } from '../../xds/validate-common.js';
import { accessLogFilter, type LogPredicate } from './filters.js';
import { ENVOY_DEFAULT_FORMAT, jsonFormatter, structObject, substitutionFormat, textFormatter, type LineFormatter } from './formatter.js';
import { OTEL_ACCESS_LOG_TYPE_URL, otelAccessLog, type OtelAccessLogConfig } from './otel-config.js';

export const FILE_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
export const STDOUT_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
export const STDERR_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog';

export type AccessLogSinkConfig = { kind: 'file'; path: string; format: LineFormatter } | OtelAccessLogConfig;

export interface AccessLogConfig {
  name: string;
  /** undefined: every request is logged. */
  filter: LogPredicate | undefined;
  sink: AccessLogSinkConfig;
}

export function accessLogs(raw: unknown, path: string, p: Problems): AccessLogConfig[] {
  const out: AccessLogConfig[] = [];
  list(raw).forEach((entry, i) => {
    const at = `${path}[${i}]`;
    const o = obj(entry);
    for (const k of Object.keys(o)) if (!['name', 'filter', 'typed_config'].includes(k) && o[k] !== undefined && o[k] !== null) p.add(join(at, k), 'not supported');
    const filter = has(o, 'filter') ? accessLogFilter(obj(o.filter), join(at, 'filter'), p) : undefined;
    const sink = accessLogSink(obj(o.typed_config), join(at, 'typed_config'), p);
    if (sink) out.push({ name: str(o.name), filter, sink });
  });
  return out;
}

function accessLogSink(cfg: Raw, path: string, p: Problems): AccessLogSinkConfig | undefined {
  const type = anyTypeUrl(cfg);
  switch (type) {
    case FILE_ACCESS_LOG_TYPE_URL:
      return fileAccessLog(cfg, path, p);
    case STDOUT_ACCESS_LOG_TYPE_URL:
    case STDERR_ACCESS_LOG_TYPE_URL: {
      onlyFields(cfg, ['log_format'], path, p);
      const format = has(cfg, 'log_format') ? substitutionFormat(obj(cfg.log_format), join(path, 'log_format'), p) : textFormatter(ENVOY_DEFAULT_FORMAT, path, p);
      return { kind: 'file', path: type === STDOUT_ACCESS_LOG_TYPE_URL ? '/dev/stdout' : '/dev/stderr', format };
    }
    case OTEL_ACCESS_LOG_TYPE_URL:
      return otelAccessLog(cfg, path, p);
    default:
      p.add(path, `unsupported access logger type ${type || '(none)'} (supported: FileAccessLog, StdoutAccessLog, StderrAccessLog, OpenTelemetryAccessLogConfig)`);
      return undefined;
  }
}

function fileAccessLog(cfg: Raw, path: string, p: Problems): AccessLogSinkConfig {
  onlyFields(cfg, ['path', 'log_format', 'format', 'json_format', 'typed_json_format'], path, p);
  const file = str(cfg.path);
  if (!file) p.add(join(path, 'path'), 'is required');
  let format: LineFormatter;
  if (has(cfg, 'log_format')) format = substitutionFormat(obj(cfg.log_format), join(path, 'log_format'), p);
  else if (typeof cfg.format === 'string' && cfg.format !== '') format = textFormatter(cfg.format, join(path, 'format'), p);
  else if (has(cfg, 'json_format')) format = jsonFormatter(structObject(cfg.json_format), join(path, 'json_format'), p);
  else if (has(cfg, 'typed_json_format')) format = jsonFormatter(structObject(cfg.typed_json_format), join(path, 'typed_json_format'), p);
  else format = textFormatter(ENVOY_DEFAULT_FORMAT, path, p);
  return { kind: 'file', path: file, format };
}

function onlyFields(cfg: Raw, known: readonly string[], path: string, p: Problems): void {
  for (const k of Object.keys(cfg)) if (k !== '@type' && !known.includes(k) && cfg[k] !== undefined && cfg[k] !== null && cfg[k] !== '') p.add(join(path, k), 'not supported');
}
