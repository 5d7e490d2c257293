// Periodic DNS resolution for STRICT_DNS / LOGICAL_DNS clusters (dns_refresh_rate).
// A failed lookup keeps the last good addresses, as Envoy does.
import dns from 'node:dns';
import { isIP } from 'node:net';
import type { LbEndpoint } from '../xds/model.js';

export interface ResolvedEndpoint extends LbEndpoint {
  /** The configured name (host is now an IP). */
  hostname: string;
}

export interface DnsResolverOptions {
  endpoints: readonly LbEndpoint[];
  family: 0 | 4 | 6;
  refreshMs: number;
  /** LOGICAL_DNS: use only the first address of each name. */
  firstOnly: boolean;
  onUpdate: (endpoints: ResolvedEndpoint[]) => void;
  log?: (msg: string) => void;
  lookup?: typeof dns.promises.lookup;
}

export class DnsResolver {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly last = new Map<string, string[]>();
  private running = false;

  constructor(private readonly o: DnsResolverOptions) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.o.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const lookup = this.o.lookup ?? dns.promises.lookup;
    try {
      const names = [...new Set(this.o.endpoints.map((e) => e.host))];
      await Promise.all(
        names.map(async (name) => {
          if (isIP(name)) return this.last.set(name, [name]);
          try {
            const found = await lookup(name, { all: true, family: this.o.family });
            const ips = found.map((a) => a.address);
            this.last.set(name, this.o.firstOnly ? ips.slice(0, 1) : ips);
          } catch (err) {
            this.o.log?.(`dns: cannot resolve ${name}: ${(err as Error).message} (keeping ${this.last.get(name)?.length ?? 0} addresses)`);
          }
        }),
      );
      if (this.stopped) return;
      const out: ResolvedEndpoint[] = [];
      for (const e of this.o.endpoints) {
        for (const ip of this.last.get(e.host) ?? []) out.push({ ...e, host: ip, hostname: e.host });
      }
      this.o.onUpdate(out);
    } finally {
      this.running = false;
    }
  }
}
