// What an ADS stream does the same way for both protocols: identify the proxy from the first
// request's node (and register its workload), hold the per-type status that /debug/syncz shows,
// encode the proxy's resources once per snapshot, and count unflushed writes for the push throttle.
import * as grpc from '@grpc/grpc-js';
import type { NodeWire, XdsProtocol, XdsType } from '../../api/envoy.js';
import { parseProxyNode, type ProxyNode } from '../model/proxy-node.js';
import { registersWorkload } from '../model/client-kind.js';
import type { Admission } from '../registry/proxy-registry.js';
import type { Registry } from '../registry/registry.js';
import type { EncodedSet, XdsCache } from './cache.js';
import type { WriteBudget, WriteTicket } from './write-budget.js';

export interface TypeStatus {
  /** The snapshot version of the type last sent, or found to need no sending (delta). */
  sent: string | null;
  acked: string | null;
  nack: { version: string; message: string; at: string } | null;
  sentAt: string | null;
  ackedAt: string | null;
  resources: number;
}

export interface ProxyStatus {
  id: string;
  service: string;
  namespace: string;
  address: string;
  labels: Record<string, string>;
  protocol: XdsProtocol;
  connectedAt: string;
  types: Partial<Record<XdsType, TypeStatus>>;
  /** The proxy's admin address as its node says (for `weft proxy-config`); absent when it sent none. */
  adminAddress?: string;
}

/** What a stream needs from the server that owns it. */
export interface StreamHost {
  readonly cache: XdsCache;
  readonly registry: Registry;
  log(msg: string): void;
  readonly writeBudget: WriteBudget;
  /** Just after a restart: the registry is still refilling (see control-plane.ts, startup grace). */
  readonly warming: boolean;
  countPushed(bytes: number): void;
  onAck?: (proxyId: string, type: XdsType, version: string) => void;
  readonly observer?: XdsObserver;
}

/** What the server reports as it works, for metrics (src/controlplane/metrics/pilot-metrics.ts). */
export interface XdsObserver {
  /** A response of `type` with `bytes` of resources was handed to the write path. */
  pushed(type: XdsType, bytes: number): void;
  /** That response reached the transport `seconds` after it was handed over. */
  written(type: XdsType, seconds: number): void;
  /** The proxy NACKed a response of `type`. */
  rejected(type: XdsType): void;
  /** A request could not be handled (the stream was ended). */
  internalError(): void;
  /** A proxy's push reached its transport `seconds` after the change that caused it. */
  converged(seconds: number): void;
}

export function newTypeStatus(): TypeStatus {
  return { sent: null, acked: null, nack: null, sentAt: null, ackedAt: null, resources: 0 };
}

export function recordAck(s: TypeStatus, version: string): void {
  s.acked = version;
  s.ackedAt = new Date().toISOString();
}

export abstract class XdsStream<Req, Res, S extends TypeStatus> {
  proxy: ProxyNode | undefined;
  readonly connectedAt = new Date().toISOString();
  protected readonly types = new Map<XdsType, S>();
  private release: (() => void) | undefined;
  private encoded: { snapshot: object; set: EncodedSet } | undefined;
  private unflushed = 0;
  private ended = false;
  /** Budget held by writes the transport has not finished; returned if the stream ends first. */
  private readonly tickets = new Set<WriteTicket>();
  private readonly flushWaiters: Array<() => void> = [];
  /** A proxy that reconnected while the control plane was warming: it already runs a config, and a
   * snapshot from a half-refilled registry would take endpoints away from it. Nothing is sent to it
   * until warm-up ends; it keeps serving what it has (Envoy keeps its last config while it waits). */
  protected held = false;

  constructor(
    protected readonly call: grpc.ServerDuplexStream<Req, Res>,
    protected readonly host: StreamHost,
    readonly protocol: XdsProtocol,
  ) {}

