import type { XdsType } from '../../api/envoy.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshSnapshot, SnapshotVersions } from '../model/snapshot.js';

/** One xDS resource in Envoy's proto field names (nested Any as {'@type', ...}); encoded by the xds layer. */
export interface XdsResource {
  name: string;
  body: Record<string, unknown>;
}

/** What a state-of-the-world proxy runs; VHDS (Delta only) splits `route` per virtual host in the cache. */
export type ResourceSet = Record<Exclude<XdsType, 'virtualHost'>, XdsResource[]>;

export const ADS_CONFIG_SOURCE = { ads: {}, resource_api_version: 'V3' } as const;

export function duration(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) };
}

export function socketAddress(address: string, port: number) {
  return { socket_address: { address, port_value: port } };
}

/** A snapshot input a translator part may read: one of SnapshotVersions' names (one per config kind,
 * plus services, endpoints, dnsEndpoints, mesh). */
export type SnapshotInput = keyof SnapshotVersions;

/**
 * Proxy fields a part may read: `namespace`; `labels` (all of them); `sourceLabels` / `failoverLabels`
 * (only the label keys some VirtualService's sourceLabels / DestinationRule's failoverPriority reads);
 * `locality`; `workload` (address, ports, outbound and inbound port); `identity` (service, service
 * account, workload name).
 */
export type ProxyInput = 'namespace' | 'labels' | 'sourceLabels' | 'failoverLabels' | 'locality' | 'workload' | 'identity';

/**
 * One piece of one xDS type, as a pure function of the inputs it declares. The cache keys its memo on
 * exactly those inputs, and `build` receives views of the snapshot and proxy on which every
 * undeclared field throws: a part cannot read what its key does not hold.
 */
export interface TranslatorPart {
  /** Unique; names the part in memo keys and in errors. */
  name: string;
  type: XdsType;
  snapshot: readonly SnapshotInput[];
  proxy: readonly ProxyInput[];
  build(snap: MeshSnapshot, proxy: ProxyNode): XdsResource[];
}
