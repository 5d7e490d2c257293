// What the state-of-the-world and Delta ADS clients share: one gRPC connection, the stream's life
// (reconnecting-stream.ts), per-type state with the last ACKed version, the node on the first request
// of each stream, and the flow of a response: apply it, count and record a NACK, answer on the stream
// it came from, follow the subscriptions it brought. ads-client.ts and delta-client.ts own their wire
// format: what a request says and what a client remembers per type.
// Protocol: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
import * as grpc from '@grpc/grpc-js';
import { aggregatedDiscoveryService, xdsTypeOf, type NodeWire, type XdsProtocol, type XdsType } from '../../api/envoy.js';
import { proxyXdsTypes, type ProxyXdsType } from './decode.js';
import { DEFAULT_BACKOFF, ReconnectingStream, type StreamCounters } from './reconnecting-stream.js';

export type Subscriptions = Partial<Record<ProxyXdsType, string[]>>;

/** What applying a response came to; subscriptions are RDS/EDS/VHDS/SDS names it now needs. */
export type ApplyOutcome = { ok: true; subscriptions?: Subscriptions } | { ok: false; message: string };

export interface NackRecord {
  type: ProxyXdsType | string;
  version: string;
  nonce: string;
  message: string;
  at: string;
}

/** What the proxy needs of its xDS client, whichever protocol it speaks. */
export interface XdsClient {
  readonly protocol: XdsProtocol;
  readonly address: string;
  readonly connected: boolean;
  readonly lastNack: NackRecord | null;
  readonly counters: StreamCounters;
  start(): void;
  /** Set the names wanted for a non-wildcard type; sends a request when they change. */
  subscribe(type: ProxyXdsType, names: readonly string[]): void;
  /** Last ACKed version per type (what a reconnect resumes from). */
  versions(): Record<ProxyXdsType, string>;
  close(): void;
}

/** Options of either client, but for its protocol's response handler. */
export interface XdsClientOptions {
  /** host:port of the ADS server. */
  address: string;
  node: NodeWire;
  log?: (msg: string) => void;
  /** Reconnect backoff: starts at initialMs, doubles to maxMs, jittered. */
  backoff?: { initialMs?: number; maxMs?: number };
  random?: () => number;
}

/** Wildcard types subscribe to everything (resource_names []); the others name what they need. */
export const wildcardTypes: ReadonlySet<ProxyXdsType> = new Set<ProxyXdsType>(['cluster', 'listener']);
/** The order of the initial requests on a stream (what Envoy does: CDS and LDS first). */
export const requestOrder: readonly ProxyXdsType[] = ['cluster', 'listener', 'route', 'virtualHost', 'endpoint', 'secret'];
export const INVALID_ARGUMENT = 3;

/** The fields of a response the shared flow reads; the protocols name them differently. */
export interface ResponseEnvelope {
  typeUrl: string;
  version: string;
  nonce: string;
}

type AdsMethod = 'StreamAggregatedResources' | 'DeltaAggregatedResources';

export abstract class XdsClientBase<Req extends { node?: NodeWire | null }, Res, State extends { ackedVersion: string }> implements XdsClient {
  abstract readonly protocol: XdsProtocol;
  readonly address: string;
  lastNack: NackRecord | null = null;
  protected readonly state = new Map<ProxyXdsType, State>();
  protected readonly stream: ReconnectingStream<Req, Res>;
  private readonly client: grpc.Client;
  private readonly node: NodeWire;
  private readonly logTo: ((msg: string) => void) | undefined;
  private sentNode = false;

  protected constructor(opts: XdsClientOptions, method: AdsMethod, newTypeState: () => State) {
    this.address = opts.address;
    this.node = opts.node;
    this.logTo = opts.log;
    this.client = newAdsClient(opts.address);
    for (const t of proxyXdsTypes) this.state.set(t, newTypeState());
    this.stream = new ReconnectingStream({
      address: opts.address,
      open: () => (this.client as unknown as Record<AdsMethod, () => grpc.ClientDuplexStream<Req, Res>>)[method](),
      onOpen: () => this.onOpen(),
      onResponse: (id, res) => this.onResponse(id, res),
      log: (msg) => this.log(msg),
      backoff: opts.backoff,
      random: opts.random,
    });
  }

  get connected(): boolean {
    return this.stream.connected;
  }

