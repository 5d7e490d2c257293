// The ADS server decides HOW: one gRPC stream per proxy, state of the world or Delta (with VHDS), and
// pushes throttled across streams. It knows nothing of Istio; the cache hands it encoded resources,
// and each stream kind (sotw-stream.ts, delta-stream.ts) keeps its own protocol bookkeeping.
import * as grpc from '@grpc/grpc-js';
import type {
  DeltaDiscoveryRequestWire,
  DeltaDiscoveryResponseWire,
  DiscoveryRequestWire,
  DiscoveryResponseWire,
  XdsType,
} from '../../api/envoy.js';
import type { ProxyRegistry } from '../registry/proxy-registry.js';
import type { XdsCache } from './cache.js';
import { DeltaStream } from './delta-stream.js';
import { SotwStream } from './sotw-stream.js';
import type { ProxyStatus, StreamHost, TypeStatus, XdsStream } from './stream-base.js';
import { WriteBudget } from './write-budget.js';

export type { ProxyStatus, TypeStatus } from './stream-base.js';

type Log = (msg: string) => void;
type AnyStream = XdsStream<never, unknown, TypeStatus>;

export interface AdsServerOptions {
  cache: XdsCache;
  registry: ProxyRegistry;
  log?: Log;
  /** Proxies being pushed to at once; the rest wait their turn (Istio's PILOT_PUSH_THROTTLE). Bounds
   * the memory a push to thousands of proxies holds in transport buffers. */
  maxConcurrentPushes?: number;
  /** Response bytes handed to the transport and not yet sent, across all streams (default 64 MiB). */
  maxBytesInFlight?: number;
}

export class AdsServer implements StreamHost {
  readonly cache: XdsCache;
  readonly registry: ProxyRegistry;
  readonly log: Log;
  private readonly streams = new Set<AnyStream>();
  private grpcServer: grpc.Server | undefined;
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
  private readonly pushQueue = new Set<AnyStream>();
  private pushesInFlight = 0;
  readonly writeBudget: WriteBudget;

  constructor(opts: AdsServerOptions) {
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

  private serve<Req, Res>(call: grpc.ServerDuplexStream<Req, Res>, stream: XdsStream<Req, Res, TypeStatus>): void {
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
      try {
        stream.onRequest(req);
      } catch (err) {
        this.log(`ADS stream error: ${(err as Error).stack ?? err}`);
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
      const stream: AnyStream = this.pushQueue.values().next().value!;
      this.pushQueue.delete(stream);
      if (!this.streams.has(stream)) continue;
      this.pushesInFlight++;
      void stream.push().finally(() => {
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
