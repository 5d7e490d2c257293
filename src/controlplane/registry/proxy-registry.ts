// Universal-mode service registry: a proxy's workload exists while its ADS stream is up, and for a
// short grace period after, so that a reconnect does not flap its endpoint out of every load balancer.
import type { ProxyNode } from '../model/proxy-node.js';

interface Entry {
  node: ProxyNode;
  streams: number;
  removal?: NodeJS.Timeout;
}

export class ProxyRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<() => void>();
  private cached: ProxyNode[] | undefined;

  constructor(private readonly opts: { graceMs: number }) {}

  /** Registers the stream's node; the returned function is called when the stream ends. */
  connect(node: ProxyNode): () => void {
    const existing = this.entries.get(node.id);
    if (existing) {
      clearTimeout(existing.removal);
      existing.removal = undefined;
      existing.streams++;
      if (JSON.stringify(existing.node) !== JSON.stringify(node)) {
        existing.node = node;
        this.changed();
      }
    } else {
      this.entries.set(node.id, { node, streams: 1 });
      this.changed();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const e = this.entries.get(node.id);
      if (!e || --e.streams > 0) return;
      e.removal = setTimeout(() => {
        this.entries.delete(node.id);
        this.changed();
      }, this.opts.graceMs);
      e.removal.unref();
    };
  }

  proxies(): ProxyNode[] {
    this.cached ??= [...this.entries.values()].map((e) => e.node).sort((a, b) => (a.id < b.id ? -1 : 1));
    return this.cached;
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  close(): void {
    for (const e of this.entries.values()) clearTimeout(e.removal);
  }

  private changed(): void {
    this.cached = undefined;
    for (const cb of this.listeners) cb();
  }
}
