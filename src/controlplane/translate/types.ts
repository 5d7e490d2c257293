import type { XdsType } from '../../api/envoy.js';

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
