// LDS (outbound half) for a captured sidecar, Istio's layout: the capture listener `virtualOutbound`
// (0.0.0.0:15001, use_original_dst) hands each redirected connection to the listener of its original
// destination — `<VIP>_<port>` for a TCP service, `0.0.0.0_<port>` for an HTTP port (route table
// "<port>") — and keeps what none of them claims: to PassthroughCluster under ALLOW_ANY, to
// BlackHoleCluster under REGISTRY_ONLY. The per-destination listeners do not bind (bind_to_port
// false): they exist to be handed connections.
import { ORIGINAL_DST_TYPE_URL } from '../../api/envoy.js';
import type { MeshConfig } from '../../config/mesh-config.js';
import type { ProxyTelemetryPolicy } from '../../config/telemetry-types.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshService, MeshSnapshot } from '../model/snapshot.js';
import { faultFilter, istioStatsFilters, routerFilter, tcpProxyFilter } from './filters.js';
import { hcmFilter } from './listeners.js';
import { accessLogFields } from './access-log.js';
import { BLACKHOLE_CLUSTER, isHttpProtocol, OUTBOUND_LISTENER, outboundClusterName, PASSTHROUGH_CLUSTER, portListenerName, portRouteName } from './names.js';
import { httpServicePorts } from './transparent-routes.js';
import { tracingField } from './tracing.js';
import { ADS_CONFIG_SOURCE, socketAddress, type XdsResource } from './types.js';

const WILDCARD = '0.0.0.0';

/** Restores a redirected connection's original destination (SO_ORIGINAL_DST). */
export const originalDstFilter = { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': ORIGINAL_DST_TYPE_URL } };

/** Where a connection no listener claims goes, per outboundTrafficPolicy.mode. */
export const unknownDestinationCluster = (mesh: Pick<MeshConfig, 'outboundTrafficPolicy'>): string =>
  mesh.outboundTrafficPolicy === 'REGISTRY_ONLY' ? BLACKHOLE_CLUSTER : PASSTHROUGH_CLUSTER;

/** The capture listener: connections straight to the capture port itself are dropped (they would
 * loop); everything else without a listener of its own follows the outbound traffic policy. */
export function virtualOutboundListener(mesh: MeshConfig, outboundPort: number, telemetry?: ProxyTelemetryPolicy): XdsResource {
  const fallback = unknownDestinationCluster(mesh);
  const body = {
    name: OUTBOUND_LISTENER,
    address: socketAddress(WILDCARD, outboundPort),
    use_original_dst: { value: true },
    // Envoy adds this filter by itself for use_original_dst (listener_impl.cc
    // buildOriginalDstListenerFilter) and prefers it listed; listed, the proxy need not infer it.
    listener_filters: [originalDstFilter],
    traffic_direction: 'OUTBOUND',
    filter_chains: [
      { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: { value: outboundPort } }, filters: [tcpProxyFilter(BLACKHOLE_CLUSTER, BLACKHOLE_CLUSTER)] },
      { name: 'virtualOutbound-catchall-tcp', filters: [...istioStatsFilters(telemetry?.client), tcpProxyFilter(fallback, fallback, accessLogFields(telemetry?.client))] },
    ],
  };
  return { name: OUTBOUND_LISTENER, body };
}

/** A TCP service port: every address it has (CIDRs become prefix_ranges chains of the port's wildcard listener). */
interface TcpTarget {
  svc: MeshService;
  port: number;
}

/**
 * The per-destination listeners. Conflicts are settled as Istio does: an HTTP port owns
 * `0.0.0.0_<port>`; a TCP service gets `<VIP>_<port>` for each single address (the first service
 * in hostname order keeps a contested one), a chain matching each CIDR address, and the wildcard
 * listener's default chain when it has no address at all (a resolution-NONE ServiceEntry) and no
 * HTTP port claims it.
 */
