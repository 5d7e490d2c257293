// Listeners at run time. Bound sockets are keyed by address, so an LDS update that keeps a
// listener's address swaps its config in place (in-flight and keep-alive connections carry
// on); a new address binds first and the whole update is refused (NACK) if any bind fails —
// nothing changes until every new socket is ready. Removed listeners stop accepting and drain.
import type { HcmRuntime } from '../http/connection-manager.js';
import { Http1Server, type DownstreamRequest, type DownstreamResponse } from '../http1/server.js';
import type { HttpConnectionManager, Listener } from '../xds/model.js';
import { FilterChainSelector } from './filter-chain.js';

export interface ListenerManagerOptions {
  buildHcm: (config: HttpConnectionManager) => HcmRuntime;
  log?: (msg: string) => void;
  /** How long a removed listener's connections may take to finish before they are cut. */
  drainTimeoutMs?: number;
}

const DRAIN_POLL_MS = 100;

export class ActiveListener {
  config: Listener;
  readonly server: Http1Server;
  private selector: FilterChainSelector<HcmRuntime>;
  draining = false;
  private drainPromise: Promise<void> | undefined;

  constructor(config: Listener, selector: FilterChainSelector<HcmRuntime>) {
    this.config = config;
    this.selector = selector;
    this.server = new Http1Server({
      onRequest: (req, res) => this.onRequest(req, res),
      // No chain for this connection: close it, as Envoy does.
      acceptConnection: (socket) => this.selector.select(socket) !== undefined,
    });
    this.applyTimeouts();
  }

  get name(): string {
    return this.config.name;
  }

  /** The bound port (differs from config when it asked for port 0). */
  get port(): number {
    return this.server.port || this.config.address.port;
  }

  bind(): Promise<void> {
    return this.server.listen(this.config.address.host, this.config.address.port);
  }

  /** In-place update: new chains serve the next request on every connection. */
  update(config: Listener, selector: FilterChainSelector<HcmRuntime>): void {
    this.config = config;
    this.selector = selector;
    this.applyTimeouts();
  }

  private applyTimeouts(): void {
    const first = this.config.filterChains[0] ?? this.config.defaultFilterChain;
    if (!first) return;
    this.server.keepAliveTimeoutMs = first.hcm.idleTimeoutMs;
    // HCM request_timeout: time to receive the whole request.
    this.server.requestTimeoutMs = first.hcm.requestTimeoutMs;
  }

  private onRequest(req: DownstreamRequest, res: DownstreamResponse): void {
    const hcm = this.selector.select(req.socket);
    if (!hcm) {
      req.socket.destroy();
      return;
    }
    // While draining, answer what is in flight and close each connection after its response.
    if (this.draining) res.closeConnectionAfter();
    hcm.handle(req, res);
  }

  /** Stop accepting; let open requests finish (up to timeoutMs), then cut what is left. */
  drain(timeoutMs: number): Promise<void> {
    this.drainPromise ??= new Promise<void>((resolve) => {
      this.draining = true;
      const poll = setInterval(() => this.server.closeIdleConnections(), DRAIN_POLL_MS);
      const deadline = setTimeout(() => this.server.closeAllConnections(), timeoutMs);
      void this.server.close().then(() => {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      });
      this.server.closeIdleConnections();
    });
    return this.drainPromise;
  }

  destroy(): void {
    this.draining = true;
    void this.server.close();
    this.server.closeAllConnections();
  }
}

export class ListenerManager {
  private readonly byKey = new Map<string, ActiveListener>();
  private readonly draining = new Set<Promise<void>>();
  private readonly o: ListenerManagerOptions;

  constructor(o: ListenerManagerOptions) {
    this.o = o;
  }

  list(): ActiveListener[] {
    return [...this.byKey.values()];
  }

  get(name: string): ActiveListener | undefined {
    for (const l of this.byKey.values()) if (l.name === name) return l;
    return undefined;
  }

  /** Apply a full LDS set. Returns errors (and changes nothing) if any new address cannot bind. */
  async apply(listeners: readonly Listener[]): Promise<string[]> {
    const errors: string[] = [];
    const desired = new Map<string, Listener>();
    for (const l of listeners) {
      const key = keyOf(l);
      const other = desired.get(key);
      if (other) errors.push(`listener ${l.name}: address: ${l.address.host}:${l.address.port} is also used by listener ${other.name}`);
      else desired.set(key, l);
    }
    if (errors.length > 0) return errors;
    const selectors = new Map<string, FilterChainSelector<HcmRuntime>>();
    for (const [key, l] of desired) selectors.set(key, this.selectorFor(l));
    const fresh = new Map<string, ActiveListener>();
    for (const [key, l] of desired) {
      if (this.byKey.has(key)) continue;
      const al = new ActiveListener(l, selectors.get(key)!);
      try {
        await al.bind();
        fresh.set(key, al);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        errors.push(`listener ${l.name}: address: cannot bind ${l.address.host}:${l.address.port}: ${code} [WEFT_E_LISTENER_BIND]`);
        al.destroy();
      }
    }
    if (errors.length > 0) {
      for (const al of fresh.values()) al.destroy();
      return errors;
    }
    for (const [key, al] of this.byKey) {
      if (desired.has(key)) continue;
      this.byKey.delete(key);
      this.o.log?.(`listener ${al.name}: removed; draining`);
      this.track(al.drain(this.o.drainTimeoutMs ?? 5_000));
    }
    for (const [key, l] of desired) {
      const existing = this.byKey.get(key);
      if (existing) existing.update(l, selectors.get(key)!);
      else {
        this.byKey.set(key, fresh.get(key)!);
        this.o.log?.(`listener ${l.name}: listening on ${l.address.host}:${fresh.get(key)!.port}`);
      }
    }
    return [];
  }

  private selectorFor(l: Listener): FilterChainSelector<HcmRuntime> {
    const chains = l.filterChains.map((fc) => ({ match: fc.match, value: this.o.buildHcm(fc.hcm) }));
    const fallback = l.defaultFilterChain ? this.o.buildHcm(l.defaultFilterChain.hcm) : undefined;
    return new FilterChainSelector(chains, fallback);
  }

  private track(p: Promise<void>): void {
    this.draining.add(p);
    void p.finally(() => this.draining.delete(p));
  }

  /** Drain every listener (graceful shutdown). */
  async close(): Promise<void> {
    const timeout = this.o.drainTimeoutMs ?? 5_000;
    const all = [...this.byKey.values()].map((l) => l.drain(timeout));
    this.byKey.clear();
    await Promise.all([...all, ...this.draining]);
  }

  destroy(): void {
    for (const l of this.byKey.values()) l.destroy();
    this.byKey.clear();
  }
}

function keyOf(l: Listener): string {
  // Port 0 asks for any free port: two such listeners never share a socket.
  return l.address.port === 0 ? `${l.address.host}|0|${l.name}` : `${l.address.host}|${l.address.port}`;
}
