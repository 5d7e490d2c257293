// The ADS server decides HOW: one gRPC stream per proxy, nonces, ACK/NACK bookkeeping, pushes in
// CDS → EDS → LDS → RDS order. It knows nothing of Istio; the cache hands it encoded resources.
import * as grpc from '@grpc/grpc-js';
import {
  PUSH_ORDER,
  TypeUrl,
  xdsTypeOf,
  type AnyWire,
  type DiscoveryRequestWire,
  type DiscoveryResponseWire,
  type XdsType,
} from '../../api/envoy.js';
import { parseProxyNode, type ProxyNode } from '../model/proxy-node.js';
import type { ProxyRegistry } from '../registry/proxy-registry.js';
import { allResources, lookup, type EncodedSet, type XdsCache } from './cache.js';
import { classify } from './classify.js';

export interface TypeStatus {
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
  connectedAt: string;
  types: Partial<Record<XdsType, TypeStatus>>;
}

interface TypeState extends TypeStatus {
  nonce: string;
  subscribed: string[];
  /** RDS/EDS: what this stream last sent of each name, so a push carries only what changed. */
  sentResources: Map<string, AnyWire>;
}

type Log = (msg: string) => void;

class AdsStream {
  proxy: ProxyNode | undefined;
  private release: (() => void) | undefined;
  private readonly types = new Map<XdsType, TypeState>();
  private nonce = 0;
  private encoded: { snapshot: object; set: EncodedSet } | undefined;
  readonly connectedAt = new Date().toISOString();

  constructor(
    private readonly call: grpc.ServerDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire>,
    private readonly server: AdsServer,
  ) {}

  onRequest(req: DiscoveryRequestWire): void {
    if (!this.proxy) {
      const parsed = parseProxyNode(req.node);
      if (!parsed.ok) {
        this.server.log(`rejecting ADS stream: ${parsed.errors.join('; ')}`);
        this.call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: parsed.errors.join('; ') });
        this.call.end();
        return;
      }
      this.proxy = parsed.node;
      this.release = this.server.registry.connect(parsed.node);
      this.server.log(`proxy connected: ${this.proxy.id}`);
    }
    const type = xdsTypeOf(req.type_url);
    if (!type) {
      this.server.log(`${this.proxy.id}: ignoring request for unknown type ${req.type_url}`);
      return;
    }
    const state = this.types.get(type);
    const d = classify(req, state);
    const now = new Date().toISOString();
    switch (d.kind) {
      case 'initial': {
        const s: TypeState = state ?? { nonce: '', subscribed: [], sent: null, acked: null, nack: null, sentAt: null, ackedAt: null, resources: 0, sentResources: new Map() };
        s.subscribed = [...(req.resource_names ?? [])].sort();
        s.sentResources.clear();
        if (req.version_info) s.acked = req.version_info; // a reconnecting proxy already runs this version
        this.types.set(type, s);
        this.send(type, true);
        return;
      }
      case 'nack':
        state!.nack = { version: state!.sent ?? '', message: d.message, at: now };
        state!.sentResources.clear(); // the proxy kept its old resources: the next push resends all
        this.server.log(`NACK from ${this.proxy.id} for ${type} version ${state!.sent}: ${d.message}`);
        return;
      case 'stale':
        return;
      case 'ack':
        state!.acked = d.version;
        state!.ackedAt = now;
        this.server.onAck?.(this.proxy.id, type, d.version);
        return;
      case 'subscription-change':
        state!.acked = d.version;
        state!.ackedAt = now;
        state!.subscribed = d.names;
        state!.sentResources.clear();
        this.send(type, true);
        return;
    }
  }

  /** Send every type whose version moved, in push order; resolves once the writes reached the
   * transport (or the stream ended), which is what the server's push throttle waits for. */
  push(): Promise<void> {
    for (const type of PUSH_ORDER) if (this.types.has(type)) this.send(type, false);
    if (this.unflushed === 0 || this.ended) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  private unflushed = 0;
  private ended = false;
  private readonly flushWaiters: Array<() => void> = [];

  private flushed(): void {
    if (--this.unflushed > 0) return;
    for (const w of this.flushWaiters.splice(0)) w();
  }

  private resources(): EncodedSet {
    const snap = this.server.cache.snapshot()!;
    if (this.encoded?.snapshot !== snap) this.encoded = { snapshot: snap, set: this.server.cache.resourcesFor(this.proxy!) };
    return this.encoded.set;
  }

  private send(type: XdsType, force: boolean): void {
    const state = this.types.get(type)!;
    const encoded = this.resources()[type];
    if (!force && encoded.version === state.sent) return;
    let resources: AnyWire[];
    if (type === 'listener' || type === 'cluster') {
      // Wildcard types: every response is the whole set (the proxy removes what is absent).
      resources = allResources(encoded);
    } else {
      // Named types: the proxy keeps what a response omits, so send only the subscribed resources
      // whose bytes changed since this stream last sent them (xDS protocol, "SotW" for RDS/EDS).
      resources = [];
      for (const name of state.subscribed) {
        const r = lookup(encoded, name);
        if (!r) continue;
        const prev = state.sentResources.get(name);
        if (prev === r || (prev && prev.value.length === r.value.length && Buffer.compare(prev.value, r.value) === 0)) continue;
        resources.push(r);
        state.sentResources.set(name, r);
      }
      if (!resources.length && !force) return; // nothing this proxy asked for changed
    }
    state.nonce = String(++this.nonce);
    state.sent = encoded.version;
    state.sentAt = new Date().toISOString();
    state.resources = type === 'listener' || type === 'cluster' ? resources.length : state.sentResources.size;
    let bytes = 0;
    for (const r of resources) bytes += r.value.length;
    this.server.bytesPushed += bytes;
    this.unflushed++;
    this.call.write({ version_info: encoded.version, resources, type_url: TypeUrl[type], nonce: state.nonce }, () => this.flushed());
  }

  status(): ProxyStatus | undefined {
    if (!this.proxy) return undefined;
    const types: Partial<Record<XdsType, TypeStatus>> = {};
    for (const [t, s] of this.types) types[t] = { sent: s.sent, acked: s.acked, nack: s.nack, sentAt: s.sentAt, ackedAt: s.ackedAt, resources: s.resources };
    const p = this.proxy;
    return { id: p.id, service: p.service, namespace: p.namespace, address: p.address, labels: p.labels, connectedAt: this.connectedAt, types };
  }

  closed(): void {
    this.ended = true;
    for (const w of this.flushWaiters.splice(0)) w();
    if (this.proxy) this.server.log(`proxy disconnected: ${this.proxy.id}`);
    this.release?.();
  }
}

