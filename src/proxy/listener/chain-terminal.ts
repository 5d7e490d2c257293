// The terminal network filter of a filter chain at run time: the HTTP connection manager (over the
// HTTP/1.1 codec) or tcp_proxy. A listener keeps one per chain across LDS updates: an update of the
// same kind is taken in place (HCM: the next request on every connection uses it; tcp_proxy: new
// connections use it), anything else drains the old terminal's connections.
import type net from 'node:net';
import type { HcmRuntime, ListenerLoad } from '../http/connection-manager.js';
import { Http1Server } from '../http1/server.js';
import { Http2Server } from '../http2/server.js';
import type { TcpProxyRuntime } from '../tcp/tcp-proxy.js';
import { connectionInfoOf } from './connection-info.js';
import type { FilterChain, HttpConnectionManager, NetworkFilter, ReadNetworkFilter, TcpProxy, TrafficDirection } from '../xds/model.js';

const DRAIN_POLL_MS = 100;

export interface ChainTerminal {
  readonly kind: NetworkFilter['kind'];
  accept(socket: net.Socket, head: Buffer | undefined): void;
  /** The drain period began: keep accepting, but close each HTTP connection after its response. */
  startDraining(): void;
  update(chain: FilterChain): void;
  /** Stop taking connections; let open ones finish (up to timeoutMs), then cut what is left. */
  drain(timeoutMs: number): Promise<void>;
  destroy(): void;
  readonly connections: number;
}

export interface TerminalFactory {
  /** `load`: the listener's active requests (its overload cap). */
  hcm(config: HttpConnectionManager, load: ListenerLoad, direction: TrafficDirection): HcmRuntime;
  tcpProxy(config: TcpProxy, direction: TrafficDirection): TcpProxyRuntime;
  /** Counters of the chains' read filters (network RBAC), keyed `<stat_prefix>rbac.allowed` as Envoy names them. */
  readonly networkFilterStats?: Record<string, number>;
}

/** `direction`: the listener's traffic_direction (telemetry's reporter); a terminal keeps the one it was created with. */
export function createTerminal(chain: FilterChain, factory: TerminalFactory, load: ListenerLoad, direction: TrafficDirection = 'UNSPECIFIED'): ChainTerminal {
  const terminal =
    chain.terminal.kind === 'http_connection_manager' ? new HcmTerminal(chain.terminal.hcm, factory, load, direction) : new TcpTerminal(chain.terminal.tcp, factory, direction);
  return new GatedTerminal(terminal, chain.readFilters ?? [], factory.networkFilterStats ?? {});
}

