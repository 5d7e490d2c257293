// The embedded config store: a directory of Istio-API YAML files, watched. Each file is one unit: if
// an edit breaks it, the file's last good resources keep being served and the errors are exposed, so
// one typo never takes routes away from the rest of the mesh.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { configFingerprint, emptyConfigSet, mergeConfig, stableJson } from '../../config/config-set.js';
import { compareConfigErrors, formatConfigError } from '../../config/errors.js';
import { OffThreadParser } from '../../config/parse-off-thread.js';
import { DEFAULT_CONFIG_LIMITS, readConfigFile, readError, type ConfigLimits } from '../../config/parse.js';
import type { ConfigError, MeshResource, SkippedResource } from '../../config/types.js';
import type { ConfigStore, SourceStatus, StoreState } from './store.js';

export interface FileConfigStoreOptions {
  dir: string;
  log?: (msg: string) => void;
  /** Quiet time after a change event before reloading. Small: an edit must reach proxies within 1s. */
  debounceMs?: number;
  /** Safety re-scan for missed watch events (network filesystems, a replaced directory); 0 disables. */
  pollMs?: number;
  /** Bounds on file and document size (a larger one is an error for that file alone). */
  limits?: Partial<ConfigLimits>;
  /** Heap of the parser's worker thread (MiB). */
  parserHeapMb?: number;
}

interface FileEntry {
  /** Text of the latest read, to skip re-parsing unchanged files; undefined after a failed read. */
  text?: string;
  /** Resources of the latest clean parse; undefined if the file never parsed cleanly. */
  lastGood?: MeshResource[];
  errors: ConfigError[];
  skipped: SkippedResource[];
  loadedAt: string;
  /** Seen empty / missing by one scan; the next scan confirms (see scanOnce). */
  emptyOnce?: boolean;
  goneOnce?: boolean;
}

const CONFIG_FILE = /\.ya?ml$/i;

export class FileConfigStore implements ConfigStore {
  private readonly dir: string;
  private readonly log: (msg: string) => void;
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly limits: ConfigLimits;
  /** Files are parsed off the event loop, so a large one never stalls /ready or the xDS streams. */
  private readonly parser: OffThreadParser;
  private readonly entries = new Map<string, FileEntry>();
  private readonly listeners = new Set<(s: StoreState) => void>();
  private state: StoreState = { version: 0, config: emptyConfigSet(), errors: [], skipped: [], files: {} };
  private fingerprint = '';
  private watcher?: FSWatcher;
  private watchedIno?: number;
  private debounceTimer?: NodeJS.Timeout;
  private maxWaitTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private rescan = false;
  private closed = false;

  constructor(opts: FileConfigStoreOptions) {
    this.dir = opts.dir;
    this.log = opts.log ?? (() => {});
    this.debounceMs = Math.max(0, opts.debounceMs ?? 30);
    this.pollMs = opts.pollMs ?? 2000;
    this.limits = { ...DEFAULT_CONFIG_LIMITS, ...opts.limits };
    this.parser = new OffThreadParser({ maxHeapMb: opts.parserHeapMb });
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.watchDir();
    await this.scan();
    if (this.pollMs > 0) {
      this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
      this.pollTimer.unref();
    }
  }

  current(): StoreState {
    return this.state;
  }

