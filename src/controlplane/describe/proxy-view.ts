// What a proxy makes of the control plane's output: every xDS type encoded, decoded and validated by
// the proxy's own edge (src/proxy/xds/decode.ts), so describe and the simulation tests see exactly
// what a sidecar would run — never a second reading of the config.
import { packAny, TypeUrl } from '../../api/envoy.js';
import { decodeResources, type DecodedResource, type ProxyXdsType } from '../../proxy/xds/decode.js';
import type { ModelByType } from '../../proxy/xds/model.js';
import type { ResourceSet } from '../translate/types.js';

type SotwType = Exclude<ProxyXdsType, 'virtualHost' | 'secret'>;
export type Decoded = { [K in SotwType]: DecodedResource<K>[] };
export type Decoding = { ok: true; view: Decoded } | { ok: false; errors: string[] };

/** What the proxy makes of a resource set: every type decoded and validated, or every NACK reason. */
export function decodeSet(out: ResourceSet): Decoding {
  const errors: string[] = [];
  const decode = <K extends SotwType>(type: K): DecodedResource<K>[] => {
    const r = decodeResources(type, out[type].map((res) => packAny(TypeUrl[type], res.body)));
    if (r.valid) return r.result;
    errors.push(...r.errors);
    return [];
  };
  const view = { cluster: decode('cluster'), endpoint: decode('endpoint'), listener: decode('listener'), route: decode('route') };
  return errors.length ? { ok: false, errors } : { ok: true, view };
}

/** Some resources of one type, by name, through the proxy's decoder: describe validates only what a
 * trace reads (decoding a whole mesh's clusters costs ~100 ms at 500 services). */
export function decodeNamed<K extends SotwType>(out: ResourceSet, type: K, names: ReadonlySet<string>): { ok: true; result: DecodedResource<K>[] } | { ok: false; errors: string[] } {
  const r = decodeResources(type, out[type].filter((res) => names.has(res.name)).map((res) => packAny(TypeUrl[type], res.body)));
  return r.valid ? { ok: true, result: r.result } : { ok: false, errors: r.errors };
}

/** A cluster's endpoints as the proxy holds them (inline, or its EDS set); undefined: no such cluster. */
export function clusterEndpoints(view: Decoded, name: string): ModelByType['endpoint']['endpoints'] | undefined {
  const c = view.cluster.find((x) => x.name === name)?.model;
  if (!c) return undefined;
  const cla: ModelByType['endpoint'] | undefined = c.loadAssignment ?? view.endpoint.find((e) => e.name === c.edsServiceName)?.model;
  return cla?.endpoints ?? [];
}