  /** Send every type whose resources moved, in push order; resolves once the writes reached the
   * transport (or the stream ended), which is what the server's push throttle waits for. */
  push(): Promise<void> {
    if (this.held) return Promise.resolve();
    this.pushTypes();
    if (this.unflushed === 0 || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  abstract onRequest(req: Req): void;
  protected abstract pushTypes(): void;
  /** Warm-up ended: answer the requests that came while the stream was held. */
  protected abstract answerHeld(): void;

  /** Called by the server when warm-up ends. */
  endHold(): void {
    if (!this.held) return;
    this.held = false;
    if (!this.ended) this.answerHeld();
  }

  /** The proxy NACKed `type`: log it with the reason, and count it. */
  protected nacked(type: XdsType, version: string | null, message: string): void {
    this.host.log(`NACK from ${this.proxy?.id} for ${type} version ${version}: ${message}`);
    this.host.observer?.rejected(type);
  }

  /** On the first request: parse the node and register the workload. False: the stream is refused.
   * `hasConfig`: the first request says the proxy already runs a config (a reconnect). */
  protected identify(node: NodeWire | null | undefined, hasConfig: boolean): boolean {
    if (this.proxy) return true;
    if (this.ended) return false;
    const parsed = parseProxyNode(node);
    if (!parsed.ok) {
      this.refuse(grpc.status.INVALID_ARGUMENT, `${parsed.errors.join('; ')} [WEFT_E_NODE_INVALID]`);
      return false;
    }
    // A proxyless gRPC client (or an Envoy naming no service) is served, not registered: it is an
    // app calling the mesh, not an endpoint of it.
    const admission: Admission = registersWorkload(parsed.node)
      ? this.host.registry.connect(parsed.node, {
          peer: this.call.getPeer(),
          replaced: (message) => this.refuse(grpc.status.ABORTED, message),
        })
      : { ok: true, release: () => {} };
    if (!admission.ok) {
      this.refuse(admission.code, `${admission.message} [${admission.errorCode}]`);
      return false;
    }
    this.proxy = parsed.node;
    this.release = admission.release;
    this.held = hasConfig && this.host.warming;
    this.host.log(`${this.proxy.client === 'grpc' ? 'proxyless gRPC client' : 'proxy'} connected (${this.protocol}${this.held ? ', held until warm-up ends' : ''}): ${this.proxy.id}`);
    return true;
  }

  /** End the stream with a status the proxy logs (and reconnects after, with backoff). */
  private refuse(code: grpc.status, details: string): void {
    this.host.log(`refusing ADS stream from ${this.call.getPeer()}: ${details}`);
    // Emitting 'error' on a server call sends the status; the server's own 'error' listener ends it.
    this.call.emit('error', { code, details });
    this.call.end();
  }

  /** This proxy's encoded resources for the cache's current snapshot (encoded once per snapshot):
   * what it should run now (also the monitor's /debug/config_dump). */
  resources(): EncodedSet {
    const snap = this.host.cache.snapshot()!;
    if (this.encoded?.snapshot !== snap) this.encoded = { snapshot: snap, set: this.host.cache.resourcesFor(this.proxy!, this.protocol) };
    return this.encoded.set;
  }

  protected write(msg: Res, resourceBytes: number, type: XdsType): void {
    this.host.countPushed(resourceBytes);
    this.host.observer?.pushed(type, resourceBytes);
    const handedAt = performance.now();
    this.unflushed++;
    this.host.writeBudget.admit(resourceBytes, (ticket) => {
      if (this.ended) {
        ticket.release();
        return;
      }
      this.tickets.add(ticket);
      this.call.write(msg, () => {
        this.host.observer?.written(type, (performance.now() - handedAt) / 1000);
        this.tickets.delete(ticket);
        ticket.release();
        this.flushed();
      });
    });
  }

  private flushed(): void {
    if (--this.unflushed > 0) return;
    for (const w of this.flushWaiters.splice(0)) w();
  }

  status(): ProxyStatus | undefined {
    if (!this.proxy) return undefined;
    const types: Partial<Record<XdsType, TypeStatus>> = {};
    for (const [t, s] of this.types) types[t] = { sent: s.sent, acked: s.acked, nack: s.nack, sentAt: s.sentAt, ackedAt: s.ackedAt, resources: s.resources };
    const p = this.proxy;
    return {
      id: p.id, service: p.service, namespace: p.namespace, address: p.address, labels: p.labels, protocol: this.protocol, connectedAt: this.connectedAt, types,
      ...(p.adminAddress ? { adminAddress: p.adminAddress } : {}),
    };
  }

  closed(): void {
    this.ended = true;
    for (const t of this.tickets) t.release();
    this.tickets.clear();
    for (const w of this.flushWaiters.splice(0)) w();
    if (this.proxy) this.host.log(`proxy disconnected: ${this.proxy.id}`);
    this.release?.();
  }
}
