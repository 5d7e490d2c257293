// One simulated sidecar on Delta ADS, as `weft proxy` (the default) behaves: wildcard CDS and LDS, EDS
// for the EDS clusters CDS names, RDS for the route configurations LDS names, and once RDS arrives,
// VHDS: the route configuration (Envoy's first VHDS request) plus the hosts its app calls, as the
// on-demand filter would ask for them on the first request to each. It ACKs every response and
// resubscribes with initial_resource_versions after a reconnect. Responses are scanned, not decoded;
// the few CDS/LDS resources it must read are decoded once per process (versions are digests).
import { TypeUrl, unpackAny, type DeltaDiscoveryRequestWire, type XdsType } from '../../src/api/envoy.js';
import { eachField } from './wire-scan.js';
import { SimClientBase, windowStats, type ScannedEnvelope, type SimIdentity, type TypeTrack } from './sim-client.js';

const ROUTE_CONFIG = 'virtualOutbound';

interface ScannedResource {
  name: string;
  version: string;
  any: { type_url: string; value: Buffer } | undefined;
}

interface ScannedResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: ScannedResource[];
  removed: string[];
}

/** DeltaDiscoveryResponse: 1 system_version_info, 2 resources, 4 type_url, 5 nonce, 6 removed_resources;
 * Resource: 1 version, 2 resource (Any: 1 type_url, 2 value), 3 name. */
function scanDelta(buf: Buffer): ScannedResponse {
  const out: ScannedResponse = { system_version_info: '', type_url: '', nonce: '', resources: [], removed: [] };
  const text = (s: number, e: number) => buf.toString('utf8', s, e);
  eachField(buf, 0, buf.length, (field, s, e) => {
    if (field === 1) out.system_version_info = text(s, e);
    else if (field === 4) out.type_url = text(s, e);
    else if (field === 5) out.nonce = text(s, e);
    else if (field === 6) out.removed.push(text(s, e));
    else if (field === 2) {
      const r: ScannedResource = { name: '', version: '', any: undefined };
      eachField(buf, s, e, (f, rs, re) => {
        if (f === 1) r.version = text(rs, re);
        else if (f === 3) r.name = text(rs, re);
        else if (f === 2) {
          const any: { type_url: string; value: Buffer } = { type_url: '', value: Buffer.alloc(0) };
          eachField(buf, rs, re, (af, as, ae) => {
            if (af === 1) any.type_url = text(as, ae);
            else if (af === 2) any.value = buf.subarray(as, ae);
          });
          r.any = any;
        }
      });
      out.resources.push(r);
    }
  });
  return out;
}

/** What a CDS (EDS service name) or LDS (RDS names) resource references, decoded once per version. */
const references = new Map<string, string[]>();
function referenced(type: 'cluster' | 'listener', r: ScannedResource): string[] {
  const key = `${type}|${r.name}|${r.version}`;
  let names = references.get(key);
  if (names) return names;
  const msg = unpackAny(r.any!);
  if (type === 'cluster') {
    const eds = msg.eds_cluster_config as { service_name?: string } | undefined;
    names = msg.type === 'EDS' ? [eds?.service_name || String(msg.name)] : [];
  } else {
    names = [];
    for (const chain of (msg.filter_chains as Array<{ filters?: Array<{ typed_config?: Record<string, unknown> }> }>) ?? [])
      for (const f of chain.filters ?? []) {
        const rds = f.typed_config?.rds as { route_config_name?: string } | undefined;
        if (rds?.route_config_name) names.push(rds.route_config_name);
      }
  }
  if (references.size > 100_000) references.clear();
  references.set(key, names);
  return names;
}

export class SimDeltaProxy extends SimClientBase<DeltaDiscoveryRequestWire, ScannedResponse> {
  /** What this proxy has, per type: resource name → version (initial_resource_versions). */
  private readonly have = new Map<XdsType, Map<string, string>>();
  /** CDS/LDS resources → the EDS/RDS names they reference. */
  private readonly refs = { cluster: new Map<string, string[]>(), listener: new Map<string, string[]>() };
  /** Names wanted per named type, and what the current stream was told. */
  private readonly wanted = new Map<XdsType, Set<string>>();
  private readonly onStream = new Map<XdsType, Set<string>>();

  constructor(who: SimIdentity, xdsAddress: string) {
    super(who, xdsAddress, 'DeltaAggregatedResources', ['cluster', 'listener', 'endpoint', 'route', 'virtualHost']);
  }

  protected override scan(buf: Buffer): ScannedEnvelope<ScannedResponse> {
    const res = scanDelta(buf);
    return { res, typeUrl: res.type_url, resources: res.resources.length };
  }

  protected override onStreamOpen(): void {
    this.onStream.clear();
    // Wildcard CDS and LDS, then (on a reconnect) every named subscription, each with what it has.
    for (const t of ['cluster', 'listener'] as const) this.send(this.request(t, [], [], true));
    for (const t of ['endpoint', 'route', 'virtualHost'] as const) {
      const names = this.wanted.get(t);
      if (names?.size) {
        this.onStream.set(t, new Set(names));
        this.send(this.request(t, [...names], [], true));
      }
    }
  }

  private request(type: XdsType, subscribe: string[], unsubscribe: string[], initial: boolean, nonce = ''): DeltaDiscoveryRequestWire {
    return {
      type_url: TypeUrl[type],
      resource_names_subscribe: subscribe,
      resource_names_unsubscribe: unsubscribe,
      initial_resource_versions: initial ? Object.fromEntries(this.have.get(type) ?? []) : {},
      response_nonce: nonce,
      error_detail: null,
    };
  }

  /** Tell the stream how the wanted names of a named type changed. */
  private want(type: XdsType, names: Iterable<string>): void {
    const next = new Set(names);
    this.wanted.set(type, next);
    const told = this.onStream.get(type);
    const subscribe = [...next].filter((n) => !told?.has(n));
    const unsubscribe = told ? [...told].filter((n) => !next.has(n)) : [];
    if (!subscribe.length && !unsubscribe.length) return;
    this.onStream.set(type, new Set(next));
    this.send(this.request(type, subscribe, unsubscribe, !told));
  }

  protected override onResponse(type: XdsType, track: TypeTrack, res: ScannedResponse): void {
    const have = this.have.get(type) ?? new Map<string, string>();
    this.have.set(type, have);
    for (const r of res.resources) {
      if (r.any) have.set(r.name, r.version);
      else have.delete(r.name);
    }
    for (const name of res.removed) have.delete(name);
    if (type === 'cluster' || type === 'listener') {
      const refs = this.refs[type];
      try {
        for (const r of res.resources) if (r.any) refs.set(r.name, referenced(type, r));
      } catch (e) {
        windowStats.decodeErrors++;
        this.send({ type_url: res.type_url, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {}, response_nonce: res.nonce, error_detail: { code: 3, message: String((e as Error).message) } });
        return;
      }
      for (const name of res.removed) refs.delete(name);
    }
    this.recordAck(track, res.system_version_info, res.nonce, this.request(type, [], [], false, res.nonce));
    if (type === 'cluster') this.want('endpoint', [...this.refs.cluster.values()].flat());
    else if (type === 'listener') this.want('route', [...this.refs.listener.values()].flat());
    else if (type === 'route' && !this.wanted.has('virtualHost')) {
      this.want('virtualHost', [ROUTE_CONFIG, ...this.who.calls.map((h) => `${ROUTE_CONFIG}/${h}`)]);
    }
  }
}
