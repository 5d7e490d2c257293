// The ADS (state-of-the-world) client: one gRPC stream to the control plane carrying CDS, EDS,
// LDS and RDS. It owns the protocol (subscriptions, versions, nonces, ACK/NACK, reconnect with
// backoff); what a response means is the handler's business (see apply.ts).
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
} from '../../api/envoy.js';
import { proxyXdsTypes, type ProxyXdsType } from './decode.js';

export type Subscriptions = Partial<Record<ProxyXdsType, string[]>>;

/** What applying a response came to; subscriptions are RDS/EDS names it now needs. */
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

/** Wildcard types subscribe to everything (resource_names []); the others name what they need. */
const wildcardTypes = new Set<ProxyXdsType>(['cluster', 'listener']);
/** The order of the initial requests on a stream (what Envoy does: CDS and LDS first). */
const requestOrder: readonly ProxyXdsType[] = ['cluster', 'listener', 'route', 'endpoint'];
const INVALID_ARGUMENT = 3;

interface TypeState {
  names: string[];
  ackedVersion: string;
  nonce: string;
  /** Whether a request for this type went out on the current stream. */
  requested: boolean;
}

type AdsCall = grpc.ClientDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire>;

export class AdsClient {
  readonly address: string;
  private readonly opts: AdsClientOptions;
  private readonly client: grpc.Client;
  private readonly state = new Map<ProxyXdsType, TypeState>();
  private call: AdsCall | undefined;
  private streamId = 0;
  private sentNode = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  /** The last failure logged; repeats are counted, not logged, until the stream works again. */
  private lastFailure = '';
  connected = false;
  lastNack: NackRecord | null = null;
  readonly counters = { streams: 0, responses: 0, acks: 0, nacks: 0, streamFailures: 0 };

  constructor(opts: AdsClientOptions) {
    this.opts = opts;
    this.address = opts.address;
    const Service = aggregatedDiscoveryService();
    this.client = new Service(opts.address, grpc.credentials.createInsecure(), {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    for (const t of proxyXdsTypes) this.state.set(t, { names: [], ackedVersion: '', nonce: '', requested: false });
  }

  start(): void {
    if (this.call || this.closed) return;
    this.openStream();
  }

  /** Set the names wanted for a non-wildcard type; sends a request when they change. */
  subscribe(type: ProxyXdsType, names: readonly string[]): void {
    if (wildcardTypes.has(type)) return;
    const st = this.state.get(type)!;
    const sorted = [...new Set(names)].sort();
    if (sameList(sorted, st.names)) return;
    st.names = sorted;
    // An empty list only needs sending to drop an earlier subscription on this stream.
    if (this.call && (sorted.length > 0 || st.requested)) this.sendRequest(type);
  }

  /** Last ACKed version per type (what a reconnect resumes from). */
  versions(): Record<ProxyXdsType, string> {
    const out = {} as Record<ProxyXdsType, string>;
    for (const [t, st] of this.state) out[t] = st.ackedVersion;
    return out;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.endStream();
    this.client.close();
  }

  private openStream(): void {
    const id = ++this.streamId;
    this.counters.streams++;
    const call = (this.client as unknown as { StreamAggregatedResources(): AdsCall }).StreamAggregatedResources();
    this.call = call;
    this.sentNode = false;
    for (const st of this.state.values()) {
      st.requested = false;
      st.nonce = '';
    }
    call.on('data', (resp: DiscoveryResponseWire) => {
      if (id !== this.streamId) return;
      this.markConnected();
      this.attempt = 0;
      this.lastFailure = '';
      this.queue = this.queue.then(() => this.onResponse(id, resp)).catch((err) => this.log(`xds: handling a response failed: ${err}`));
    });
    call.on('metadata', () => {
      if (id === this.streamId) this.markConnected();
    });
    const fail = (why: string) => {
      if (id !== this.streamId || this.closed) return;
      this.counters.streamFailures++;
      if (why !== this.lastFailure) this.log(`xds: stream to ${this.address} ended: ${why}; reconnecting with backoff [WEFT_E_XDS_STREAM]`);
      this.lastFailure = why;
      this.endStream();
      this.scheduleReconnect();
    };
    call.on('error', (err: grpc.ServiceError) => fail(`${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`));
    call.on('end', () => fail('server closed the stream'));
    for (const t of requestOrder) {
      const st = this.state.get(t)!;
      if (wildcardTypes.has(t) || st.names.length > 0) this.sendRequest(t);
    }
  }

  private markConnected(): void {
    if (this.connected) return;
    this.connected = true;
    this.log(`xds: connected to ${this.address} (stream ${this.counters.streams})`);
  }

  private endStream(): void {
    const call = this.call;
    this.call = undefined;
    this.connected = false;
    this.streamId++;
    if (call) {
      call.removeAllListeners('data');
      call.on('error', () => {}); // a cancelled call reports CANCELLED; nothing to do
      call.cancel();
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer) return;
    const initial = this.opts.backoff?.initialMs ?? 100;
    const max = this.opts.backoff?.maxMs ?? 5_000;
    const ceiling = Math.min(max, initial * 2 ** this.attempt);
    this.attempt++;
    const random = this.opts.random ?? Math.random;
    const delay = Math.round(ceiling / 2 + (random() * ceiling) / 2); // jitter: 50–100 % of the step
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.openStream();
    }, delay);
    this.timer.unref?.();
  }

  private async onResponse(id: number, resp: DiscoveryResponseWire): Promise<void> {
    this.counters.responses++;
    const xt = xdsTypeOf(resp.type_url);
    const type = xt && xt !== 'secret' ? (xt as ProxyXdsType) : undefined;
    if (!type) {
      // Not something we asked for: NACK so the server's status shows it.
      const message = `unsupported resource type ${resp.type_url}`;
      this.recordNack(resp.type_url, resp.version_info, resp.nonce, message);
      if (id === this.streamId) this.write({ version_info: '', resource_names: [], type_url: resp.type_url, response_nonce: resp.nonce, error_detail: { code: INVALID_ARGUMENT, message } });
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
    if (id !== this.streamId) return;
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
    const call = this.call;
    if (!call) return;
    const msg: DiscoveryRequestWire = this.sentNode ? req : { ...req, node: this.opts.node };
    this.sentNode = true;
    call.write(msg);
  }

  private recordNack(type: string, version: string, nonce: string, message: string): void {
    this.lastNack = { type, version, nonce, message, at: new Date().toISOString() };
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
