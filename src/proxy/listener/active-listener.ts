// One bound listener: it owns a plain net.Server and, for each accepted connection, enforces the
// overload cap, runs the listener filters (TLS inspection, protocol detection only when the chain
// depends on it), selects the filter chain once, wraps the socket in the chain's transport (raw, or
// TLS with the chain's current secure context) and hands it to the chain's terminal network filter.
import net from 'node:net';
import type { ListenerLoad } from '../http/connection-manager.js';
import { DownstreamTlsServer } from '../tls/downstream.js';
import { SecretStore } from '../tls/secret-store.js';
import { TlsContextSlot } from '../tls/tls-context.js';
import type { DownstreamTransport, FilterChain, Listener } from '../xds/model.js';
import { createTerminal, type ChainTerminal, type TerminalFactory } from './chain-terminal.js';
import { attachConnectionInfo, type ConnectionInfo } from './connection-info.js';
import { FilterChainSelector } from './filter-chain.js';
import { detectProtocol, detectTls } from './listener-filters.js';
import { restoreOriginalDst } from './original-dst-filter.js';

/** Finds the listener for a restored original destination (use_original_dst hand-off). */
export type ListenerLookup = (address: string, port: number) => ActiveListener | undefined;

/** What a connection is handed to: the chain's transport and its terminal. */
interface SelectedChain {
  terminal: ChainTerminal;
  transport: DownstreamTransport;
  /** The TLS server side of a TLS chain. */
  tls: DownstreamTlsServer | undefined;
}

