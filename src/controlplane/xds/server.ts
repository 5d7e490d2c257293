// The ADS server decides HOW: one gRPC stream per proxy, state of the world or Delta (with VHDS), and
// pushes throttled across streams. It knows nothing of Istio; the cache hands it encoded resources,
// and each stream kind (sotw-stream.ts, delta-stream.ts) keeps its own protocol bookkeeping.
import * as grpc from '@grpc/grpc-js';
import type {
  NodeWire,
  DeltaDiscoveryRequestWire,
  DeltaDiscoveryResponseWire,
  DiscoveryRequestWire,
  DiscoveryResponseWire,
  XdsType,
} from '../../api/envoy.js';
import type { Registry } from '../registry/registry.js';
import type { XdsCache } from './cache.js';
import { DeltaStream } from './delta-stream.js';
import { SotwStream } from './sotw-stream.js';
import type { ProxyStatus, StreamHost, TypeStatus, XdsObserver, XdsStream } from './stream-base.js';
import { WriteBudget } from './write-budget.js';
import { controlPlaneConfigDump } from './config-dump.js';

export type { ProxyStatus, TypeStatus, XdsObserver } from './stream-base.js';

type Log = (msg: string) => void;

/** Whether a stream may proceed (its caller authenticated), and what its first request's node must
 * satisfy: `checkNode` answers why not (PERMISSION_DENIED), or undefined. Decided by the owner. */
export type StreamAdmission =
  | { ok: true; checkNode?: (node: NodeWire | null | undefined) => string | undefined }
  | { ok: false; code: grpc.status; message: string };
type AnyStream = XdsStream<never, unknown, TypeStatus>;

export interface AdsServerOptions {
  cache: XdsCache;
  registry: Registry;
  log?: Log;
  /** Proxies being pushed to at once; the rest wait their turn (Istio's PILOT_PUSH_THROTTLE). Bounds
   * the memory a push to thousands of proxies holds in transport buffers. */
  maxConcurrentPushes?: number;
  /** Response bytes handed to the transport and not yet sent, across all streams (default 64 MiB). */
  maxBytesInFlight?: number;
  /** Told of every push, write, NACK and internal error (the control plane's metrics). */
  observer?: XdsObserver;
}

export class AdsServer implements StreamHost {
  readonly cache: XdsCache;
  readonly registry: Registry;
  readonly log: Log;
  private readonly streams = new Set<AnyStream>();
  private readonly grpcServers: grpc.Server[] = [];
  /** Authenticates each stream before it is served (src/controlplane/ca/xds-admission.ts); none: all are. */
  admit?: (call: grpc.ServerDuplexStream<unknown, unknown>) => Promise<StreamAdmission>;
  bytesPushed = 0;
  pushes = 0;
  /** Set by the owner while the registry refills after a start (streams that reconnect are held). */
  warming = false;
  /** Responses written to any stream (answers and pushes): with `onRequestHandled`, what lets a test
   * prove that a request or a push sent nothing, instead of sleeping and hoping. */
  responses = 0;
  onAck?: (proxyId: string, type: XdsType, version: string) => void;
  /** Called after each request is handled (its response, if any, is written by then). */
  onRequestHandled?: (proxyId: string | undefined) => void;

  private readonly maxConcurrentPushes: number;
  /** Streams waiting for a push (insertion order = fairness) and how many pushes are in flight. */
  private readonly pushQueue = new Map<AnyStream, number>();
  private pushesInFlight = 0;
  readonly writeBudget: WriteBudget;
  readonly observer?: XdsObserver;

  constructor(opts: AdsServerOptions) {
    this.observer = opts.observer;
    this.maxConcurrentPushes = opts.maxConcurrentPushes ?? 100;
    this.writeBudget = new WriteBudget(opts.maxBytesInFlight ?? 64 * 1024 * 1024);
    this.cache = opts.cache;
    this.registry = opts.registry;
    this.log = opts.log ?? (() => {});
  }

  countPushed(bytes: number): void {
    this.bytesPushed += bytes;
    this.responses++;
  }

