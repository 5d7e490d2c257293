// What the control plane would send one proxy now (istiod's /debug/config_dump?proxyID=…): the
// resources its cache holds for that proxy's client kind, decoded, in the shape of the proxy's own
// /config_dump (Envoy's admin.v3 dumps), so `weft proxy-status PROXY` can compare the two section by
// section. Read-only: decoding here never touches what the stream sends.
import { unpackAny, type AnyWire, type XdsProtocol } from '../../api/envoy.js';
import { ADMIN_DUMP_PREFIX, VIRTUAL_HOSTS_DUMP } from '../../api/config-dump-types.js';
import type { EncodedSet, EncodedType } from './cache.js';

export interface DumpSource {
  id: string;
  protocol: XdsProtocol;
  resources(): EncodedSet;
}

function decoded(t: EncodedType): Array<{ name: string; raw: Record<string, unknown> }> {
  const out = t.parts.flatMap((p) => [...p.resources].map(([name, any]: [string, AnyWire]) => ({ name, raw: { '@type': any.type_url, ...unpackAny(any) } })));
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function controlPlaneConfigDump(s: DumpSource): Record<string, unknown> {
  const set = s.resources();
  const v = (t: keyof EncodedSet) => set[t].version;
  return {
    proxy: s.id,
    protocol: s.protocol,
    configs: [
      {
        '@type': `${ADMIN_DUMP_PREFIX}ListenersConfigDump`,
        version_info: v('listener'),
        dynamic_listeners: decoded(set.listener).map((r) => ({ name: r.name, active_state: { version_info: v('listener'), listener: r.raw } })),
      },
      { '@type': `${ADMIN_DUMP_PREFIX}ClustersConfigDump`, version_info: v('cluster'), dynamic_active_clusters: decoded(set.cluster).map((r) => ({ version_info: v('cluster'), cluster: r.raw })) },
      { '@type': `${ADMIN_DUMP_PREFIX}RoutesConfigDump`, version_info: v('route'), dynamic_route_configs: decoded(set.route).map((r) => ({ version_info: v('route'), route_config: r.raw })) },
      { '@type': `${ADMIN_DUMP_PREFIX}EndpointsConfigDump`, version_info: v('endpoint'), dynamic_endpoint_configs: decoded(set.endpoint).map((r) => ({ version_info: v('endpoint'), endpoint_config: r.raw })) },
      // Delta streams only; a proxy holds just the virtual hosts it asked for (on demand).
      ...(s.protocol === 'delta'
        ? [{ '@type': VIRTUAL_HOSTS_DUMP, version_info: v('virtualHost'), dynamic_virtual_hosts: decoded(set.virtualHost).map((r) => ({ name: r.name, version_info: v('virtualHost'), virtual_host: r.raw })) }]
        : []),
    ],
  };
}