/** The HTTP/2 connection preface (RFC 9113 §3.4): a client speaking h2c with prior knowledge. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

class HcmTerminal implements ChainTerminal {
  readonly kind = 'http_connection_manager';
  private hcm: HcmRuntime;
  private config: HttpConnectionManager;
  private readonly server: Http1Server;
  private h2: Http2Server | undefined;
  /** Connections still being told apart (AUTO codec without a listener filter's head). */
  private readonly sniffing = new Set<net.Socket>();
  private drainPromise: Promise<void> | undefined;
  private drainingResponses = false;

  constructor(
    config: HttpConnectionManager,
    private readonly factory: TerminalFactory,
    private readonly load: ListenerLoad,
    private readonly direction: TrafficDirection,
  ) {
    this.hcm = factory.hcm(config, load, direction);
    this.config = config;
    this.server = new Http1Server({
      onRequest: (req, res) => {
        // While draining, answer what is in flight and close each connection after its response.
        if (this.server.closing || this.drainingResponses) res.closeConnectionAfter();
        this.hcm.handle(req, res);
      },
    });
    this.applyTimeouts(config);
  }

  startDraining(): void {
    this.drainingResponses = true;
    this.server.closeIdleConnections();
    this.h2?.closeIdleConnections();
  }

  get connections(): number {
    return this.server.size + (this.h2?.size ?? 0) + this.sniffing.size;
  }

  accept(socket: net.Socket, head: Buffer | undefined): void {
    const codec = this.config.codec;
    if (codec === 'HTTP1') return this.server.serve(socket, head);
    if (codec === 'HTTP2') return this.http2().serve(socket, head);
    // AUTO over TLS: the ALPN negotiated names the codec (Envoy's HCM does the same).
    const alpn = connectionInfoOf(socket).tls?.alpn;
    if (alpn === 'h2') return this.http2().serve(socket, head);
    if (alpn === 'http/1.1') return this.server.serve(socket, head);
    if (head && head.length >= H2_PREFACE.length) return this.route(socket, head);
    this.sniff(socket, head);
  }

  /** AUTO: read until the preface can be told (bounded by the request-head timeout). */
  private sniff(socket: net.Socket, head: Buffer | undefined): void {
    let got = head ?? Buffer.alloc(0);
    if (got.length > 0 && !H2_PREFACE.subarray(0, Math.min(got.length, H2_PREFACE.length)).equals(got.subarray(0, H2_PREFACE.length))) {
      return this.server.serve(socket, got);
    }
    this.sniffing.add(socket);
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      this.sniffing.delete(socket);
    };
    const onData = (d: Buffer) => {
      got = got.length ? Buffer.concat([got, d]) : d;
      const n = Math.min(got.length, H2_PREFACE.length);
      if (n < H2_PREFACE.length && H2_PREFACE.subarray(0, n).equals(got.subarray(0, n))) return;
      done();
      socket.pause();
      this.route(socket, got);
    };
    const onClose = () => done();
    const timer = setTimeout(() => {
      done();
      socket.destroy();
    }, this.server.headTimeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  }

  private route(socket: net.Socket, head: Buffer): void {
    if (head.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) this.http2().serve(socket, head);
    else this.server.serve(socket, head);
  }

  private http2(): Http2Server {
    if (!this.h2) {
      this.h2 = new Http2Server({
        onRequest: (req, res) => {
          if (this.h2!.closing || this.drainingResponses) res.closeConnectionAfter();
          this.hcm.handle(req, res);
        },
        maxConcurrentStreams: this.config.http2MaxConcurrentStreams || undefined,
      });
      this.h2.idleTimeoutMs = this.config.idleTimeoutMs;
    }
    return this.h2;
  }

  update(chain: FilterChain): void {
    if (chain.terminal.kind !== 'http_connection_manager') return;
    this.hcm = this.factory.hcm(chain.terminal.hcm, this.load, this.direction);
    this.config = chain.terminal.hcm;
    this.applyTimeouts(chain.terminal.hcm);
  }

  private applyTimeouts(c: HttpConnectionManager): void {
    if (this.h2) this.h2.idleTimeoutMs = c.idleTimeoutMs;
    // HCM timeouts live in the HCM: idle (keep-alive) connections, whole request, request head.
    this.server.keepAliveTimeoutMs = c.idleTimeoutMs;
    this.server.requestTimeoutMs = c.requestTimeoutMs;
    if (c.requestHeadersTimeoutMs > 0) this.server.headTimeoutMs = c.requestHeadersTimeoutMs;
  }

  drain(timeoutMs: number): Promise<void> {
    this.drainPromise ??= new Promise<void>((resolve) => {
      for (const s of this.sniffing) s.destroy();
      const poll = setInterval(() => this.server.closeIdleConnections(), DRAIN_POLL_MS);
      const deadline = setTimeout(() => {
        this.server.closeAllConnections();
        this.h2?.closeAllConnections();
      }, timeoutMs);
      void Promise.all([this.server.close(), this.h2?.close()]).then(() => {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      });
      this.server.closeIdleConnections();
    });
    return this.drainPromise;
  }

  destroy(): void {
    for (const s of this.sniffing) s.destroy();
    void this.server.close();
    this.server.closeAllConnections();
    void this.h2?.close();
    this.h2?.closeAllConnections();
  }
}