export interface ListenerStats {
  downstream_cx_total: number;
  downstream_cx_active: number;
  /** Closed at once: no filter chain matched (Envoy's no_filter_chain_match). */
  no_filter_chain_match: number;
  /** Refused by the overload manager's global connection cap. */
  downstream_cx_overflow: number;
  /** Connections this use_original_dst listener handed over to the listener of their original destination. */
  downstream_cx_handed_off: number;
  /** Protocol detection ran out of time (listener_filters_timeout). */
  downstream_listener_filter_timeout: number;
  /** TLS handshakes that failed or were refused (Envoy's ssl.connection_error), and those done. */
  ssl_connection_error: number;
  ssl_handshake: number;
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
    downstream_cx_handed_off: 0,
    downstream_listener_filter_timeout: 0,
    ssl_connection_error: 0,
    ssl_handshake: 0,
  };
  /** Requests in flight on this listener (the overload manager's per-listener cap). */
  readonly load: ListenerLoad;
  private readonly server: net.Server;
  private terminals = new Map<string, ChainTerminal>();
  private selector: FilterChainSelector<SelectedChain>;
  private tlsServers: DownstreamTlsServer[] = [];
  private readonly retiring = new Set<Promise<void>>();
  draining = false;
  private drainPromise: Promise<void> | undefined;
  /** Set by the ListenerManager: where use_original_dst looks up the listener for an address. */
  lookup: ListenerLookup = () => undefined;

  constructor(
    config: Listener,
    private readonly factory: TerminalFactory,
    private readonly budget: ConnectionBudget,
    private readonly drainTimeoutMs: number,
    maxActiveRequests: number,
    private readonly secrets: SecretStore = new SecretStore(),
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

  /** Bind the listener's address; a bind_to_port:false listener has none of its own and only takes
   * connections handed over by a use_original_dst listener. */
  bind(): Promise<void> {
    if (!this.config.bindToPort) return Promise.resolve();
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

  private build(config: Listener): FilterChainSelector<SelectedChain> {
    const next = new Map<string, ChainTerminal>();
    const oldServers = this.tlsServers;
    this.tlsServers = [];
    const select = (chain: FilterChain, key: string): SelectedChain => {
      const tls = chain.transport.kind === 'tls' ? new DownstreamTlsServer(chain.transport, new TlsContextSlot(chain.transport.context, this.secrets)) : undefined;
      if (tls) this.tlsServers.push(tls);
      return { terminal: take(chain, key), transport: chain.transport, tls };
    };
    const take = (chain: FilterChain, key: string): ChainTerminal => {
      const old = this.terminals.get(key);
      let t: ChainTerminal;
      if (old && old.kind === chain.terminal.kind && !next.has(key)) {
        old.update(chain);
        t = old;
      } else t = createTerminal(chain, this.factory, this.load, config.trafficDirection);
      next.set(key, t);
      return t;
    };
    const chains = config.filterChains.map((fc, i) => ({ match: fc.match, value: select(fc, fc.name || `#${i}`) }));
    const fallback = config.defaultFilterChain ? select(config.defaultFilterChain, config.defaultFilterChain.name || '#default') : undefined;
    // Connections already handed over keep their TLS sessions; the old servers only stop watching.
    for (const s of oldServers) s.close();
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
    this.runListenerFilters(socket, conn);
  }

  /** Listener filters in Envoy's order of need: original_dst first (it can hand the connection to
   * another listener), then the TLS and HTTP inspectors, then the filter chain. */
  private runListenerFilters(socket: net.Socket, conn: ConnectionInfo): void {
    const filters = this.config.listenerFilters;
    if (!conn.localAddressRestored && filters.some((f) => f.kind === 'original_dst')) restoreOriginalDst(socket, conn, this.port);
    if (this.config.useOriginalDst && conn.localAddressRestored) {
      // Envoy: the listener bound to exactly IP:port, else 0.0.0.0:port; none: this one keeps it.
      const target = this.lookup(conn.localAddress!, conn.localPort!);
      if (target && target !== this) {
        this.stats.downstream_cx_handed_off++;
        return target.adopt(socket, conn);
      }
    }
    if (filters.some((f) => f.kind === 'tls_inspector')) return void this.inspectTls(socket, conn);
    this.detectHttp(socket, conn, undefined);
  }

  /** A connection another listener accepted and handed over (use_original_dst): it runs this
   * listener's filters and chain selection as if accepted here, its original destination kept. */
  adopt(socket: net.Socket, conn: ConnectionInfo): void {
    const stats = this.stats;
    if (this.draining) return void socket.destroy();
    stats.downstream_cx_total++;
    stats.downstream_cx_active++;
    socket.once('close', () => stats.downstream_cx_active--);
    this.runListenerFilters(socket, conn);
  }

  /** tls_inspector: a ClientHello sets transport `tls`, the SNI and the ALPN offered. */
  private async inspectTls(socket: net.Socket, conn: ConnectionInfo): Promise<void> {
    const d = await detectTls(socket, this.config.listenerFiltersTimeoutMs);
    if (d.gone) return void socket.destroy();
    if (d.timedOut && !this.timedOut()) return void socket.destroy();
    // Envoy closes a connection whose ClientHello exceeds the inspector's bound.
    if (d.hello.kind === 'too_large') return void socket.destroy();
    if (d.hello.kind === 'tls') {
      conn.transportProtocol = 'tls';
      conn.serverName = d.hello.serverName;
      conn.applicationProtocols = d.hello.alpn;
      return this.handOff(socket, this.selector.select(conn), conn, d.head);
    }
    this.detectHttp(socket, conn, d.head);
  }

  /** http_inspector on a plaintext connection, when the chain depends on the application protocol. */
  private detectHttp(socket: net.Socket, conn: ConnectionInfo, head: Buffer | undefined): void {
    const selector = this.selector;
    const inspect = this.config.listenerFilters.some((f) => f.kind === 'http_inspector') && selector.needsApplicationProtocol(conn);
    if (!inspect) return this.handOff(socket, selector.select(conn), conn, head);
    socket.resume();
    void detectProtocol(socket, this.config.listenerFiltersTimeoutMs, head).then((d) => {
      if (d.gone) return void socket.destroy();
      if (d.timedOut && !this.timedOut()) return void socket.destroy();
      conn.applicationProtocols = d.applicationProtocols;
      // The selector may have been replaced meanwhile: the newest config decides.
      this.handOff(socket, this.selector.select(conn), conn, d.head);
    });
  }

  /** Count a listener-filter timeout; whether to go on with what is known. */
  private timedOut(): boolean {
    this.stats.downstream_listener_filter_timeout++;
    return this.config.continueOnListenerFiltersTimeout;
  }

  private handOff(socket: net.Socket, chain: SelectedChain | undefined, conn: ConnectionInfo, head: Buffer | undefined): void {
    if (!chain) {
      this.stats.no_filter_chain_match++;
      return void socket.destroy();
    }
    if (chain.transport.kind === 'raw_buffer' || !chain.tls) return chain.terminal.accept(socket, head);
    socket.pause();
    void chain.tls.terminate(socket, head, conn).then((outcome) => {
      if (!outcome.ok) {
        this.stats.ssl_connection_error++;
        return;
      }
      this.stats.ssl_handshake++;
      chain.terminal.accept(outcome.socket, undefined);
    });
  }

  /** The drain period of a shutdown: still accepting, HTTP connections close after their response. */
  startDraining(): void {
    for (const t of this.terminals.values()) t.startDraining();
  }

  /** Stop accepting; let open connections finish (up to timeoutMs), then cut what is left. */
  drain(timeoutMs: number): Promise<void> {
    this.drainPromise ??= (async () => {
      this.draining = true;
      for (const s of this.tlsServers) s.close();
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      await Promise.all([closed, ...[...this.terminals.values()].map((t) => t.drain(timeoutMs)), ...this.retiring]);
    })();
    return this.drainPromise;
  }

  destroy(): void {
    this.draining = true;
    for (const s of this.tlsServers) s.close();
    this.server.close();
    for (const t of this.terminals.values()) t.destroy();
  }
}
