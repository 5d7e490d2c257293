// What the simulated sidecars of both protocols share (sim-proxy.ts speaks state of the world,
// sim-delta-proxy.ts Delta): their identity and node, one real @grpc/grpc-js ADS stream on its own
// HTTP/2 connection, reconnecting with backoff as a proxy does, the per-process window counters the
// harness reads, and the bookkeeping of what each type has had and ACKed. Each protocol's class says
// how it reads a response, what it asks for, and how its requests look.
import * as grpc from '@grpc/grpc-js';
import { aggregatedDiscoveryService, toStruct, xdsTypeOf, type NodeWire, type XdsType } from '../../src/api/envoy.js';

export interface SimIdentity {
  index: number;
  service: string;
  namespace: string;
  /** Loopback address the endpoint registers with (no traffic is ever sent to it). */
  ip: string;
  servicePort: number;
  /** Delta: the hosts this proxy's app calls (`svc-3:8080`), asked for over on-demand VHDS. */
  calls: string[];
}

/** What the worker reads of a simulated proxy, whichever protocol it speaks. */
export interface SimClient {
  readonly id: string;
  readonly who: SimIdentity;
  readonly types: Map<XdsType, TypeTrack>;
  readonly synced: boolean;
  error: string | undefined;
  reconnects: number;
  start(): void;
  close(): void;
}

/** Times are epoch milliseconds with sub-ms precision, comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();

export interface TypeTrack {
  version: string;
  nonce: string;
  names: string[];
  /** Time of the last ACK this stream sent for the type. */
  ackedAt: number;
  responses: number;
}

/** Per-process counters of what arrived since the harness last called `mark`. */
export const windowStats = {
  since: 0,
  bytes: 0,
  responses: 0,
  lastResponseAt: 0,
  byType: {} as Partial<Record<XdsType, { responses: number; bytes: number; resources: number }>>,
  decodeErrors: 0,
};

export function markWindow(): void {
  windowStats.since = now();
  windowStats.bytes = 0;
  windowStats.responses = 0;
  windowStats.lastResponseAt = 0;
  windowStats.byType = {};
}

/** What a protocol's deserializer makes of a response: the value its class reads, and what it counts. */
export interface ScannedEnvelope<Res> {
  res: Res;
  typeUrl: string;
  resources: number;
}

export abstract class SimClientBase<Req extends { node?: NodeWire | null }, Res extends { type_url: string }> implements SimClient {
  readonly id: string;
  readonly types = new Map<XdsType, TypeTrack>();
  closed = false;
  /** Message of the last stream failure, cleared when a response arrives on a new stream. */
  error: string | undefined;
  reconnects = 0;
  private call: grpc.ClientDuplexStream<Req, Res> | undefined;
  private client: grpc.Client | undefined;
  private sentNode = false;

  protected constructor(
    readonly who: SimIdentity,
    private readonly xdsAddress: string,
    private readonly method: 'StreamAggregatedResources' | 'DeltaAggregatedResources',
    /** The types that must each have been answered and ACKed once for the proxy to count as synced. */
    private readonly syncTypes: readonly XdsType[],
  ) {
    this.id = `sidecar~${who.ip}~${who.service}-${who.index}.${who.namespace}~${who.namespace}.svc.cluster.local`;
  }

  get synced(): boolean {
    for (const t of this.syncTypes) if (!this.types.get(t)?.ackedAt) return false;
    return true;
  }

  start(): void {
    this.client = simGrpcClient(this.xdsAddress);
    this.openStream();
  }

  close(): void {
    this.closed = true;
    this.call?.cancel();
    this.client?.close();
  }

  /** Deserialize a response (this runs for every proxy on the worker's core: read only what is needed). */
  protected abstract scan(buf: Buffer): ScannedEnvelope<Res>;
  /** A stream is up: send the initial requests. */
  protected abstract onStreamOpen(): void;
  protected abstract onResponse(type: XdsType, track: TypeTrack, res: Res): void;

