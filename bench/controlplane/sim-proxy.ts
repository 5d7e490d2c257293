// One simulated sidecar on state-of-the-world ADS (sim-delta-proxy.ts is the Delta one): a real
// @grpc/grpc-js ADS stream (its own HTTP/2 connection) that behaves like a proxy's xDS client:
// wildcard CDS and LDS, then EDS for the EDS clusters CDS names and RDS for the route
// configurations LDS names, ACKing every response. It decodes what it needs with
// unpackAny; identical responses (most proxies get the same CDS) are decoded once per process.
import { createHash } from 'node:crypto';
import {
  aggregatedDiscoveryService,
  TypeUrl,
  unpackAny,
  xdsTypeOf,
  type DiscoveryRequestWire,
  type DiscoveryResponseWire,
  type XdsType,
} from '../../src/api/envoy.js';
import { eachField } from './wire-scan.js';
import { SimClientBase, windowStats, type ScannedEnvelope, type SimIdentity, type TypeTrack } from './sim-client.js';

// The worker and the harness have always imported these from here.
export { markWindow, now, windowStats, type SimClient, type SimIdentity } from './sim-client.js';

const decodeCache = new Map<string, string[]>();
/** Names referenced by a CDS (EDS service names) or LDS (RDS route names) response. */
function referencedNames(type: 'cluster' | 'listener', res: DiscoveryResponseWire): string[] {
  const h = createHash('sha1').update(type);
  for (const r of res.resources) h.update(r.value);
  const key = h.digest('base64');
  let names = decodeCache.get(key);
  if (names) return names;
  const out = new Set<string>();
  for (const any of res.resources) {
    const msg = unpackAny(any);
    if (type === 'cluster') {
      if (msg.type === 'EDS') {
        const eds = msg.eds_cluster_config as { service_name?: string } | undefined;
        out.add(eds?.service_name || String(msg.name));
      }
    } else {
      for (const chain of (msg.filter_chains as Array<{ filters?: Array<{ typed_config?: Record<string, unknown> }> }>) ?? [])
        for (const f of chain.filters ?? []) {
          const rds = f.typed_config?.rds as { route_config_name?: string } | undefined;
          if (rds?.route_config_name) out.add(rds.route_config_name);
        }
    }
  }
  names = [...out].sort();
  if (decodeCache.size > 1000) decodeCache.clear();
  decodeCache.set(key, names);
  return names;
}

/** The envelope of an encoded DiscoveryResponse (fields 1 version_info, 2 resources, 4 type_url,
 * 5 nonce) without decoding the resources. */
function scanResponse(buf: Buffer): DiscoveryResponseWire & { count: number } {
  const out = { version_info: '', resources: [], type_url: '', nonce: '', count: 0 };
  eachField(buf, 0, buf.length, (field, s, e) => {
    if (field === 1) out.version_info = buf.toString('utf8', s, e);
    else if (field === 2) out.count++;
    else if (field === 4) out.type_url = buf.toString('utf8', s, e);
    else if (field === 5) out.nonce = buf.toString('utf8', s, e);
  });
  return out;
}

const sameList = (a: string[], b: string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

export class SimProxy extends SimClientBase<DiscoveryRequestWire, DiscoveryResponseWire> {
  constructor(
    who: SimIdentity,
    xdsAddress: string,
    private readonly onChange: (p: SimProxy, type: XdsType) => void,
  ) {
    super(who, xdsAddress, 'StreamAggregatedResources', ['cluster', 'listener', 'endpoint', 'route']);
  }

  protected override scan(buf: Buffer): ScannedEnvelope<DiscoveryResponseWire> {
    // Only CDS and LDS are read in full (their contents decide what to subscribe to next);
    // EDS and RDS are ACKed after a scan of the envelope, which keeps 2,000 simulated proxies
    // from competing with the control plane for this machine's two cores.
    const head = scanResponse(buf);
    const t = xdsTypeOf(head.type_url);
    const res = t === 'cluster' || t === 'listener' ? (aggregatedDiscoveryService().service.StreamAggregatedResources.responseDeserialize(buf) as DiscoveryResponseWire) : head;
    return { res, typeUrl: head.type_url, resources: head.count };
  }

  protected override onStreamOpen(): void {
    // Wildcard CDS and LDS, then (on a reconnect) the EDS/RDS names already known, each with the
    // version this proxy runs, as Envoy does.
    const cds = this.types.get('cluster');
    const lds = this.types.get('listener');
    this.send(discoveryRequest('cluster', [], cds?.version ?? '', ''));
    this.send(discoveryRequest('listener', [], lds?.version ?? '', ''));
    for (const t of ['endpoint', 'route'] as const) {
      const track = this.types.get(t);
      if (track) this.send(discoveryRequest(t, track.names, track.version, ''));
    }
  }

  protected override onResponse(type: XdsType, track: TypeTrack, res: DiscoveryResponseWire): void {
    let refs: string[] | undefined;
    if (type === 'cluster' || type === 'listener') {
      try {
        refs = referencedNames(type, res);
      } catch (e) {
        windowStats.decodeErrors++;
        // A proxy NACKs what it cannot decode: same version as before, with the error.
        this.send(discoveryRequest(type, track.names, track.version, res.nonce, String((e as Error).message)));
        track.nonce = res.nonce;
        return;
      }
    }
    this.recordAck(track, res.version_info, res.nonce, discoveryRequest(type, track.names, res.version_info, res.nonce));
    this.onChange(this, type);
    if (refs) this.subscribe(type === 'cluster' ? 'endpoint' : 'route', refs);
  }

  /** (Re)subscribe the dependent type when the set of referenced names changed. */
  private subscribe(type: 'endpoint' | 'route', names: string[]): void {
    const t = this.types.get(type);
    if (t && sameList(t.names, names)) return;
    if (!t) {
      this.types.set(type, { version: '', nonce: '', names, ackedAt: 0, responses: 0 });
      this.send(discoveryRequest(type, names, '', ''));
    } else {
      t.names = names;
      this.send(discoveryRequest(type, names, t.version, t.nonce));
    }
  }
}

function discoveryRequest(type: XdsType, names: string[], version: string, nonce: string, error?: string): DiscoveryRequestWire {
  return {
    version_info: version,
    resource_names: names,
    type_url: TypeUrl[type],
    response_nonce: nonce,
    error_detail: error ? { code: 3, message: error } : null,
  };
}
