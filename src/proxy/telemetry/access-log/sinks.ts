// Where access-log lines go: one sink per path for the whole proxy (every logger naming the same
// file shares it, as Envoy's access-log manager does). Lines are buffered and written in batches off
// the request path: the first line of an event-loop turn schedules one write of everything buffered
// by then, and lines arriving while a write is under way go in the next. Files are opened once
// (append) and reopened after an error; /dev/stdout and /dev/stderr are the process's own streams.
// The buffer is bounded: past it, lines are dropped and counted (access_logs.file.dropped_lines),
// so a stuck disk or a reader that stopped reading costs memory up to the bound, never the event loop.
import fs from 'node:fs/promises';

/** Counters under Envoy's `access_logs.file.` names, plus the lines dropped at the buffer bound. */
export interface AccessLogStats {
  write_buffered: number;
  write_completed: number;
  write_failed: number;
  reopen_failed: number;
  dropped_lines: number;
}

export const newAccessLogStats = (): AccessLogStats => ({ write_buffered: 0, write_completed: 0, write_failed: 0, reopen_failed: 0, dropped_lines: 0 });

/** Default bound per sink. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface LineSink {
  write(line: string): void;
  /** Resolves once everything buffered so far was written (or failed). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** How a batch reaches its destination: true when written. */
type Writer = { write(batch: string): Promise<boolean>; close(): Promise<void> };

class BufferedSink implements LineSink {
  private chunks: string[] = [];
  private bytes = 0;
  private scheduled = false;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly writer: Writer,
    private readonly stats: AccessLogStats,
    private readonly maxBytes: number,
  ) {}

  write(line: string): void {
    if (this.bytes + line.length > this.maxBytes) {
      this.stats.dropped_lines++;
      return;
    }
    this.chunks.push(line);
    this.bytes += line.length;
    this.stats.write_buffered++;
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    if (this.writing || this.chunks.length === 0) return;
    const lines = this.chunks.length;
    const batch = lines === 1 ? this.chunks[0] : this.chunks.join('');
    this.chunks = [];
    this.bytes = 0;
    this.writing = this.writer.write(batch).then((ok) => {
      if (ok) this.stats.write_completed++;
      else {
        this.stats.write_failed++;
        this.stats.dropped_lines += lines;
      }
      this.writing = undefined;
      if (this.chunks.length > 0) this.drain();
    });
  }

  async flush(): Promise<void> {
    while (this.writing || this.chunks.length > 0) {
      if (!this.writing) this.drain();
      await this.writing;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    await this.writer.close();
  }
}

/** A file opened once for append, reopened on the next batch after a failure. */
function fileWriter(path: string, stats: AccessLogStats, log: (msg: string) => void): Writer {
  let handle: fs.FileHandle | undefined;
  let reported = false;
  const report = (what: string, err: unknown) => {
    // Once per failure streak: a full disk must not turn into a log line per batch.
    if (!reported) log(`access log ${path}: ${what}: ${(err as Error).message}`);
    reported = true;
  };
  return {
    async write(batch) {
      if (!handle) {
        try {
          handle = await fs.open(path, 'a');
        } catch (err) {
          stats.reopen_failed++;
          report('open failed', err);
          return false;
        }
      }
      try {
        await handle.appendFile(batch);
        reported = false;
        return true;
      } catch (err) {
        report('write failed', err);
        const h = handle;
        handle = undefined;
        await h.close().catch(() => {});
        return false;
      }
    },
    async close() {
      await handle?.close().catch(() => {});
      handle = undefined;
    },
  };
}

/** The process's stdout or stderr: one write per batch, waiting for it to be taken. */
function streamWriter(stream: NodeJS.WriteStream): Writer {
  return {
    write: (batch) => new Promise((resolve) => stream.write(batch, (err) => resolve(!err))),
    close: async () => {},
  };
}

/** Sinks by key, created on first use, flushed and closed together (file and OTLP sinks alike). */
export class SinkRegistry<S extends { flush(): Promise<void>; close(): Promise<void> }> {
  private readonly sinks = new Map<string, S>();

  get(key: string, create: () => S): S {
    let s = this.sinks.get(key);
    if (!s) this.sinks.set(key, (s = create()));
    return s;
  }

  async flush(): Promise<void> {
    await Promise.all([...this.sinks.values()].map((s) => s.flush()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.sinks.values()].map((s) => s.close()));
    this.sinks.clear();
  }
}

/** The proxy's line sinks by path, and their shared counters. */
export class AccessLogSinks {
  readonly stats = newAccessLogStats();
  private readonly sinks = new SinkRegistry<LineSink>();

  constructor(private readonly o: { log?: (msg: string) => void; maxBufferedBytes?: number } = {}) {}

  sink(path: string): LineSink {
    return this.sinks.get(path, () => {
      const writer = path === '/dev/stdout' ? streamWriter(process.stdout) : path === '/dev/stderr' ? streamWriter(process.stderr) : fileWriter(path, this.stats, this.o.log ?? (() => {}));
      return new BufferedSink(writer, this.stats, this.o.maxBufferedBytes ?? MAX_BUFFERED_BYTES);
    });
  }

  flush(): Promise<void> {
    return this.sinks.flush();
  }

  close(): Promise<void> {
    return this.sinks.close();
  }
}