export interface AdsServerOptions {
  cache: XdsCache;
  registry: ProxyRegistry;
  log?: Log;
  /** Proxies being pushed to at once; the rest wait their turn (Istio's PILOT_PUSH_THROTTLE). Bounds
   * the memory a push to thousands of proxies holds in transport buffers. */
  maxConcurrentPushes?: number;
}

export class AdsServer {
  readonly cache: XdsCache;
  readonly registry: ProxyRegistry;
  readonly log: Log;
  private readonly streams = new Set<AdsStream>();
  private grpcServer: grpc.Server | undefined;
  bytesPushed = 0;
  pushes = 0;
  onAck?: (proxyId: string, type: XdsType, version: string) => void;

  private readonly maxConcurrentPushes: number;
  /** Streams waiting for a push (insertion order = fairness) and how many pushes are in flight. */
  private readonly pushQueue = new Set<AdsStream>();
  private pushesInFlight = 0;

  constructor(opts: AdsServerOptions) {
    this.maxConcurrentPushes = opts.maxConcurrentPushes ?? 100;
    this.cache = opts.cache;
    this.registry = opts.registry;
    this.log = opts.log ?? (() => {});
  }

  /** The gRPC service implementation, to mount on any grpc.Server. */
  handlers(): grpc.UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire>) => {
        const stream = new AdsStream(call, this);
        this.streams.add(stream);
        let done = false;
        const end = () => {
          if (done) return;
          done = true;
          this.streams.delete(stream);
          stream.closed();
        };
        call.on('data', (req: DiscoveryRequestWire) => {
          try {
            stream.onRequest(req);
          } catch (err) {
            this.log(`ADS stream error: ${(err as Error).stack ?? err}`);
            call.destroy(err as Error);
          }
        });
        call.on('end', () => {
          end();
          call.end();
        });
        call.on('error', end);
        call.on('close', end);
        call.on('cancelled', end);
      },
    };
  }

  async listen(address: string, service: grpc.ServiceDefinition): Promise<number> {
    const server = new grpc.Server({ 'grpc.max_send_message_length': 64 * 1024 * 1024, 'grpc.keepalive_permit_without_calls': 1 });
    server.addService(service, this.handlers());
    this.grpcServer = server;
    return new Promise((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  /** Push the cache's current snapshot to every connected proxy. */
  push(): void {
    this.pushes++;
    for (const s of this.streams) if (s.proxy) this.pushQueue.add(s);
    this.drainPushQueue();
  }

  private drainPushQueue(): void {
    while (this.pushesInFlight < this.maxConcurrentPushes && this.pushQueue.size) {
      const stream: AdsStream = this.pushQueue.values().next().value!;
      this.pushQueue.delete(stream);
      if (!this.streams.has(stream)) continue;
      this.pushesInFlight++;
      void stream.push().finally(() => {
        this.pushesInFlight--;
        this.drainPushQueue();
      });
    }
  }

  status(): ProxyStatus[] {
    return [...this.streams].map((s) => s.status()).filter((s) => s !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async close(): Promise<void> {
    const server = this.grpcServer;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1000);
      server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  destroy(): void {
    this.grpcServer?.forceShutdown();
  }
}
