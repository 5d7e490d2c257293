// The embedded metrics source: the control plane scrapes each registered proxy's telemetry port
// (/stats/prometheus, the port its node metadata reports) every few seconds into a MetricWindow.
// Bounded: scrapes at a time, targets per round, bytes per answer, and a timeout per scrape; one
// slow or broken proxy is reported on the dashboard and never holds up the others.
import http from 'node:http';
import { isIPv6 } from 'node:net';
import type { MeshRates, MetricsSource } from './edges.js';
import { parseWanted } from './exposition.js';
import { MetricWindow } from './window.js';

export interface ScrapeTarget {
  /** The proxy's node id. */
  id: string;
  address: string;
  port: number;
}

export interface ScrapeStatus {
  at: string;
  ok: boolean;
  error?: string;
  samples: number;
  ms: number;
}

export interface ProxyScraperOptions {
  targets: () => ScrapeTarget[];
  intervalMs: number;
  /** How far back samples are kept (default 5 min). */
  windowMs?: number;
  maxSeries?: number;
  maxTargets?: number;
  concurrency?: number;
  timeoutMs?: number;
  maxBytes?: number;
  log?: (msg: string) => void;
}

export const SCRAPE_DEFAULTS = { windowMs: 5 * 60_000, maxSeries: 50_000, maxTargets: 2_000, concurrency: 8, timeoutMs: 2_000, maxBytes: 16 * 1024 * 1024 } as const;

export class ProxyScraper implements MetricsSource {
  readonly kind = 'embedded' as const;
  readonly window: MetricWindow;
  private readonly o: Required<Omit<ProxyScraperOptions, 'log'>> & Pick<ProxyScraperOptions, 'log'>;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private readonly statuses = new Map<string, ScrapeStatus>();
  private skippedTargets = 0;
  private closed = false;

  constructor(opts: ProxyScraperOptions) {
    this.o = { ...SCRAPE_DEFAULTS, ...opts };
    this.window = new MetricWindow({ windowMs: this.o.windowMs, maxSamples: Math.ceil(this.o.windowMs / Math.max(1, this.o.intervalMs)) + 2, maxSeries: this.o.maxSeries });
  }

  start(): void {
    if (this.timer || this.closed) return;
    const tick = () => {
      if (this.closed) return;
      // A round that outlasts the interval delays the next one; rounds never overlap.
      this.round ??= this.scrapeOnce().finally(() => {
        this.round = undefined;
        if (!this.closed) this.timer = setTimeout(tick, this.o.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Scrape every target once (a round); resolves when all have answered or timed out. */
  async scrapeOnce(): Promise<void> {
    const all = this.o.targets();
    const targets = all.slice(0, this.o.maxTargets);
    this.skippedTargets = all.length - targets.length;
    const live = new Set(targets.map((t) => t.id));
    for (const name of this.window.targetNames()) if (!live.has(name)) this.window.forget(name);
    for (const id of this.statuses.keys()) if (!live.has(id)) this.statuses.delete(id);
    let next = 0;
    const worker = async () => {
      while (next < targets.length && !this.closed) {
        const t = targets[next++];
        const started = Date.now();
        try {
          const text = await this.fetchText(t);
          const samples = parseWanted(text);
          this.window.ingest(t.id, Date.now(), samples);
          this.statuses.set(t.id, { at: new Date().toISOString(), ok: true, samples: samples.length, ms: Date.now() - started });
        } catch (err) {
          this.statuses.set(t.id, { at: new Date().toISOString(), ok: false, error: (err as Error).message, samples: 0, ms: Date.now() - started });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, targets.length) }, worker));
  }

  private fetchText(t: ScrapeTarget): Promise<string> {
    const host = isIPv6(t.address) ? `[${t.address}]` : t.address;
    return new Promise((resolve, reject) => {
      const req = http.get({ host: t.address, port: t.port, path: '/stats/prometheus', headers: { host: `${host}:${t.port}`, accept: 'text/plain;version=0.0.4' }, timeout: this.o.timeoutMs }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > this.o.maxBytes) req.destroy(new Error(`answer larger than ${this.o.maxBytes} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
      req.on('error', reject);
    });
  }

  /** Per proxy: its last scrape. */
  status(): Record<string, ScrapeStatus> {
    return Object.fromEntries(this.statuses);
  }

  async read(rangeSeconds: number): Promise<MeshRates> {
    const errors = [...this.statuses].filter(([, s]) => !s.ok).map(([id, s]) => `scrape ${id}: ${s.error}`);
    if (this.skippedTargets) errors.push(`${this.skippedTargets} proxies not scraped (more than ${this.o.maxTargets})`);
    if (this.window.droppedSeries) errors.push(`${this.window.droppedSeries} series dropped (more than ${this.o.maxSeries})`);
    return { source: 'embedded', errors, ...this.window.rates(rangeSeconds, Date.now()) };
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