class TcpTerminal implements ChainTerminal {
  readonly kind = 'tcp_proxy';
  private runtime: TcpProxyRuntime;
  /** Runtimes replaced by updates whose connections are still open. */
  private readonly older = new Set<TcpProxyRuntime>();
  private drainPromise: Promise<void> | undefined;
  private closing = false;

  constructor(
    config: TcpProxy,
    private readonly factory: TerminalFactory,
    private readonly direction: TrafficDirection,
  ) {
    this.runtime = factory.tcpProxy(config, direction);
  }

  get connections(): number {
    let n = this.runtime.connections;
    for (const r of this.older) n += r.connections;
    return n;
  }

  accept(socket: net.Socket, head: Buffer | undefined): void {
    if (this.closing) return void socket.destroy();
    this.runtime.onConnection(socket, head);
  }

  /** Opaque bytes have no response to close after: connections carry on until the drain ends. */
  startDraining(): void {}

  update(chain: FilterChain): void {
    if (chain.terminal.kind !== 'tcp_proxy') return;
    if (this.runtime.connections > 0) this.older.add(this.runtime);
    this.runtime = this.factory.tcpProxy(chain.terminal.tcp, this.direction);
  }

  drain(timeoutMs: number): Promise<void> {
    this.closing = true;
    // Opaque bytes have no request boundary to close after: connections get the drain time, then close.
    this.drainPromise ??= new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (this.connections === 0) done();
      }, DRAIN_POLL_MS);
      const deadline = setTimeout(() => {
        this.destroy();
        done();
      }, timeoutMs);
      const done = () => {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      };
      if (this.connections === 0) done();
    });
    return this.drainPromise;
  }

  destroy(): void {
    this.closing = true;
    this.runtime.destroy();
    for (const r of this.older) r.destroy();
    this.older.clear();
  }
}

/** The chain's read filters (network RBAC) ahead of its terminal: a connection they deny is closed
 * before the terminal sees a byte. Envoy decides on the first byte (ONE_TIME_ON_FIRST_BYTE); every
 * input RBAC reads here is known at accept, so deciding then is the same verdict, sooner. */
class GatedTerminal implements ChainTerminal {
  constructor(
    private readonly inner: ChainTerminal,
    private filters: readonly ReadNetworkFilter[],
    private readonly stats: Record<string, number>,
  ) {}

  get kind(): NetworkFilter['kind'] {
    return this.inner.kind;
  }

  get connections(): number {
    return this.inner.connections;
  }

  accept(socket: net.Socket, head: Buffer | undefined): void {
    for (const f of this.filters) if (!this.allows(f, socket)) return void socket.destroy();
    this.inner.accept(socket, head);
  }

  private allows(f: ReadNetworkFilter, socket: net.Socket): boolean {
    const cfg = f.config;
    const input = { connection: connectionInfoOf(socket) };
    if (cfg.shadowRules) this.count(`${cfg.statPrefix}rbac.${cfg.shadowRulesStatPrefix}shadow_${cfg.shadowRules.evaluate(input).allowed ? 'allowed' : 'denied'}`);
    if (!cfg.rules) return true;
    const allowed = cfg.rules.evaluate(input).allowed;
    this.count(`${cfg.statPrefix}rbac.${cfg.rulesStatPrefix}${allowed ? 'allowed' : 'denied'}`);
    return allowed;
  }

  private count(key: string): void {
    this.stats[key] = (this.stats[key] ?? 0) + 1;
  }

  startDraining(): void {
    this.inner.startDraining();
  }

  update(chain: FilterChain): void {
    this.filters = chain.readFilters ?? [];
    this.inner.update(chain);
  }

  drain(timeoutMs: number): Promise<void> {
    return this.inner.drain(timeoutMs);
  }

  destroy(): void {
    this.inner.destroy();
  }
}
