// The bootstrap section of /config_dump (Envoy's BootstrapConfigDump, first of its configs). Weft's
// proxy has no bootstrap file: its flags play that part, so this is the bootstrap they amount to —
// the node it presents, its admin address, and ADS to the control plane through `xds-grpc` (Istio's
// cluster name for it). Never a credential: the token and certificates are not part of it.
import { fromStruct, type NodeWire, type XdsProtocol } from '../../api/envoy.js';

const BOOTSTRAP_DUMP = 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump';
const startedAt = new Date().toISOString();

function socketAddress(hostPort: string): { socket_address: { address: string; port_value: number } } {
  const i = hostPort.lastIndexOf(':');
  return { socket_address: { address: hostPort.slice(0, i).replace(/^\[|\]$/g, ''), port_value: Number(hostPort.slice(i + 1)) } };
}

export function renderBootstrapDump(o: { node: NodeWire; adminAddress: string; xdsAddress: string; protocol: XdsProtocol }): Record<string, unknown> {
  const ads = { ads: {}, resource_api_version: 'V3' };
  const n = o.node;
  return {
    '@type': BOOTSTRAP_DUMP,
    bootstrap: {
      node: {
        id: n.id,
        cluster: n.cluster,
        metadata: fromStruct(n.metadata),
        ...(n.locality ? { locality: n.locality } : {}),
        user_agent_name: n.user_agent_name,
        user_agent_version: n.user_agent_version,
      },
      admin: { address: socketAddress(o.adminAddress) },
      dynamic_resources: {
        ads_config: { api_type: o.protocol === 'delta' ? 'DELTA_GRPC' : 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }] },
        cds_config: ads,
        lds_config: ads,
      },
      static_resources: {
        clusters: [
          {
            name: 'xds-grpc',
            type: /^[\d.]+:\d+$|^\[/.test(o.xdsAddress) ? 'STATIC' : 'STRICT_DNS',
            load_assignment: { cluster_name: 'xds-grpc', endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(o.xdsAddress) } }] }] },
          },
        ],
      },
    },
    last_updated: startedAt,
  };
}
