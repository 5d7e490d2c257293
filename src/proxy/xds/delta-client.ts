// The Delta ADS client (DeltaAggregatedResources): per-type subscriptions sent as changes, responses
// that carry only added/changed resources and removed names, ACK/NACK by nonce. A new stream resends
// every subscription (VHDS names too) with initial_resource_versions, so the control plane sends only
// what changed while the proxy was away. What a response means is the handler's business (apply.ts).
// https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds
import type * as grpc from '@grpc/grpc-js';
import {
  TypeUrl,
  xdsTypeOf,
  type AnyWire,
  type DeltaDiscoveryRequestWire,
  type DeltaDiscoveryResponseWire,
  type NodeWire,
} from '../../api/envoy.js';
import { INVALID_ARGUMENT, newAdsClient, requestOrder, wildcardTypes, type ApplyOutcome, type NackRecord, type XdsClient } from './ads-client.js';
import { proxyXdsTypes, type ProxyXdsType } from './decode.js';
import { ReconnectingStream, type StreamCounters } from './reconnecting-stream.js';

/** One resource of a delta response. Without `resource` it answers a name that does not exist. */
export interface DeltaResource {
  name: string;
  version: string;
  aliases: string[];
  resource: AnyWire | undefined;
}

export interface DeltaUpdate {
  resources: DeltaResource[];
  removed: string[];
  /** system_version_info: the snapshot version, for status and /config_dump. */
  version: string;
}

export type DeltaResponseHandler = (type: ProxyXdsType, update: DeltaUpdate) => Promise<ApplyOutcome>;

export interface DeltaClientOptions {
  address: string;
  node: NodeWire;
  handler: DeltaResponseHandler;
  log?: (msg: string) => void;
  backoff?: { initialMs?: number; maxMs?: number };
  random?: () => number;
}

interface TypeState {
  /** Names wanted (wildcard types: none, everything is wanted). */
  names: Set<string>;
  /** Names the current stream has been told about. */
  onStream: Set<string>;
  /** What this proxy has applied: resource name → version (initial_resource_versions on reconnect). */
  have: Map<string, string>;
  ackedVersion: string;
  /** Whether the current stream has had a request for this type. */
  requested: boolean;
}

type DeltaCall = grpc.ClientDuplexStream<DeltaDiscoveryRequestWire, DeltaDiscoveryResponseWire>;

export class DeltaAdsClient implements XdsClient {
  readonly protocol = 'delta';
  readonly address: string;
  private readonly client: grpc.Client;
  private readonly state = new Map<ProxyXdsType, TypeState>();
  private readonly stream: ReconnectingStream<DeltaDiscoveryRequestWire, DeltaDiscoveryResponseWire>;
  private sentNode = false;
  lastNack: NackRecord | null = null;

