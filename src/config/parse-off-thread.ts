// Parsing YAML off the event loop: a large file takes seconds and hundreds of MiB to parse, and on the
// control plane's main thread that would stall /ready and every xDS stream. One worker thread parses
// one file at a time, under a heap limit of its own: a file that exhausts it ends the worker, not the
// process, and becomes an error for that file (the next parse starts a fresh worker).
import { Worker } from 'node:worker_threads';
import { rememberFingerprints } from './config-set.js';
import { DEFAULT_CONFIG_LIMITS, WHOLE_FILE, type ConfigLimits } from './parse.js';
import type { ParseResult } from './types.js';

export interface OffThreadParserOptions {
  /** Old-generation heap of the worker (MiB). */
  maxHeapMb?: number;
}

const RECYCLE_AFTER_CHARS = 1024 * 1024;

type Job = { id: number; file: string; text: string; limits: Pick<ConfigLimits, 'maxDocumentBytes'>; resolve: (r: ParseResult) => void };

export class OffThreadParser {
  private worker: Worker | undefined;
  private readonly queue: Job[] = [];
  private current: Job | undefined;
  private nextId = 0;
  private closed = false;

  constructor(private readonly o: OffThreadParserOptions = {}) {}

  parse(text: string, file: string, limits: Pick<ConfigLimits, 'maxDocumentBytes'> = DEFAULT_CONFIG_LIMITS): Promise<ParseResult> {
    if (this.closed) return Promise.resolve(failure(file, 'the config parser is closed'));
    return new Promise((resolve) => {
      this.queue.push({ id: ++this.nextId, file, text, limits: { maxDocumentBytes: limits.maxDocumentBytes }, resolve });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.resolve(failure(j.file, 'the config parser is closed'));
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private pump(): void {
    if (this.current || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    const w = this.ensureWorker();
    w.ref(); // a parse in flight keeps the process alive; an idle worker does not
    w.postMessage({ id: job.id, file: job.file, text: job.text, limits: job.limits });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./parse-worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.o.maxHeapMb ?? 512 },
    });
    w.unref();
    w.on('message', (m: { id: number; result?: ParseResult; fingerprints?: string[]; error?: string }) => {
      const job = this.current;
      if (!job || job.id !== m.id) return;
      if (m.result && m.fingerprints) rememberFingerprints(m.result.resources, m.fingerprints);
      this.finish(m.result ?? failure(job.file, `parsing failed: ${m.error}`));
    });
    const died = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      const job = this.current;
      if (job) this.finish(failure(job.file, why));
    };
    w.on('error', (e: Error & { code?: string }) =>
      died(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `parsing needs more than the parser's ${this.o.maxHeapMb ?? 512} MiB of memory` : `parsing failed: ${e.message}`),
    );
    w.on('exit', (code) => died(`the parser exited (code ${code})`));
    this.worker = w;
    return w;
  }

  private finish(result: ParseResult): void {
    const job = this.current!;
    this.current = undefined;
    job.resolve(result);
    this.worker?.unref();
    // A large parse leaves the worker's heap grown: let it go rather than keep that memory for the
    // small edits that follow (a fresh worker costs a few tens of ms).
    if (job.text.length > RECYCLE_AFTER_CHARS && this.worker) {
      const w = this.worker;
      this.worker = undefined;
      void w.terminate();
    }
    this.pump();
  }
}

function failure(file: string, message: string): ParseResult {
  return { ok: false, errors: [{ code: 'WEFT_E_PARSE_LIMIT', file, document: WHOLE_FILE, path: '', message }], resources: [], skipped: [] };
}