  /** The gRPC service implementation (both ADS methods), to mount on any grpc.Server. */
  handlers(): grpc.UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire>) =>
        this.serve(call, new SotwStream(call, this, 'sotw')),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequestWire, DeltaDiscoveryResponseWire>) =>
        this.serve(call, new DeltaStream(call, this, 'delta')),
    };
  }

  private serve<Req extends { node?: NodeWire | null }, Res>(call: grpc.ServerDuplexStream<Req, Res>, stream: XdsStream<Req, Res, TypeStatus>): void {
    if (!this.admit) return this.attach(call, stream, undefined);
    // Requests wait in the call (no 'data' listener yet) until the caller is authenticated.
    this.admit(call as grpc.ServerDuplexStream<unknown, unknown>).then(
      (a) => {
        if (call.cancelled) return;
        if (a.ok) this.attach(call, stream, a.checkNode);
        else this.refuse(call, a.code, a.message);
      },
      (err: Error) => this.refuse(call, grpc.status.INTERNAL, `authentication failed: ${err.message}`),
    );
  }

  private refuse(call: grpc.ServerDuplexStream<unknown, unknown>, code: grpc.status, details: string): void {
    this.log(`refusing ADS stream from ${call.getPeer()}: ${details}`);
    call.emit('error', { code, details });
    call.end();
  }

  private attach<Req extends { node?: NodeWire | null }, Res>(
    call: grpc.ServerDuplexStream<Req, Res>,
    stream: XdsStream<Req, Res, TypeStatus>,
    checkNode: ((node: NodeWire | null | undefined) => string | undefined) | undefined,
  ): void {
    this.streams.add(stream);
    // Headers now, not with the first response: a proxy that reconnects with nothing new to receive
    // (or is held during warm-up) still learns that its stream is up.
    call.sendMetadata(new grpc.Metadata());
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      this.streams.delete(stream);
      stream.closed();
    };
    call.on('data', (req: Req) => {
      if (done) return;
      if (checkNode) {
        const denied = checkNode(req.node);
        checkNode = undefined;
        if (denied) {
          end();
          return this.refuse(call as grpc.ServerDuplexStream<unknown, unknown>, grpc.status.PERMISSION_DENIED, denied);
        }
      }
      try {
        stream.onRequest(req);
      } catch (err) {
        this.log(`ADS stream error: ${(err as Error).stack ?? err}`);
        this.observer?.internalError();
        call.destroy(err as Error);
      }
      this.onRequestHandled?.(stream.proxy?.id);
    });
    call.on('end', () => {
      end();
      call.end();
    });
    call.on('error', end);
    call.on('close', end);
    call.on('cancelled', end);
  }

  /** Serve ADS on `address` (plaintext unless `credentials`), with any `services` beside it (the CA). */
  async listen(
    address: string,
    service: grpc.ServiceDefinition,
    opts: { credentials?: grpc.ServerCredentials; services?: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]> } = {},
  ): Promise<number> {
    const server = new grpc.Server({ 'grpc.max_send_message_length': 64 * 1024 * 1024, 'grpc.keepalive_permit_without_calls': 1 });
    server.addService(service, this.handlers());
    for (const [definition, implementation] of opts.services ?? []) server.addService(definition, implementation);
    this.grpcServers.push(server);
    return new Promise((resolve, reject) =>
      server.bindAsync(address, opts.credentials ?? grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  /** Push the cache's current snapshot to every connected proxy; `changedAt` (performance.now()) is
   * when the change that caused it happened, for the convergence time of each proxy. */
  push(changedAt?: number): void {
    this.pushes++;
    for (const s of this.streams) if (s.proxy) this.pushQueue.set(s, Math.min(changedAt ?? Infinity, this.pushQueue.get(s) ?? Infinity));
    this.drainPushQueue();
  }

  private drainPushQueue(): void {
    while (this.pushesInFlight < this.maxConcurrentPushes && this.pushQueue.size) {
      const [stream, changedAt] = this.pushQueue.entries().next().value!;
      this.pushQueue.delete(stream);
      if (!this.streams.has(stream)) continue;
      this.pushesInFlight++;
      void stream.push().finally(() => {
        if (Number.isFinite(changedAt)) this.observer?.converged((performance.now() - changedAt) / 1000);
        this.pushesInFlight--;
        this.drainPushQueue();
      });
    }
  }

  /** Warm-up is over: answer every held stream from the current snapshot. */
  endWarmup(): void {
    this.warming = false;
    for (const s of this.streams) s.endHold();
  }

  /** Connected (identified) proxies, by the build version they report. */
  connectedByVersion(): Map<string, number> {
    const by = new Map<string, number>();
    for (const s of this.streams) if (s.proxy) by.set(s.proxy.version ?? 'unknown', (by.get(s.proxy.version ?? 'unknown') ?? 0) + 1);
    return by;
  }

  status(): ProxyStatus[] {
    return [...this.streams].map((s) => s.status()).filter((s) => s !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** What the cache holds for one connected proxy now (decoded, /config_dump-shaped); undefined when
   * no identified stream has that id or there is no snapshot yet. */
  configDump(proxyId: string): Record<string, unknown> | undefined {
    if (!this.cache.snapshot()) return undefined;
    for (const s of this.streams) if (s.proxy?.id === proxyId) return controlPlaneConfigDump({ id: proxyId, protocol: s.protocol, resources: () => s.resources() });
    return undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.grpcServers.map((server) => this.closeServer(server)));
  }

  private closeServer(server: grpc.Server): Promise<void> {
    return new Promise<void>((resolve) => {
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
    for (const server of this.grpcServers) server.forceShutdown();
  }
}
