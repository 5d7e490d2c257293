// Universal-mode service registry: a proxy's workload exists while its ADS stream is up, and for a
// short grace period after, so that a reconnect does not flap its endpoint out of every load balancer.
//
// One stream owns a node id at a time. Until identity arrives with mTLS, nothing proves who a stream
// is, so the rule for a second stream with a live node id must never let it change where that node's
// traffic goes (docs/security.md, "Control plane: registry"):
// - same peer host and the same registration (address, ports, labels, …): it is the proxy itself
//   reconnecting before the server noticed its old stream die (a half-open TCP connection), so the
//   newer stream takes over and the older one is ended (Envoy and Istio keep only the newest stream
//   of a reconnecting proxy); the endpoint does not change, so there is nothing to take;
// - anything else is refused with ALREADY_EXISTS while the older stream lives; the older stream keeps
//   the node id, and the newcomer may retry once it is gone.
// Counts are bounded (registrations in all, per peer host) so that no one client can grow every
// sidecar's config without limit; a refusal names the limit and its flag.
import * as grpc from '@grpc/grpc-js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { Registry } from './registry.js';

export interface RegistryLimits {
  /** Node ids registered at once, connected or within their grace period (0: no limit). */
  maxRegistrations: number;
  /** Node ids registered at once from one peer host (0: no limit). */
  maxPerPeer: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = { maxRegistrations: 10_000, maxPerPeer: 1_000 };

/** The stream asking to register: where it comes from, and how to end it if a newer one replaces it. */
export interface StreamClaim {
  /** grpc-js `call.getPeer()`: `host:port`. */
  peer: string;
  /** End this stream: a newer stream of the same proxy took its node id. */
  replaced(message: string): void;
}

export type Admission =
  | { ok: true; release: () => void }
  | { ok: false; code: grpc.status; errorCode: 'WEFT_E_NODE_DUPLICATE' | 'WEFT_E_NODE_LIMIT'; message: string };

interface Entry {
  node: ProxyNode;
  /** JSON of `node`: what "the same registration" compares. */
  key: string;
  peerHost: string;
  /** The stream holding the node id; undefined during the grace period after it ended. */
  holder: StreamClaim | undefined;
  removal?: NodeJS.Timeout;
}

export class ProxyRegistry implements Registry {
  private readonly entries = new Map<string, Entry>();
  private readonly perPeer = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private readonly limits: RegistryLimits;
  private cached: ProxyNode[] | undefined;

  constructor(private readonly opts: { graceMs: number; limits?: Partial<RegistryLimits> }) {
    this.limits = { ...DEFAULT_REGISTRY_LIMITS, ...opts.limits };
  }

  /** Registers the stream's node, or says why not; `release` is called when the stream ends. */
  connect(node: ProxyNode, claim: StreamClaim): Admission {
    const peerHost = peerHostOf(claim.peer);
    const key = JSON.stringify(node);
    const existing = this.entries.get(node.id);
    if (existing?.holder) {
      if (existing.peerHost !== peerHost || existing.key !== key) {
        const why = existing.peerHost !== peerHost ? `from another peer (${existing.peerHost})` : 'with a different registration';
        return {
          ok: false,
          code: grpc.status.ALREADY_EXISTS,
          errorCode: 'WEFT_E_NODE_DUPLICATE',
          message: `node.id "${node.id}" is already connected ${why}; one stream per node id, the older one keeps it until it ends`,
        };
      }
      const old = existing.holder;
      existing.holder = claim;
      old.replaced(`node.id "${node.id}": replaced by a newer stream of the same proxy from ${peerHost}`);
      return { ok: true, release: this.releaser(node.id, claim) };
    }
    if (existing) {
      // Within its grace period: the stream is gone, so whoever comes now takes the id over.
      clearTimeout(existing.removal);
      existing.removal = undefined;
      existing.holder = claim;
      this.movePeer(existing, peerHost);
      if (existing.key !== key) {
        existing.node = node;
        existing.key = key;
        this.changed();
      }
      return { ok: true, release: this.releaser(node.id, claim) };
    }
    const limit = this.overLimit(peerHost);
    if (limit) return { ok: false, code: grpc.status.RESOURCE_EXHAUSTED, errorCode: 'WEFT_E_NODE_LIMIT', message: `node.id "${node.id}": ${limit}` };
    this.entries.set(node.id, { node, key, peerHost, holder: claim });
    this.perPeer.set(peerHost, (this.perPeer.get(peerHost) ?? 0) + 1);
    this.changed();
    return { ok: true, release: this.releaser(node.id, claim) };
  }

  proxies(): ProxyNode[] {
    this.cached ??= [...this.entries.values()].map((e) => e.node).sort((a, b) => (a.id < b.id ? -1 : 1));
    return this.cached;
  }

  get size(): number {
    return this.entries.size;
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  close(): void {
    for (const e of this.entries.values()) clearTimeout(e.removal);
  }

  private overLimit(peerHost: string): string | undefined {
    const { maxRegistrations, maxPerPeer } = this.limits;
    if (maxRegistrations > 0 && this.entries.size >= maxRegistrations)
      return `the registry holds ${this.entries.size} registrations, its limit (--max-registrations ${maxRegistrations})`;
    const fromPeer = this.perPeer.get(peerHost) ?? 0;
    if (maxPerPeer > 0 && fromPeer >= maxPerPeer)
      return `peer ${peerHost} holds ${fromPeer} registrations, the limit per peer (--max-registrations-per-peer ${maxPerPeer})`;
    return undefined;
  }

  /** The function a stream calls when it ends: only the stream still holding the id starts its grace. */
  private releaser(id: string, claim: StreamClaim): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const e = this.entries.get(id);
      if (!e || e.holder !== claim) return; // replaced by a newer stream, which owns the entry now
      e.holder = undefined;
      e.removal = setTimeout(() => {
        this.entries.delete(id);
        this.movePeer(e, undefined);
        this.changed();
      }, this.opts.graceMs);
      e.removal.unref();
    };
  }

  private movePeer(e: Entry, to: string | undefined): void {
    const n = (this.perPeer.get(e.peerHost) ?? 1) - 1;
    if (n > 0) this.perPeer.set(e.peerHost, n);
    else this.perPeer.delete(e.peerHost);
    if (to === undefined) return;
    e.peerHost = to;
    this.perPeer.set(to, (this.perPeer.get(to) ?? 0) + 1);
  }

  private changed(): void {
    this.cached = undefined;
    for (const cb of this.listeners) cb();
  }
}

/** `127.0.0.1:5555` → `127.0.0.1`; `::1:5555` (grpc-js leaves IPv6 unbracketed) → `::1`. */
export function peerHostOf(peer: string): string {
  const p = peer.replace(/^(ipv4|ipv6):/, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(p);
  if (bracketed) return bracketed[1];
  const i = p.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(p.slice(i + 1)) ? p.slice(0, i) : p;
}