  onChange(cb: (s: StoreState) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.debounceTimer);
    clearTimeout(this.maxWaitTimer);
    clearInterval(this.pollTimer);
    await this.scanning;
    await this.parser.close();
  }

  /** Watches the directory itself: editors that save via a temp file + rename show up as 'rename'. */
  private async watchDir(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    try {
      this.watchedIno = (await stat(this.dir)).ino;
      const w = watch(this.dir, () => this.schedule());
      w.on('error', (e) => {
        this.log(`config: watching ${this.dir} failed (${e.message}); falling back to re-scans`);
        w.close();
        if (this.watcher === w) this.watcher = undefined;
      });
      this.watcher = w;
    } catch (e) {
      this.log(`config: cannot watch ${this.dir}: ${(e as Error).message}`);
    }
  }

  /** Trailing debounce, with a cap so a constant stream of events still gets loaded. */
  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounceTimer);
    const fire = () => {
      clearTimeout(this.debounceTimer);
      clearTimeout(this.maxWaitTimer);
      this.debounceTimer = this.maxWaitTimer = undefined;
      void this.scan();
    };
    this.debounceTimer = setTimeout(fire, this.debounceMs);
    this.maxWaitTimer ??= setTimeout(fire, Math.max(this.debounceMs * 5, 100));
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    // The directory may have been deleted or swapped (a ConfigMap volume): re-watch what is there now.
    const ino = await stat(this.dir).then((s) => s.ino, () => undefined);
    if (ino !== undefined && (ino !== this.watchedIno || !this.watcher)) await this.watchDir();
    await this.scan();
  }

  /** Runs one scan at a time; a request during a scan causes exactly one more scan afterwards. */
  private scan(): Promise<void> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescan = false;
        try {
          await this.scanOnce();
        } catch (e) {
          this.log(`config: scanning ${this.dir} failed: ${(e as Error).message}`);
        }
      } while (this.rescan && !this.closed);
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let names: string[];
    try {
      // Dotfiles are editor droppings (.#x.yaml locks) or ConfigMap internals (..data).
      names = (await readdir(this.dir)).filter((n) => CONFIG_FILE.test(n) && !n.startsWith('.')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      names = []; // the directory is gone: so are its files
    }
    const reads = await Promise.all(names.map((n) => this.read(join(this.dir, n))));
    if (this.closed) return;

    const present = new Set<string>();
    for (const r of reads) {
      if (r.kind === 'gone') continue;
      present.add(r.file);
      const prev = this.entries.get(r.file);
      if (prev) prev.goneOnce = false;
      if (r.kind === 'text' && prev?.text === r.text) {
        prev.emptyOnce = false;
        continue;
      }
      // Editors that truncate then write show an empty file for a moment, and some move the old
      // file away before writing the new one: confirm an emptied or vanished file on one more scan
      // (a debounce later) so proxies do not see routes flap.
      if (r.kind === 'text' && r.text === '' && prev?.text && !prev.emptyOnce) {
        prev.emptyOnce = true;
        this.schedule();
        continue;
      }
      this.entries.set(r.file, r.kind === 'text' ? await this.load(r.file, r.text, prev) : this.failed(r.file, r.error, prev));
      if (this.closed) return;
    }
    for (const [file, entry] of [...this.entries]) {
      if (present.has(file)) continue;
      if (!entry.goneOnce && entry.lastGood?.length) {
        entry.goneOnce = true;
        this.schedule();
        continue;
      }
      this.entries.delete(file);
      this.log(`config: ${file} removed; its resources are withdrawn`);
    }
    this.publish();
  }

  private async read(file: string): Promise<{ kind: 'text'; file: string; text: string } | { kind: 'error'; file: string; error: ConfigError } | { kind: 'gone' }> {
    try {
      if (!(await stat(file)).isFile()) return { kind: 'gone' };
    } catch (e) {
      // Deleted between readdir and read (or a dangling symlink): treat as absent.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
      return { kind: 'error', file, error: readError(file, e) };
    }
    const r = await readConfigFile(file, this.limits.maxFileBytes);
    if (r.kind === 'text') return { kind: 'text', file, text: r.text };
    return r.cause?.code === 'ENOENT' ? { kind: 'gone' } : { kind: 'error', file, error: r.error };
  }

  private async load(file: string, text: string, prev: FileEntry | undefined): Promise<FileEntry> {
    const result = await this.parser.parse(text, file, this.limits);
    const loadedAt = new Date().toISOString();
    if (result.ok) {
      const skipped = result.skipped.map((k) => `${k.kind} ${k.namespace}/${k.name}`).join(', ');
      this.log(`config: loaded ${file} (${result.resources.length} resources${skipped ? `; skipped kinds Weft does not handle yet: ${skipped}` : ''})`);
      return { text, lastGood: result.resources, errors: [], skipped: result.skipped, loadedAt };
    }
    for (const e of result.errors) this.log(`config: ${formatConfigError(e)}`);
    this.log(`config: ${file} has ${result.errors.length} error(s); ${keptMessage(prev?.lastGood)}`);
    return { text, lastGood: prev?.lastGood, errors: result.errors, skipped: result.skipped, loadedAt };
  }

  private failed(file: string, e: ConfigError, prev: FileEntry | undefined): FileEntry {
    // The same error on every re-scan is logged once.
    const line = formatConfigError(e);
    if (prev?.errors.length !== 1 || formatConfigError(prev.errors[0]) !== line) this.log(`config: ${line}; ${keptMessage(prev?.lastGood)}`);
    // No text: the next scan retries the read.
    return { lastGood: prev?.lastGood, errors: [e], skipped: prev?.skipped ?? [], loadedAt: new Date().toISOString() };
  }

  /** Recomputes the merged state; bumps the version and notifies only on a real change. */
  private publish(): void {
    const files = [...this.entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const merged = mergeConfig(files.map(([file, e]) => ({ file, resources: e.lastGood ?? [] })));
    const errors = [...files.flatMap(([, e]) => e.errors), ...merged.errors].sort(compareConfigErrors);
    const skipped = files.flatMap(([, e]) => e.skipped);
    const status: Record<string, SourceStatus> = {};
    for (const [file, e] of files) {
      status[file] = { ok: e.errors.length === 0, resources: e.lastGood?.length ?? 0, errors: e.errors.length, loadedAt: e.loadedAt };
    }

    const fingerprint = `${configFingerprint(merged.config)}\n${stableJson(errors)}`;
    const changed = fingerprint !== this.fingerprint;
    if (changed) {
      const before = new Set(this.state.errors.map(formatConfigError));
      for (const e of merged.errors) {
        const line = formatConfigError(e);
        if (!before.has(line)) this.log(`config: ${line}`);
      }
    }
    this.fingerprint = fingerprint;
    this.state = { version: this.state.version + (changed ? 1 : 0), config: merged.config, errors, skipped, files: status };
    if (!changed) return;
    for (const cb of [...this.listeners]) {
      try {
        cb(this.state);
      } catch (e) {
        this.log(`config: change listener failed: ${(e as Error).message}`);
      }
    }
  }
}

function keptMessage(lastGood: MeshResource[] | undefined): string {
  return lastGood ? `still serving its last good version (${lastGood.length} resources)` : 'it contributes nothing until it is fixed';
}
