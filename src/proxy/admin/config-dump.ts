// /config_dump in Envoy's admin shape (envoy.admin.v3.*ConfigDump), close enough for tools and
// humans: every applied resource with the version it came in and when.
import { TypeUrl, type XdsProtocol } from '../../api/envoy.js';
import type { NackRecord } from '../xds/ads-client.js';
import type { AppliedResource, TypeStatus } from '../xds/apply.js';
import type { ProxyXdsType } from '../xds/decode.js';
import { VIRTUAL_HOSTS_DUMP } from '../../api/config-dump-types.js';

export interface XdsConnectionInfo {
  connected: boolean;
  control_plane: string;
  protocol: XdsProtocol;
  last_nack: { type: string; version: string; message: string; at: string } | null;
}

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

function typed(raw: AppliedResource['raw'], typeUrl: string): Record<string, unknown> {
  return { '@type': typeUrl, ...raw };
}

export function renderConfigDump(status: Record<ProxyXdsType, TypeStatus>, xds: XdsConnectionInfo): Record<string, unknown> {
  const items = (t: ProxyXdsType) => [...status[t].resources.values()].sort((a, b) => a.name.localeCompare(b.name));
  /** One of Envoy's per-type dumps: the type's version, then each resource with its own. */
  const dynamicDump = (dump: string, listField: string, t: 'cluster' | 'route' | 'endpoint', resourceField: string) => ({
    '@type': `${ADMIN}${dump}`,
    version_info: status[t].version,
    last_updated: status[t].lastUpdated ?? null,
    [listField]: items(t).map((r) => ({ version_info: r.version, [resourceField]: typed(r.raw, TypeUrl[t]), last_updated: r.lastUpdated })),
  });
  return {
    configs: [
      {
        '@type': `${ADMIN}ListenersConfigDump`,
        version_info: status.listener.version,
        last_updated: status.listener.lastUpdated ?? null,
        dynamic_listeners: items('listener').map((r) => ({
          name: r.name,
          active_state: { version_info: r.version, listener: typed(r.raw, TypeUrl.listener), last_updated: r.lastUpdated },
        })),
      },
      dynamicDump('ClustersConfigDump', 'dynamic_active_clusters', 'cluster', 'cluster'),
      // version_info is not in Envoy's RoutesConfigDump (RDS versions are per resource); kept for a
      // quick look. A VHDS route configuration is shown with the virtual hosts received so far merged
      // in, as it routes.
      dynamicDump('RoutesConfigDump', 'dynamic_route_configs', 'route', 'route_config'),
      dynamicDump('EndpointsConfigDump', 'dynamic_endpoint_configs', 'endpoint', 'endpoint_config'),
    ],
    xds,
  };
}

export function nackInfo(n: NackRecord | null): XdsConnectionInfo['last_nack'] {
  return n ? { type: n.type, version: n.version, message: n.message, at: n.at } : null;
}

/** The virtual hosts received over VHDS, one by one (Weft's section; the routes section shows them
 * merged into their route configuration, as Envoy does). */
export function renderVirtualHostsDump(status: TypeStatus): Record<string, unknown> {
  return {
    '@type': VIRTUAL_HOSTS_DUMP,
    version_info: status.version,
    dynamic_virtual_hosts: [...status.resources.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => ({ name: r.name, version_info: r.version, virtual_host: typed(r.raw, TypeUrl.virtualHost), last_updated: r.lastUpdated })),
  };
}
