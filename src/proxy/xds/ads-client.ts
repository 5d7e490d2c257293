// The ADS (state-of-the-world) client: one gRPC stream to the control plane carrying CDS, EDS,
// LDS and RDS. It owns the protocol (subscriptions, versions, nonces, ACK/NACK; the stream's life and
// reconnect backoff are reconnecting-stream.ts); what a response means is the handler's business
// (see apply.ts). delta-client.ts is the same for Delta ADS.
// Protocol: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
import * as grpc from '@grpc/grpc-js';
import {
  aggregatedDiscoveryService,
  TypeUrl,
  xdsTypeOf,
  type AnyWire,
  type DiscoveryRequestWire,
  type DiscoveryResponseWire,
  type NodeWire,
  type XdsProtocol,
} from '../../api/envoy.js';
import { proxyXdsTypes, type ProxyXdsType } from './decode.js';
import { ReconnectingStream, type StreamCounters } from './reconnecting-stream.js';

export type Subscriptions = Partial<Record<ProxyXdsType, string[]>>;

/** What applying a response came to; subscriptions are RDS/EDS/VHDS names it now needs. */
export type ApplyOutcome = { ok: true; subscriptions?: Subscriptions } | { ok: false; message: string };

export type ResponseHandler = (type: ProxyXdsType, resources: AnyWire[], version: string) => Promise<ApplyOutcome>;

export interface NackRecord {
  type: ProxyXdsType | string;
  version: string;
  nonce: string;
  message: string;
  at: string;
}

export interface AdsClientOptions {
  /** host:port of the ADS server. */
  address: string;
  node: NodeWire;
  handler: ResponseHandler;
  log?: (msg: string) => void;
  /** Reconnect backoff: starts at initialMs, doubles to maxMs, jittered. */
  backoff?: { initialMs?: number; maxMs?: number };
  random?: () => number;
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

/** Wildcard types subscribe to everything (resource_names []); the others name what they need. */
export const wildcardTypes: ReadonlySet<ProxyXdsType> = new Set<ProxyXdsType>(['cluster', 'listener']);
/** The order of the initial requests on a stream (what Envoy does: CDS and LDS first). */
export const requestOrder: readonly ProxyXdsType[] = ['cluster', 'listener', 'route', 'virtualHost', 'endpoint'];
export const INVALID_ARGUMENT = 3;

interface TypeState {
  names: string[];
  ackedVersion: string;
  nonce: string;
  /** Whether a request for this type went out on the current stream. */
  requested: boolean;
}

type AdsCall = grpc.ClientDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire>;

export class AdsClient implements XdsClient {
  readonly protocol = 'sotw';
  readonly address: string;
  private readonly opts: AdsClientOptions;
  private readonly client: grpc.Client;
  private readonly state = new Map<ProxyXdsType, TypeState>();
  private readonly stream: ReconnectingStream<DiscoveryRequestWire, DiscoveryResponseWire>;
  private sentNode = false;
  lastNack: NackRecord | null = null;

  constructor(opts: AdsClientOptions) {
    this.opts = opts;
    this.address = opts.address;
    this.client = newAdsClient(opts.address);
    for (const t of proxyXdsTypes) this.state.set(t, { names: [], ackedVersion: '', nonce: '', requested: false });
    this.stream = new ReconnectingStream({
      address: opts.address,
      open: () => (this.client as unknown as { StreamAggregatedResources(): AdsCall }).StreamAggregatedResources(),
      onOpen: () => this.onOpen(),
      onResponse: (id, resp) => this.onResponse(id, resp),
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

  subscribe(type: ProxyXdsType, names: readonly string[]): void {
    if (wildcardTypes.has(type)) return;
    const st = this.state.get(type)!;
    const sorted = [...new Set(names)].sort();
    if (sameList(sorted, st.names)) return;
    st.names = sorted;
    // An empty list only needs sending to drop an earlier subscription on this stream.
    if (this.stream.isOpen && (sorted.length > 0 || st.requested)) this.sendRequest(type);
  }

  versions(): Record<ProxyXdsType, string> {
    const out = {} as Record<ProxyXdsType, string>;
    for (const [t, st] of this.state) out[t] = st.ackedVersion;
    return out;
  }

  close(): void {
    this.stream.close();
    this.client.close();
  }

  private onOpen(): void {
    this.sentNode = false;
    for (const st of this.state.values()) {
      st.requested = false;
      st.nonce = '';
    }
    for (const t of requestOrder) {
      const st = this.state.get(t)!;
      if (wildcardTypes.has(t) || st.names.length > 0) this.sendRequest(t);
    }
  }

  private async onResponse(id: number, resp: DiscoveryResponseWire): Promise<void> {
    const xt = xdsTypeOf(resp.type_url);
    const type = xt && xt !== 'secret' && xt !== 'virtualHost' ? xt : undefined;
    if (!type) {
      // Not something we asked for: NACK so the server's status shows it.
      const message = `unsupported resource type ${resp.type_url}`;
      this.recordNack(resp.type_url, resp.version_info, resp.nonce, message);
      if (this.stream.isCurrent(id)) this.write({ version_info: '', resource_names: [], type_url: resp.type_url, response_nonce: resp.nonce, error_detail: { code: INVALID_ARGUMENT, message } });
      return;
    }
    const st = this.state.get(type)!;
    st.nonce = resp.nonce;
    let outcome: ApplyOutcome;
    try {
      outcome = await this.opts.handler(type, resp.resources ?? [], resp.version_info);
    } catch (err) {
      outcome = { ok: false, message: `internal error applying ${type}: ${(err as Error).message}` };
    }
    if (outcome.ok) {
      st.ackedVersion = resp.version_info;
      this.counters.acks++;
    } else {
      this.counters.nacks++;
      this.recordNack(type, resp.version_info, resp.nonce, outcome.message);
      this.log(`xds: NACK ${type} version ${resp.version_info}: ${outcome.message}`);
    }
    // The stream may have been replaced while applying; the new one re-requests with our versions.
    if (!this.stream.isCurrent(id)) return;
    this.write({
      version_info: st.ackedVersion,
      resource_names: wildcardTypes.has(type) ? [] : st.names,
      type_url: TypeUrl[type],
      response_nonce: resp.nonce,
      error_detail: outcome.ok ? null : { code: INVALID_ARGUMENT, message: outcome.message },
    });
    st.requested = true;
    if (outcome.ok && outcome.subscriptions) {
      for (const [t, names] of Object.entries(outcome.subscriptions)) this.subscribe(t as ProxyXdsType, names ?? []);
    }
  }

  private sendRequest(type: ProxyXdsType): void {
    const st = this.state.get(type)!;
    this.write({
      version_info: st.ackedVersion,
      resource_names: wildcardTypes.has(type) ? [] : st.names,
      type_url: TypeUrl[type],
      response_nonce: st.nonce,
      error_detail: null,
    });
    st.requested = true;
  }

  private write(req: Omit<DiscoveryRequestWire, 'node'>): void {
    if (!this.stream.isOpen) return;
    const msg: DiscoveryRequestWire = this.sentNode ? req : { ...req, node: this.opts.node };
    this.sentNode = true;
    this.stream.write(msg);
  }

  private recordNack(type: string, version: string, nonce: string, message: string): void {
    this.lastNack = { type, version, nonce, message, at: new Date().toISOString() };
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }
}

/** One gRPC client (HTTP/2 connection) to the ADS server, for either protocol's method. */
export function newAdsClient(address: string): grpc.Client {
  const Service = aggregatedDiscoveryService();
  return new Service(address, grpc.credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
