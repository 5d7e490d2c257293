// A Delta ADS stream (DeltaAggregatedResources, "incremental xDS"): per-type subscriptions, per-resource
// versions, pushes that carry only added or changed resources and the names removed, and VHDS.
// https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#incremental-xds
import {
  PUSH_ORDER,
  TypeUrl,
  xdsTypeOf,
  type DeltaDiscoveryRequestWire,
  type DeltaDiscoveryResponseWire,
  type XdsType,
} from '../../api/envoy.js';
import { classifyDelta } from './classify.js';
import { deltaDiff, emptyDiff, type DeltaDiff, type DeltaSubscription } from './delta-diff.js';
import { KnownVersions } from './known-versions.js';
import { newTypeStatus, recordAck, XdsStream, type TypeStatus } from './stream-base.js';

/** Types a first request that names nothing (or "*") subscribes to as a whole. */
const WILDCARD_CAPABLE = new Set<XdsType>(['cluster', 'listener']);
const WILDCARD = '*';

interface DeltaTypeState extends TypeStatus, DeltaSubscription {
  /** Nonce of the last response; only a request that names it ACKs or NACKs. */
  nonce: string;
  /** Undoes the last response's bookkeeping if the proxy NACKs it; set while it awaits its ACK. */
  inFlight: DeltaDiff['undo'] | undefined;
  /** Names were (un)subscribed since the last diff. */
  subscriptionChanged: boolean;
}

/** Thousands of proxies subscribe to the same names; keep one copy of each string (bounded). */
const interned = new Map<string, string>();
function intern(name: string): string {
  const known = interned.get(name);
  if (known !== undefined) return known;
  if (interned.size >= 200_000) interned.clear();
  interned.set(name, name);
  return name;
}

export class DeltaStream extends XdsStream<DeltaDiscoveryRequestWire, DeltaDiscoveryResponseWire, DeltaTypeState> {
  private nonce = 0;
  /** Types requested while held, and whether each must be answered even with nothing to send. */
  private readonly heldTypes = new Map<XdsType, boolean>();

  onRequest(req: DeltaDiscoveryRequestWire): void {
    // initial_resource_versions on the first request: the proxy has resources from an earlier stream.
    if (!this.identify(req.node, Object.keys(req.initial_resource_versions ?? {}).length > 0)) return;
    const proxyId = this.proxy!.id;
    const type = xdsTypeOf(req.type_url);
    if (!type) {
      this.host.log(`${proxyId}: ignoring delta request for unknown type ${req.type_url}`);
      return;
    }
    const subscribe = req.resource_names_subscribe ?? [];
    let state = this.types.get(type);
    const first = !state;
    if (!state) {
      state = { ...newTypeStatus(), nonce: '', inFlight: undefined, subscriptionChanged: true, wildcard: false, names: new Set(), known: new KnownVersions(), answered: new Map() };
      // Reconnecting: what the proxy already has is not sent again unless it changed.
      for (const [name, version] of Object.entries(req.initial_resource_versions ?? {})) state.known.set(name, version);
      state.wildcard = WILDCARD_CAPABLE.has(type) && (subscribe.length === 0 || subscribe.includes(WILDCARD));
      this.types.set(type, state);
    }

    const d = classifyDelta(req, state.nonce);
    if (d.kind === 'nack') {
      state.nack = { version: state.sent ?? '', message: d.message, at: new Date().toISOString() };
      state.inFlight?.(); // the proxy kept what it had
      state.inFlight = undefined;
      this.nacked(type, state.sent, d.message);
    } else if (d.kind === 'ack') {
      state.inFlight = undefined;
      recordAck(state, state.sent ?? '');
      this.host.onAck?.(proxyId, type, state.sent ?? '');
    }

    let changed = false;
    for (const name of subscribe) {
      if (name === WILDCARD) {
        if (!state.wildcard) changed = state.wildcard = true;
      } else if (!state.names.has(name)) {
        state.names.add(intern(name));
        changed = true;
      }
    }
    for (const name of req.resource_names_unsubscribe ?? []) {
      if (name === WILDCARD) state.wildcard = false;
      if (state.names.delete(name)) changed = true;
      // The client drops what it unsubscribed from; resubscribing gets it afresh.
      state.known.set(name, undefined);
      state.answered.delete(name);
    }
    if (changed) state.subscriptionChanged = true;
    state.resources = state.known.size;
    // The initial request gets a response even when there is nothing to send (Envoy waits for one
    // to finish its initial fetch), unless the proxy reconnected with resources it already has.
    const mustAnswer = first && Object.keys(req.initial_resource_versions ?? {}).length === 0;
    if (this.held) {
      if (first || changed) this.heldTypes.set(type, (this.heldTypes.get(type) ?? false) || mustAnswer);
    } else if (first || changed) this.send(type, mustAnswer);
  }

  protected answerHeld(): void {
    for (const type of PUSH_ORDER) {
      const mustAnswer = this.heldTypes.get(type);
      if (mustAnswer !== undefined) this.send(type, mustAnswer);
    }
    this.heldTypes.clear();
  }

  protected pushTypes(): void {
    for (const type of PUSH_ORDER) if (this.types.has(type)) this.send(type, false);
  }

  private send(type: XdsType, mustAnswer: boolean): void {
    const state = this.types.get(type)!;
    const encoded = this.resources()[type];
    if (!state.subscriptionChanged && encoded.version === state.sent) return;
    const diff = deltaDiff(state, encoded, type === 'virtualHost', state.subscriptionChanged);
    state.subscriptionChanged = false;
    state.sent = encoded.version;
    state.resources = state.known.size;
    if (emptyDiff(diff) && !mustAnswer) {
      // Nothing this proxy has or asked for changed: it is up to date with this snapshot.
      if (!state.inFlight) recordAck(state, encoded.version);
      return;
    }
    state.nonce = String(++this.nonce);
    state.sentAt = new Date().toISOString();
    state.inFlight = diff.undo;
    let bytes = 0;
    for (const r of diff.resources) bytes += r.resource?.value.length ?? 0;
    this.write(
      { system_version_info: encoded.version, resources: diff.resources, type_url: TypeUrl[type], removed_resources: diff.removed, nonce: state.nonce },
      bytes,
      type,
    );
  }
}
