// A state-of-the-world ADS stream (StreamAggregatedResources): what Envoy on SotW, gRPC's proxyless
// xDS clients and `weft proxy --xds-protocol sotw` speak. Wildcard LDS/CDS get the whole set on every
// change, named LDS/CDS every subscribed resource when one changed; RDS and EDS the subscribed
// resources whose bytes changed.
import {
  PUSH_ORDER,
  TypeUrl,
  xdsTypeOf,
  type AnyWire,
  type DiscoveryRequestWire,
  type DiscoveryResponseWire,
  type XdsType,
} from '../../api/envoy.js';
import { allResources, lookup } from './cache.js';
import { classify } from './classify.js';
import { newTypeStatus, recordAck, XdsStream, type TypeStatus } from './stream-base.js';

interface SotwTypeState extends TypeStatus {
  nonce: string;
  subscribed: string[];
  /** RDS/EDS: what this stream last sent of each name, so a push carries only what changed. */
  sentResources: Map<string, AnyWire>;
}

export class SotwStream extends XdsStream<DiscoveryRequestWire, DiscoveryResponseWire, SotwTypeState> {
  private nonce = 0;
  /** Types whose initial request came while held, in arrival order. */
  private readonly heldTypes = new Set<XdsType>();

  onRequest(req: DiscoveryRequestWire): void {
    // A first request with a version: the proxy runs a config from an earlier stream.
    if (!this.identify(req.node, !!req.version_info)) return;
    const proxyId = this.proxy!.id;
    const type = xdsTypeOf(req.type_url);
    if (!type || type === 'virtualHost') {
      this.host.log(`${proxyId}: ignoring request for ${type ? 'VHDS, which needs a Delta stream,' : `unknown type ${req.type_url}`}`);
      return;
    }
    const state = this.types.get(type);
    const d = classify(req, state);
    switch (d.kind) {
      case 'initial': {
        const s: SotwTypeState = state ?? { ...newTypeStatus(), nonce: '', subscribed: [], sentResources: new Map() };
        s.subscribed = [...(req.resource_names ?? [])].sort();
        s.sentResources.clear();
        if (req.version_info) s.acked = req.version_info; // a reconnecting proxy already runs this version
        this.types.set(type, s);
        if (this.held) this.heldTypes.add(type);
        else this.send(type, true);
        return;
      }
      case 'nack':
        state!.nack = { version: state!.sent ?? '', message: d.message, at: new Date().toISOString() };
        state!.sentResources.clear(); // the proxy kept its old resources: the next push resends all
        this.nacked(type, state!.sent, d.message);
        return;
      case 'stale':
        return;
      case 'ack':
        recordAck(state!, d.version);
        this.host.onAck?.(proxyId, type, d.version);
        return;
      case 'subscription-change':
        recordAck(state!, d.version);
        state!.subscribed = d.names;
        state!.sentResources.clear();
        this.send(type, true);
        return;
    }
  }

  protected answerHeld(): void {
    // Push order, not arrival order: CDS before EDS, LDS before RDS.
    for (const type of PUSH_ORDER) if (this.heldTypes.has(type)) this.send(type, true);
    this.heldTypes.clear();
  }

  protected pushTypes(): void {
    for (const type of PUSH_ORDER) if (this.types.has(type)) this.send(type, false);
  }

  private send(type: XdsType, force: boolean): void {
    const state = this.types.get(type)!;
    const encoded = this.resources()[type];
    if (!force && encoded.version === state.sent) return;
    let resources: AnyWire[];
    const wildcard = isWildcard(type, state.subscribed);
    if (wildcard) {
      // Wildcard LDS/CDS: every response is the whole set (the proxy removes what is absent).
      resources = allResources(encoded);
    } else if (type === 'listener' || type === 'cluster') {
      // Named LDS/CDS (gRPC asks for the listener of its dial target, then the clusters its routes
      // name): every response holds each subscribed resource that exists, since the client takes
      // one that is absent as removed; sent again only when one of them changed.
      const named = new Map<string, AnyWire>();
      for (const name of state.subscribed) {
        const r = lookup(encoded, name);
        if (r) named.set(name, r);
      }
      if (!force && sameResources(named, state.sentResources)) return;
      state.sentResources = named;
      resources = [...named.values()];
    } else {
      // Named types: the proxy keeps what a response omits, so send only the subscribed resources
      // whose bytes changed since this stream last sent them (xDS protocol, "SotW" for RDS/EDS).
      resources = [];
      for (const name of state.subscribed) {
        const r = lookup(encoded, name);
        if (!r) continue;
        if (sameBytes(state.sentResources.get(name), r)) continue;
        resources.push(r);
        state.sentResources.set(name, r);
      }
      if (!resources.length && !force) return; // nothing this proxy asked for changed
    }
    state.nonce = String(++this.nonce);
    state.sent = encoded.version;
    state.sentAt = new Date().toISOString();
    state.resources = wildcard ? resources.length : state.sentResources.size;
    let bytes = 0;
    for (const r of resources) bytes += r.value.length;
    this.write({ version_info: encoded.version, resources, type_url: TypeUrl[type], nonce: state.nonce }, bytes, type);
  }
}

/** LDS and CDS are wildcard unless the request names resources (xDS protocol: an empty list, or
 * `*`, subscribes to all); RDS and EDS are always named. */
function isWildcard(type: XdsType, subscribed: readonly string[]): boolean {
  return (type === 'listener' || type === 'cluster') && (subscribed.length === 0 || subscribed.includes('*'));
}

function sameBytes(a: AnyWire | undefined, b: AnyWire): boolean {
  return a === b || (a !== undefined && a.value.length === b.value.length && Buffer.compare(a.value, b.value) === 0);
}

function sameResources(next: ReadonlyMap<string, AnyWire>, prev: ReadonlyMap<string, AnyWire>): boolean {
  if (next.size !== prev.size) return false;
  for (const [name, r] of next) if (!sameBytes(prev.get(name), r)) return false;
  return true;
}