  get counters(): StreamCounters {
    return this.stream.counters;
  }

  start(): void {
    this.stream.start();
  }

  abstract subscribe(type: ProxyXdsType, names: readonly string[]): void;

  versions(): Record<ProxyXdsType, string> {
    const out = {} as Record<ProxyXdsType, string>;
    for (const [t, st] of this.state) out[t] = st.ackedVersion;
    return out;
  }

  close(): void {
    this.stream.close();
    this.client.close();
  }

  /** A new stream knows nothing yet: clear what the type's state says was told to the old one. */
  protected abstract forgetStream(st: State): void;
  /** The first request of a type on a new stream, if the type is wanted at all. */
  protected abstract requestOnNewStream(type: ProxyXdsType, st: State): void;
  protected abstract envelope(res: Res): ResponseEnvelope;
  /** The types this protocol takes responses of; others are NACKed. */
  protected abstract takes(type: XdsType): type is ProxyXdsType;
  /** Hand the response to the handler. */
  protected abstract apply(type: ProxyXdsType, res: Res): Promise<ApplyOutcome>;
  /** Answer a response: an ACK, or a NACK with nackMessage; type is undefined for a type not taken. */
  protected abstract acknowledge(typeUrl: string, type: ProxyXdsType | undefined, nonce: string, nackMessage: string | undefined): void;

  /** A response was applied and is about to be ACKed: remember what it brought beyond its version. */
  protected onApplied(_st: State, _res: Res): void {}

  protected write(req: Omit<Req, 'node'>): void {
    if (!this.stream.isOpen) return;
    const msg = (this.sentNode ? req : { ...req, node: this.node }) as Req;
    this.sentNode = true;
    this.stream.write(msg);
  }

  private onOpen(): void {
    this.sentNode = false;
    for (const st of this.state.values()) this.forgetStream(st);
    for (const t of requestOrder) this.requestOnNewStream(t, this.state.get(t)!);
  }

  private async onResponse(id: number, res: Res): Promise<void> {
    const { typeUrl, version, nonce } = this.envelope(res);
    const xt = xdsTypeOf(typeUrl);
    const type = xt && this.takes(xt) ? xt : undefined;
    if (!type) {
      // Not something we asked for: NACK so the server's status shows it.
      const message = `unsupported resource type ${typeUrl}`;
      this.recordNack(typeUrl, version, nonce, message);
      if (this.stream.isCurrent(id)) this.acknowledge(typeUrl, undefined, nonce, message);
      return;
    }
    const st = this.state.get(type)!;
    let outcome: ApplyOutcome;
    try {
      outcome = await this.apply(type, res);
    } catch (err) {
      outcome = { ok: false, message: `internal error applying ${type}: ${(err as Error).message}` };
    }
    if (outcome.ok) {
      this.onApplied(st, res);
      st.ackedVersion = version;
      this.counters.acks++;
    } else {
      this.counters.nacks++;
      this.recordNack(type, version, nonce, outcome.message);
      this.log(`xds: NACK ${type} version ${version}: ${outcome.message}`);
    }
    // The stream may have been replaced while applying; the new one re-requests with our versions.
    if (!this.stream.isCurrent(id)) return;
    this.acknowledge(typeUrl, type, nonce, outcome.ok ? undefined : outcome.message);
    if (outcome.ok && outcome.subscriptions) {
      for (const [t, names] of Object.entries(outcome.subscriptions)) this.subscribe(t as ProxyXdsType, names ?? []);
    }
  }

  private recordNack(type: string, version: string, nonce: string, message: string): void {
    this.lastNack = { type, version, nonce, message, at: new Date().toISOString() };
  }

  private log(msg: string): void {
    this.logTo?.(msg);
  }
}

/** One gRPC client (HTTP/2 connection) to the ADS server, for either protocol's method. */
function newAdsClient(address: string): grpc.Client {
  const Service = aggregatedDiscoveryService();
  return new Service(address, grpc.credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // The stream's own backoff (reconnecting-stream.ts) decides when to try again; grpc-js's connection
    // backoff (1 s growing to 120 s by default) must not add to it, or a proxy whose control plane was
    // away for a minute would wait minutes after it came back.
    'grpc.initial_reconnect_backoff_ms': DEFAULT_BACKOFF.initialMs,
    'grpc.max_reconnect_backoff_ms': DEFAULT_BACKOFF.maxMs,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}
