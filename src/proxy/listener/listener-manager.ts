// Listeners at run time. Bound sockets are keyed by address, so an LDS update that keeps a
// listener's address swaps its config in place (in-flight and keep-alive connections carry
// on); a new address binds first and the whole update is refused (NACK) if any bind fails —
// nothing changes until every new socket is ready. Removed listeners stop accepting and drain.
// Listeners with bind_to_port:false are keyed the same way but never listen: a use_original_dst
// listener hands them the connections whose original destination is their address (lookup()).
import type { SecretStore } from '../tls/secret-store.js';
import type { Listener } from '../xds/model.js';
import { ActiveListener, type ConnectionBudget } from './active-listener.js';
import type { TerminalFactory } from './chain-terminal.js';

export interface ListenerManagerOptions {
  terminals: TerminalFactory;
  /** The proxy's secrets (SDS and the identity agent): TLS chains read their contexts from it. */
  secrets?: SecretStore;
  log?: (msg: string) => void;
  /** How long a removed listener's connections may take to finish before they are cut. */
  drainTimeoutMs?: number;
  /** Overload manager: downstream connections across all listeners (default 20,000). */
  maxDownstreamConnections?: number;
  /** Overload manager: requests in flight per listener before new ones get 503 (default 10,000). */
  maxActiveRequestsPerListener?: number;
}

export const DEFAULT_MAX_DOWNSTREAM_CONNECTIONS = 20_000;
export const DEFAULT_MAX_ACTIVE_REQUESTS_PER_LISTENER = 10_000;

export class ListenerManager {
  private readonly byKey = new Map<string, ActiveListener>();
  private readonly draining = new Set<Promise<void>>();
  private readonly o: ListenerManagerOptions;
  readonly connections: ConnectionBudget;

  constructor(o: ListenerManagerOptions) {
    this.o = o;
    this.connections = { active: 0, max: o.maxDownstreamConnections ?? DEFAULT_MAX_DOWNSTREAM_CONNECTIONS };
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
    const fresh = new Map<string, ActiveListener>();
    for (const [key, l] of desired) {
      if (this.byKey.has(key)) continue;
      const al = new ActiveListener(
        l,
        this.o.terminals,
        this.connections,
        this.o.drainTimeoutMs ?? 5_000,
        this.o.maxActiveRequestsPerListener ?? DEFAULT_MAX_ACTIVE_REQUESTS_PER_LISTENER,
        this.o.secrets,
      );
      al.lookup = (address, port) => this.lookup(address, port);
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
      if (existing) existing.update(l);
      else {
        this.byKey.set(key, fresh.get(key)!);
        if (l.bindToPort) this.o.log?.(`listener ${l.name}: listening on ${l.address.host}:${fresh.get(key)!.port}`);
      }
    }
    return [];
  }

  /** Envoy's hand-off lookup: the listener at exactly address:port, else the wildcard one on port
   * (0.0.0.0 for IPv4, :: for IPv6). */
  lookup(address: string, port: number): ActiveListener | undefined {
    const wildcard = address.includes(':') ? '::' : '0.0.0.0';
    for (const host of [address, wildcard]) {
      const l = this.byKey.get(`${host}|${port}|unbound`) ?? this.byKey.get(`${host}|${port}`);
      if (l) return l;
    }
    return undefined;
  }

  private track(p: Promise<void>): void {
    this.draining.add(p);
    void p.finally(() => this.draining.delete(p));
  }

  /** The drain period of a shutdown (Envoy's drain: listeners keep accepting, connections close after
   * their response, HTTP/2 sessions get GOAWAY); close() then stops accepting. */
  startDraining(): void {
    for (const l of this.byKey.values()) l.startDraining();
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
  if (l.address.port === 0) return `${l.address.host}|0|${l.name}`;
  // One that does not bind shares no socket either; it changes into a bound one only by a new listener.
  return l.bindToPort ? `${l.address.host}|${l.address.port}` : `${l.address.host}|${l.address.port}|unbound`;
}
