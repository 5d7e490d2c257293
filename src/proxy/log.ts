// The proxy's leveled, named loggers (Envoy's model: one level per logger, changed live through the
// admin's POST /logging). A disabled level costs one boolean read at the call site: hot paths write
// `if (log.debugOn) log.debug(`…`)`, so no message is built unless it will be printed.
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Envoy's logger names, the ones this proxy writes to. */
export const LOGGER_NAMES = ['admin', 'config', 'http', 'main', 'upstream'] as const;
export type LoggerName = (typeof LOGGER_NAMES)[number];

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

const rank = (l: LogLevel) => LOG_LEVELS.indexOf(l);

export class Logger {
  /** Read on hot paths before building a message. */
  debugOn = false;
  traceOn = false;
  private min = rank('info');

  constructor(
    readonly name: LoggerName,
    private readonly sink: (line: string) => void,
    level: LogLevel,
  ) {
    this.setLevel(level);
  }

  get level(): LogLevel {
    return LOG_LEVELS[this.min];
  }

  setLevel(level: LogLevel): void {
    this.min = rank(level);
    this.debugOn = this.min <= rank('debug');
    this.traceOn = this.min <= rank('trace');
  }

  trace(msg: string): void {
    if (this.traceOn) this.sink(`[trace][${this.name}] ${msg}`);
  }

  debug(msg: string): void {
    if (this.debugOn) this.sink(`[debug][${this.name}] ${msg}`);
  }

  /** Info lines keep the proxy's historical shape (no tag), which its users and tests read. */
  info(msg: string): void {
    if (this.min <= rank('info')) this.sink(msg);
  }

  warn(msg: string): void {
    if (this.min <= rank('warning')) this.sink(`[warning][${this.name}] ${msg}`);
  }

  error(msg: string): void {
    if (this.min <= rank('error')) this.sink(`[error][${this.name}] ${msg}`);
  }
}

/** A change asked through /logging: every logger (`level=debug`) or named ones (`http=debug`). */
export type LogLevelChange = { all: LogLevel } | { each: Partial<Record<LoggerName, LogLevel>> };

export class Loggers {
  private readonly byName: Record<LoggerName, Logger>;

  constructor(sink: (line: string) => void, level: LogLevel = 'info') {
    this.byName = Object.fromEntries(LOGGER_NAMES.map((n) => [n, new Logger(n, sink, level)])) as Record<LoggerName, Logger>;
  }

  get(name: LoggerName): Logger {
    return this.byName[name];
  }

  apply(change: LogLevelChange): void {
    if ('all' in change) for (const l of Object.values(this.byName)) l.setLevel(change.all);
    else for (const [name, level] of Object.entries(change.each)) this.byName[name as LoggerName].setLevel(level!);
  }

  levels(): Record<LoggerName, LogLevel> {
    return Object.fromEntries(LOGGER_NAMES.map((n) => [n, this.byName[n].level])) as Record<LoggerName, LogLevel>;
  }
}

/** The query of POST /logging (`?level=debug`, `?http=debug&config=trace`, or nothing: a listing),
 * every problem named. Envoy's parameters. */
export function parseLogLevelQuery(params: URLSearchParams): { ok: true; change?: LogLevelChange } | { ok: false; error: string } {
  const entries = [...params.entries()];
  if (entries.length === 0) return { ok: true };
  const bad: string[] = [];
  const level = (v: string, key: string): LogLevel | undefined => {
    if (isLogLevel(v)) return v;
    bad.push(`${key}=${v}: unknown level (one of ${LOG_LEVELS.join(', ')})`);
    return undefined;
  };
  if (entries.length === 1 && entries[0][0] === 'level') {
    const l = level(entries[0][1], 'level');
    return l ? { ok: true, change: { all: l } } : { ok: false, error: bad.join('; ') };
  }
  const each: Partial<Record<LoggerName, LogLevel>> = {};
  for (const [k, v] of entries) {
    if (!(LOGGER_NAMES as readonly string[]).includes(k)) {
      bad.push(`${k}: unknown logger (one of ${LOGGER_NAMES.join(', ')}, or level=LEVEL for all)`);
      continue;
    }
    const l = level(v, k);
    if (l) each[k as LoggerName] = l;
  }
  return bad.length ? { ok: false, error: bad.join('; ') } : { ok: true, change: { each } };
}

/** Envoy's /logging answer: the loggers and their levels. */
export function renderLogLevels(levels: Record<string, LogLevel>): string {
  return `active loggers:\n${Object.entries(levels).map(([n, l]) => `  ${n}: ${l}\n`).join('')}`;
}
