// Reading a /config_dump (the proxy's admin, or the control plane's /debug/config_dump?proxyID=, which
// has the same shape): each section by its @type, each resource as the plain JSON Envoy prints.
import { DUMP_TYPES, VIRTUAL_HOSTS_DUMP } from '../../api/config-dump-types.js';

export type Raw = Record<string, unknown>;
export interface ConfigDump {
  configs: Raw[];
}

export const obj = (v: unknown): Raw => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
export const list = (v: unknown): Raw[] => (Array.isArray(v) ? (v as Raw[]) : []);
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** A uint32 field or its google.protobuf wrapper ({value}). */
export const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof obj(v).value === 'number' ? (obj(v).value as number) : undefined);

export function section(dump: ConfigDump, type: string): Raw | undefined {
  return dump.configs.find((c) => c['@type'] === type);
}

const field = (dump: ConfigDump, type: string, listField: string, item: (e: Raw) => unknown): Raw[] =>
  list(section(dump, type)?.[listField])
    .map((e) => obj(item(e)))
    .filter((r) => Object.keys(r).length > 0);

export const listenersOf = (d: ConfigDump) => field(d, DUMP_TYPES.listeners, 'dynamic_listeners', (e) => obj(e.active_state).listener);
export const clustersOf = (d: ConfigDump) => field(d, DUMP_TYPES.clusters, 'dynamic_active_clusters', (e) => e.cluster);
export const routesOf = (d: ConfigDump) => field(d, DUMP_TYPES.routes, 'dynamic_route_configs', (e) => e.route_config);
export const endpointsOf = (d: ConfigDump) => field(d, DUMP_TYPES.endpoints, 'dynamic_endpoint_configs', (e) => e.endpoint_config);
export const secretsOf = (d: ConfigDump) => list(section(d, DUMP_TYPES.secrets)?.dynamic_active_secrets);
/** undefined: the dump has no VHDS section (a state-of-the-world proxy). */
export const virtualHostsOf = (d: ConfigDump): Raw[] | undefined =>
  section(d, VIRTUAL_HOSTS_DUMP) ? field(d, VIRTUAL_HOSTS_DUMP, 'dynamic_virtual_hosts', (e) => e.virtual_host) : undefined;
export const bootstrapOf = (d: ConfigDump): Raw | undefined => obj(section(d, DUMP_TYPES.bootstrap)?.bootstrap);

/** Istio's cluster name `direction|port|subset|fqdn` (`inbound|9080||`), or undefined for any other name. */
export function parseClusterName(name: string): { direction: string; port: number; subset: string; fqdn: string } | undefined {
  const parts = name.split('|');
  if (parts.length !== 4 || !['inbound', 'outbound'].includes(parts[0]) || !/^\d+$/.test(parts[1])) return undefined;
  return { direction: parts[0], port: Number(parts[1]), subset: parts[2], fqdn: parts[3] };
}
