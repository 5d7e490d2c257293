// The Delta ADS client (DeltaAggregatedResources): per-type subscriptions sent as changes, responses
// that carry only added/changed resources and removed names, ACK/NACK by nonce. A new stream resends
// every subscription (VHDS names too) with initial_resource_versions, so the control plane sends only
// what changed while the proxy was away. What both protocols share is xds-client-base.ts; what a
// response means is the handler's business (apply.ts).
// https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds
import { TypeUrl, type AnyWire, type DeltaDiscoveryRequestWire, type DeltaDiscoveryResponseWire, type XdsType } from '../../api/envoy.js';
import type { ProxyXdsType } from './decode.js';
import { INVALID_ARGUMENT, wildcardTypes, XdsClientBase, type ApplyOutcome, type ResponseEnvelope, type XdsClientOptions } from './xds-client-base.js';

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

export interface DeltaClientOptions extends XdsClientOptions {
  handler: DeltaResponseHandler;
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

export class DeltaAdsClient extends XdsClientBase<DeltaDiscoveryRequestWire, DeltaDiscoveryResponseWire, TypeState> {
  readonly protocol = 'delta';

  constructor(private readonly opts: DeltaClientOptions) {
    super(opts, 'DeltaAggregatedResources', () => ({ names: new Set(), onStream: new Set(), have: new Map(), ackedVersion: '', requested: false }));
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

  protected override forgetStream(st: TypeState): void {
    st.onStream.clear();
    st.requested = false;
  }

  protected override requestOnNewStream(type: ProxyXdsType, st: TypeState): void {
    if (!wildcardTypes.has(type) && st.names.size === 0) return;
    st.onStream = new Set(st.names);
    st.requested = true;
    this.write({
      type_url: TypeUrl[type],
      resource_names_subscribe: [...st.names],
      resource_names_unsubscribe: [],
      initial_resource_versions: Object.fromEntries(st.have),
      response_nonce: '',
      error_detail: null,
    });
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

  protected override envelope(res: DeltaDiscoveryResponseWire): ResponseEnvelope {
    return { typeUrl: res.type_url, version: res.system_version_info, nonce: res.nonce };
  }

  /** Every type, VHDS and SDS included. */
  protected override takes(_type: XdsType): _type is ProxyXdsType {
    return true;
  }

  protected override apply(type: ProxyXdsType, res: DeltaDiscoveryResponseWire): Promise<ApplyOutcome> {
    return this.opts.handler(type, {
      resources: (res.resources ?? []).map((r) => ({ name: r.name, version: r.version, aliases: r.aliases ?? [], resource: r.resource ?? undefined })),
      removed: res.removed_resources ?? [],
      version: res.system_version_info,
    });
  }

  protected override onApplied(st: TypeState, res: DeltaDiscoveryResponseWire): void {
    for (const r of res.resources ?? []) {
      if (r.resource) st.have.set(r.name, r.version);
      else st.have.delete(r.name);
    }
    for (const name of res.removed_resources ?? []) st.have.delete(name);
  }

  protected override acknowledge(typeUrl: string, _type: ProxyXdsType | undefined, nonce: string, nackMessage: string | undefined): void {
    this.write({
      type_url: typeUrl,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: nonce,
      error_detail: nackMessage === undefined ? null : { code: INVALID_ARGUMENT, message: nackMessage },
    });
  }
}