  /** Write a request on the current stream; its first carries the node. */
  protected send(req: Omit<Req, 'node'>): void {
    const msg = (this.sentNode ? req : { ...req, node: simNode(this.who, this.id) }) as Req;
    this.sentNode = true;
    this.call?.write(msg);
  }

  /** Send the ACK of a response and make its version the type's current one. */
  protected recordAck(track: TypeTrack, version: string, nonce: string, ack: Omit<Req, 'node'>): void {
    track.version = version;
    track.nonce = nonce;
    this.send(ack);
    track.ackedAt = now();
  }

  private openStream(): void {
    const method = aggregatedDiscoveryService().service[this.method];
    const deserialize = (buf: Buffer): Res => {
      windowStats.bytes += buf.length;
      const scanned = this.scan(buf);
      const t = xdsTypeOf(scanned.typeUrl);
      if (t) {
        const s = (windowStats.byType[t] ??= { responses: 0, bytes: 0, resources: 0 });
        s.responses++;
        s.bytes += buf.length;
        s.resources += scanned.resources;
      }
      return scanned.res;
    };
    const call = this.client!.makeBidiStreamRequest(method.path, method.requestSerialize as (r: Req) => Buffer, deserialize);
    this.call = call;
    this.sentNode = false;
    let ended = false;
    const onEnd = (why: string): void => {
      if (ended || this.closed) return;
      ended = true;
      this.error = why;
      // Like a real proxy: reconnect with jittered exponential backoff, keeping what it has.
      const delay = reconnectDelay(this.reconnects);
      this.reconnects++;
      setTimeout(() => {
        if (!this.closed) this.openStream();
      }, delay);
    };
    call.on('data', (res: Res) => {
      this.error = undefined;
      this.receive(res);
    });
    call.on('error', (e: Error) => onEnd(e.message));
    call.on('end', () => onEnd('stream ended by the server'));
    this.onStreamOpen();
  }

  private receive(res: Res): void {
    windowStats.responses++;
    windowStats.lastResponseAt = now();
    const type = xdsTypeOf(res.type_url);
    if (!type) return;
    const track = this.types.get(type) ?? { version: '', nonce: '', names: [], ackedAt: 0, responses: 0 };
    this.types.set(type, track);
    track.responses++;
    this.onResponse(type, track, res);
  }
}

/** Node metadata as `weft proxy` sends it. */
function simNode(w: SimIdentity, id: string): NodeWire {
  const workload = `${w.service}-${w.index}`;
  return {
    id,
    cluster: w.service,
    user_agent_name: 'weft-bench-sim',
    metadata: toStruct({
      NAMESPACE: w.namespace,
      LABELS: { app: w.service, version: 'v1' },
      SERVICE_ACCOUNT: 'default',
      INSTANCE_IPS: w.ip,
      WORKLOAD_NAME: workload,
      WEFT_SERVICE: w.service,
      WEFT_PORTS: [{ service_port: w.servicePort, endpoint_port: 15006, app_port: w.servicePort, protocol: 'HTTP' }],
      WEFT_OUTBOUND_PORT: 15001,
      WEFT_INBOUND_PORT: 15006,
      WEFT_CAPTURE: 'explicit',
    }),
  };
}

/** Jittered exponential backoff, as a real proxy reconnects (0.25–8 s). */
const reconnectDelay = (attempt: number): number => Math.min(8000, 250 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random());

/** A client with its own HTTP/2 connection (local subchannel pool), as real proxies have. */
function simGrpcClient(xdsAddress: string): grpc.Client {
  return new grpc.Client(xdsAddress, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
    // Envoy-like reconnect backoff (grpc-js would back off to 120 s).
    'grpc.initial_reconnect_backoff_ms': 500,
    'grpc.max_reconnect_backoff_ms': 10_000,
  });
}
