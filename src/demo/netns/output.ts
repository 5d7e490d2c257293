// What a process started in a pod prints: kept (bounded) for error messages, copied to a log file when
// one is given, and waited on for a readiness line.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

export class ProcessOutput {
  private text = '';
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    logFile?: string,
  ) {
    const log = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : undefined;
    const keep = (b: Buffer) => {
      log?.write(b);
      this.text += b.toString();
      if (this.text.length > 200_000) this.text = this.text.slice(-100_000);
      for (const w of this.waiters) w();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => {
      for (const w of this.waiters) w();
      log?.end();
    });
  }

  output(): string {
    return this.text;
  }

  /** Resolves when the output matches; rejects when the process exits first or after timeoutMs. */
  waitFor(line: RegExp, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`${this.name}: no ${line} after ${timeoutMs} ms: ${this.text.slice(-2000)}`)), timeoutMs);
      const check = () => {
        if (line.test(this.text)) done();
        else if (this.child.exitCode !== null || this.child.signalCode !== null) done(new Error(`${this.name} exited (${this.child.signalCode ?? this.child.exitCode}): ${this.text.slice(-2000)}`));
      };
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(check);
      check();
    });
  }
}
