// One bound listener: it owns a plain net.Server and, for each accepted connection, enforces the
// overload cap, runs the listener filters (protocol detection, only when the chain depends on it),
// selects the filter chain once, wraps the socket in the chain's transport (raw today; TLS next)
// and hands it to the chain's terminal network filter.
import net from 'node:net';
import type { ListenerLoad } from '../http/connection-manager.js';
import type { FilterChain, Listener } from '../xds/model.js';
import { createTerminal, type ChainTerminal, type TerminalFactory } from './chain-terminal.js';
import { attachConnectionInfo, type ConnectionInfo } from './connection-info.js';
import { FilterChainSelector } from './filter-chain.js';
import { detectProtocol } from './listener-filters.js';

export interface ListenerStats {
  downstream_cx_total: number;
  downstream_cx_active: number;
  /** Closed at once: no filter chain matched (Envoy's no_filter_chain_match). */
  no_filter_chain_match: number;
  /** Refused by the overload manager's global connection cap. */
  downstream_cx_overflow: number;
  /** Protocol detection ran out of time (listener_filters_timeout). */
  downstream_listener_filter_timeout: number;
}

/** Downstream connections across all listeners (the overload manager's global cap). */
export interface ConnectionBudget {
  active: number;
  readonly max: number;
}

export class ActiveListener {
  config: Listener;
  readonly stats: ListenerStats = {
    downstream_cx_total: 0,
    downstream_cx_active: 0,
    no_filter_chain_match: 0,
    downstream_cx_overflow: 0,
    downstream_listener_filter_timeout: 0,
  };
  /** Requests in flight on this listener (the overload manager's per-listener cap). */
  readonly load: ListenerLoad;
  private readonly server: net.Server;
  private terminals = new Map<string, ChainTerminal>();
  private selector: FilterChainSelector<ChainTerminal>;
  private readonly retiring = new Set<Promise<void>>();
  draining = false;
  private drainPromise: Promise<void> | undefined;

  constructor(
    config: Listener,
    private readonly factory: TerminalFactory,
    private readonly budget: ConnectionBudget,
    private readonly drainTimeoutMs: number,
    maxActiveRequests: number,
  ) {
    this.config = config;
    this.load = { active: 0, maxActiveRequests };
    this.selector = this.build(config);
    // Half-open both ways: HTTP clients may half-close after a request, and tcp_proxy passes FINs on.
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.onConnection(socket));
  }

  get name(): string {
    return this.config.name;
  }

  /** The bound port (differs from config when it asked for port 0). */
  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : this.config.address.port;
  }

  get connections(): number {
    let n = 0;
    for (const t of this.terminals.values()) n += t.connections;
    return n;
  }

  bind(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: this.config.address.host, port: this.config.address.port, exclusive: true }, () => {
        this.server.off('error', reject);
        this.server.on('error', () => {}); // later errors are per connection
        resolve();
      });
    });
  }

  /** In-place update: chains kept by name take their new config; the others drain. */
  update(config: Listener): void {
    this.config = config;
    this.selector = this.build(config);
  }

  private build(config: Listener): FilterChainSelector<ChainTerminal> {
    const next = new Map<string, ChainTerminal>();
    const take = (chain: FilterChain, key: string): ChainTerminal => {
      const old = this.terminals.get(key);
      let t: ChainTerminal;
      if (old && old.kind === chain.terminal.kind && !next.has(key)) {
        old.update(chain);
        t = old;
      } else t = createTerminal(chain, this.factory, this.load);
      next.set(key, t);
      return t;
    };
    const chains = config.filterChains.map((fc, i) => ({ match: fc.match, value: take(fc, fc.name || `#${i}`) }));
    const fallback = config.defaultFilterChain ? take(config.defaultFilterChain, config.defaultFilterChain.name || '#default') : undefined;
    for (const [key, t] of this.terminals) {
      if (next.get(key) === t) continue;
      const p = t.drain(this.drainTimeoutMs);
      this.retiring.add(p);
      void p.finally(() => this.retiring.delete(p));
    }
    this.terminals = next;
    return new FilterChainSelector(chains, fallback);
  }

  private onConnection(socket: net.Socket): void {
    // Errors before a terminal takes the socket must not escape.
    socket.on('error', () => {});
    const stats = this.stats;
    if (this.draining) return void socket.destroy();
    if (this.budget.active >= this.budget.max) {
      stats.downstream_cx_overflow++;
      return void socket.destroy();
    }
    stats.downstream_cx_total++;
    stats.downstream_cx_active++;
    this.budget.active++;
    socket.once('close', () => {
      stats.downstream_cx_active--;
      this.budget.active--;
    });
    const conn: ConnectionInfo = {
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      transportProtocol: 'raw_buffer',
    };
    attachConnectionInfo(socket, conn);
    const selector = this.selector;
    const inspect = this.config.listenerFilters.some((f) => f.kind === 'http_inspector') && selector.needsApplicationProtocol(conn);
    if (!inspect) return this.handOff(socket, selector.select(conn), undefined);
    socket.resume();
    void detectProtocol(socket, this.config.listenerFiltersTimeoutMs).then((d) => {
      if (d.gone) return void socket.destroy();
      if (d.timedOut) {
        stats.downstream_listener_filter_timeout++;
        if (!this.config.continueOnListenerFiltersTimeout) return void socket.destroy();
      }
      conn.applicationProtocols = d.applicationProtocols;
      // The selector may have been replaced meanwhile: the newest config decides.
      this.handOff(socket, this.selector.select(conn), d.head);
    });
  }

  private handOff(socket: net.Socket, terminal: ChainTerminal | undefined, head: Buffer | undefined): void {
    if (!terminal) {
      this.stats.no_filter_chain_match++;
      return void socket.destroy();
    }
    // Transport socket: raw_buffer is the socket itself; TLS wraps it here next.
    terminal.accept(socket, head);
  }

  /** The drain period of a shutdown: still accepting, HTTP connections close after their response. */
  startDraining(): void {
    for (const t of this.terminals.values()) t.startDraining();
  }

  /** Stop accepting; let open connections finish (up to timeoutMs), then cut what is left. */
  drain(timeoutMs: number): Promise<void> {
    this.drainPromise ??= (async () => {
      this.draining = true;
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      await Promise.all([closed, ...[...this.terminals.values()].map((t) => t.drain(timeoutMs)), ...this.retiring]);
    })();
    return this.drainPromise;
  }

  destroy(): void {
    this.draining = true;
    this.server.close();
    for (const t of this.terminals.values()) t.destroy();
  }
}