export function portListeners(snap: MeshSnapshot, proxy: Pick<ProxyNode, 'outboundPort' | 'inboundPort' | 'namespace' | 'labels'>, telemetry?: ProxyTelemetryPolicy): XdsResource[] {
  const tracing = tracingField(telemetry?.client.tracing, proxy);
  const mesh = snap.mesh;
  const stats = istioStatsFilters(telemetry?.client);
  const logs = accessLogFields(telemetry?.client);
  const httpPorts = new Set(httpServicePorts(snap));
  const exact = new Map<string, TcpTarget & { address: string }>();
  const ranges = new Map<number, Array<TcpTarget & { cidr: string }>>();
  const addressless = new Map<number, TcpTarget>();
  const capturePorts = new Set([proxy.outboundPort, proxy.inboundPort]);
  for (const svc of snap.services) {
    for (const { port, protocol } of svc.ports) {
      if (isHttpProtocol(protocol) || capturePorts.has(port)) continue;
      if (svc.addresses.length === 0 && !addressless.has(port)) addressless.set(port, { svc, port });
      for (const address of svc.addresses) {
        if (address.includes('/')) {
          let list = ranges.get(port);
          if (!list) ranges.set(port, (list = []));
          list.push({ svc, port, cidr: address });
        } else if (!exact.has(`${address}:${port}`)) exact.set(`${address}:${port}`, { svc, port, address });
      }
    }
  }
  const out: XdsResource[] = [];
  const wildcardPorts = [...new Set([...httpPorts, ...ranges.keys(), ...addressless.keys()])].filter((p) => !capturePorts.has(p)).sort((a, b) => a - b);
  for (const port of wildcardPorts) {
    const chains: Record<string, unknown>[] = (ranges.get(port) ?? []).map(({ svc, cidr }) => {
      const [prefix, len] = cidr.split('/');
      const cluster = outboundClusterName(port, '', svc.hostname);
      return { name: `${cidr}|${svc.hostname}`, filter_chain_match: { prefix_ranges: [{ address_prefix: prefix, prefix_len: { value: Number(len) } }] }, filters: [...stats, tcpProxyFilter(cluster, cluster, logs)] };
    });
    chains.push({ filters: defaultChainFilters(mesh, port, httpPorts.has(port), addressless.get(port), stats, { ...logs, ...tracing }) });
    out.push(portListener(WILDCARD, port, chains));
  }
  for (const { svc, port, address } of [...exact.values()].sort((a, b) => (a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1))) {
    const cluster = outboundClusterName(port, '', svc.hostname);
    out.push(portListener(address, port, [{ filters: [...stats, tcpProxyFilter(cluster, cluster, logs)] }]));
  }
  return out;
}

/** `telemetry`: the HCM's access_log and tracing fields (a tcp_proxy takes the access_log). */
function defaultChainFilters(mesh: MeshConfig, port: number, http: boolean, tcp: TcpTarget | undefined, stats: Record<string, unknown>[], telemetry: { access_log?: unknown[]; tracing?: object }): Record<string, unknown>[] {
  if (http) {
    return [
      hcmFilter(mesh, {
        stat_prefix: `outbound_0.0.0.0_${port}`,
        rds: { route_config_name: portRouteName(port), config_source: ADS_CONFIG_SOURCE },
        http_filters: [faultFilter, ...stats, routerFilter],
        ...telemetry,
      }),
    ];
  }
  const cluster = tcp ? outboundClusterName(port, '', tcp.svc.hostname) : unknownDestinationCluster(mesh);
  return [...stats, tcpProxyFilter(cluster, cluster, telemetry.access_log ? { access_log: telemetry.access_log } : {})];
}

function portListener(address: string, port: number, filterChains: Record<string, unknown>[]): XdsResource {
  const name = portListenerName(address, port);
  return { name, body: { name, address: socketAddress(address, port), bind_to_port: { value: false }, traffic_direction: 'OUTBOUND', filter_chains: filterChains } };
}
