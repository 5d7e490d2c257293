// The ADS (state-of-the-world) client: one gRPC stream to the control plane carrying CDS, EDS,
// LDS and RDS. It owns the SotW wire format (full name lists, versions, nonces); what both protocols
// share (the stream, the ACK/NACK flow, the node) is xds-client-base.ts, and what a response means is
// the handler's business (see apply.ts). delta-client.ts is the same for Delta ADS.
// Protocol: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
import { TypeUrl, type AnyWire, type DiscoveryRequestWire, type DiscoveryResponseWire, type XdsType } from '../../api/envoy.js';
import type { ProxyXdsType } from './decode.js';
import { INVALID_ARGUMENT, wildcardTypes, XdsClientBase, type ApplyOutcome, type ResponseEnvelope, type XdsClientOptions } from './xds-client-base.js';

// Their callers have always imported these from here.
export type { ApplyOutcome, NackRecord, Subscriptions, XdsClient } from './xds-client-base.js';

export type ResponseHandler = (type: ProxyXdsType, resources: AnyWire[], version: string) => Promise<ApplyOutcome>;

export interface AdsClientOptions extends XdsClientOptions {
  handler: ResponseHandler;
}

interface TypeState {
  names: string[];
  ackedVersion: string;
  nonce: string;
  /** Whether a request for this type went out on the current stream. */
  requested: boolean;
}

export class AdsClient extends XdsClientBase<DiscoveryRequestWire, DiscoveryResponseWire, TypeState> {
  readonly protocol = 'sotw';

  constructor(private readonly opts: AdsClientOptions) {
    super(opts, 'StreamAggregatedResources', () => ({ names: [], ackedVersion: '', nonce: '', requested: false }));
  }

  subscribe(type: ProxyXdsType, names: readonly string[]): void {
    if (wildcardTypes.has(type)) return;
    const st = this.state.get(type)!;
    const sorted = [...new Set(names)].sort();
    if (sameList(sorted, st.names)) return;
    st.names = sorted;
    // An empty list only needs sending to drop an earlier subscription on this stream.
    if (this.stream.isOpen && (sorted.length > 0 || st.requested)) this.sendRequest(type, st.nonce);
  }

  protected override forgetStream(st: TypeState): void {
    st.requested = false;
    st.nonce = '';
  }

  protected override requestOnNewStream(type: ProxyXdsType, st: TypeState): void {
    if (wildcardTypes.has(type) || st.names.length > 0) this.sendRequest(type, st.nonce);
  }

  protected override envelope(res: DiscoveryResponseWire): ResponseEnvelope {
    return { typeUrl: res.type_url, version: res.version_info, nonce: res.nonce };
  }

  protected override takes(type: XdsType): type is ProxyXdsType {
    return type !== 'virtualHost';
  }

  protected override apply(type: ProxyXdsType, res: DiscoveryResponseWire): Promise<ApplyOutcome> {
    this.state.get(type)!.nonce = res.nonce;
    return this.opts.handler(type, res.resources ?? [], res.version_info);
  }

  protected override acknowledge(typeUrl: string, type: ProxyXdsType | undefined, nonce: string, nackMessage: string | undefined): void {
    const error_detail = nackMessage === undefined ? null : { code: INVALID_ARGUMENT, message: nackMessage };
    if (type) this.sendRequest(type, nonce, error_detail);
    else this.write({ version_info: '', resource_names: [], type_url: typeUrl, response_nonce: nonce, error_detail });
  }

  /** A request carries the full name list and the last ACKed version, whatever it answers. */
  private sendRequest(type: ProxyXdsType, nonce: string, error_detail: DiscoveryRequestWire['error_detail'] = null): void {
    const st = this.state.get(type)!;
    this.write({
      version_info: st.ackedVersion,
      resource_names: wildcardTypes.has(type) ? [] : st.names,
      type_url: TypeUrl[type],
      response_nonce: nonce,
      error_detail,
    });
    st.requested = true;
  }
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