  constructor(private readonly opts: DeltaClientOptions) {
    this.address = opts.address;
    this.client = newAdsClient(opts.address);
    for (const t of proxyXdsTypes) this.state.set(t, { names: new Set(), onStream: new Set(), have: new Map(), ackedVersion: '', requested: false });
    this.stream = new ReconnectingStream({
      address: opts.address,
      open: () => (this.client as unknown as { DeltaAggregatedResources(): DeltaCall }).DeltaAggregatedResources(),
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
    st.names = new Set(names);
    // What is no longer subscribed is forgotten. VHDS resources are named apart from the hosts they
    // were asked for by, and stay for the life of their route table.
    if (type !== 'virtualHost') for (const name of st.have.keys()) if (!st.names.has(name)) st.have.delete(name);
    if (this.stream.isOpen) this.sendSubscriptionChanges(type);
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
      st.onStream.clear();
      st.requested = false;
    }
    for (const t of requestOrder) {
      const st = this.state.get(t)!;
      if (!wildcardTypes.has(t) && st.names.size === 0) continue;
      st.onStream = new Set(st.names);
      st.requested = true;
      this.write({
        type_url: TypeUrl[t],
        resource_names_subscribe: [...st.names],
        resource_names_unsubscribe: [],
        initial_resource_versions: Object.fromEntries(st.have),
        response_nonce: '',
        error_detail: null,
      });
    }
  }

  /** Tell the current stream the difference between what it knows and what is wanted now. */
  private sendSubscriptionChanges(type: ProxyXdsType): void {
    const st = this.state.get(type)!;
    const subscribe = [...st.names].filter((n) => !st.onStream.has(n));
    const unsubscribe = [...st.onStream].filter((n) => !st.names.has(n));
    if (!subscribe.length && !unsubscribe.length) return;
    st.onStream = new Set(st.names);
    // The first request of a type also carries what the proxy already has.
    const initial = st.requested ? {} : Object.fromEntries(st.have);
    st.requested = true;
    this.write({
      type_url: TypeUrl[type],
      resource_names_subscribe: subscribe,
      resource_names_unsubscribe: unsubscribe,
      initial_resource_versions: initial,
      response_nonce: '',
      error_detail: null,
    });
  }

  private async onResponse(id: number, resp: DeltaDiscoveryResponseWire): Promise<void> {
    const xt = xdsTypeOf(resp.type_url);
    const type = xt && xt !== 'secret' ? xt : undefined;
    if (!type) {
      const message = `unsupported resource type ${resp.type_url}`;
      this.lastNack = { type: resp.type_url, version: resp.system_version_info, nonce: resp.nonce, message, at: new Date().toISOString() };
      if (this.stream.isCurrent(id)) this.ack(resp.type_url, resp.nonce, message);
      return;
    }
    const st = this.state.get(type)!;
    const update: DeltaUpdate = {
      resources: (resp.resources ?? []).map((r) => ({ name: r.name, version: r.version, aliases: r.aliases ?? [], resource: r.resource ?? undefined })),
      removed: resp.removed_resources ?? [],
      version: resp.system_version_info,
    };
    let outcome: ApplyOutcome;
    try {
      outcome = await this.opts.handler(type, update);
    } catch (err) {
      outcome = { ok: false, message: `internal error applying ${type}: ${(err as Error).message}` };
    }
    if (outcome.ok) {
      for (const r of update.resources) {
        if (r.resource) st.have.set(r.name, r.version);
        else st.have.delete(r.name);
      }
      for (const name of update.removed) st.have.delete(name);
      st.ackedVersion = resp.system_version_info;
      this.counters.acks++;
    } else {
      this.counters.nacks++;
      this.lastNack = { type, version: resp.system_version_info, nonce: resp.nonce, message: outcome.message, at: new Date().toISOString() };
      this.log(`xds: NACK ${type} version ${resp.system_version_info}: ${outcome.message}`);
    }
    // The stream may have been replaced while applying; the new one resubscribes with our versions.
    if (!this.stream.isCurrent(id)) return;
    this.ack(TypeUrl[type], resp.nonce, outcome.ok ? undefined : outcome.message);
    if (outcome.ok && outcome.subscriptions) {
      for (const [t, names] of Object.entries(outcome.subscriptions)) this.subscribe(t as ProxyXdsType, names ?? []);
    }
  }

  private ack(typeUrl: string, nonce: string, nackMessage: string | undefined): void {
    this.write({
      type_url: typeUrl,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: nonce,
      error_detail: nackMessage === undefined ? null : { code: INVALID_ARGUMENT, message: nackMessage },
    });
  }

  private write(req: Omit<DeltaDiscoveryRequestWire, 'node'>): void {
    if (!this.stream.isOpen) return;
    const msg: DeltaDiscoveryRequestWire = this.sentNode ? req : { ...req, node: this.opts.node };
    this.sentNode = true;
    this.stream.write(msg);
  }

  private log(msg: string): void {
    this.opts.log?.(msg);
  }
}
