// A static xDS fixture in Envoy's JSON (proto field names) with Istio's transparent listener layout,
// for the proxy's transparent-mode tests until the control plane's own output is joined in:
// virtualOutbound 0.0.0.0:15001 (use_original_dst, original_dst listener filter, a catch-all chain
// to PassthroughCluster or BlackHoleCluster), per-service outbound listeners with bind_to_port:false
// (0.0.0.0_<port> for HTTP, <ip>_<port> for TCP), virtualInbound 0.0.0.0:15006 (a chain per
// destination port to an ORIGINAL_DST inbound|<port>|| cluster bound to 127.0.0.6, and a
// catch-all to InboundPassthroughClusterIpv4), and Istio's loop guards on 15001/15006.
import { HCM_TYPE_URL, ORIGINAL_DST_TYPE_URL, TCP_PROXY_TYPE_URL } from '../../../src/api/envoy.js';
import { routerFilter } from './resources.js';

export const OUTBOUND_CAPTURE_PORT = 15001;
export const INBOUND_CAPTURE_PORT = 15006;
/** Istio's inbound passthrough source: the app's capture rules let it through (no loop). */
export const INBOUND_PASSTHROUGH_SOURCE = '127.0.0.6';

export const originalDstFilter = { name: 'envoy.filters.listener.original_dst', typed_config: { '@type': ORIGINAL_DST_TYPE_URL } };

const address = (host: string, port: number) => ({ socket_address: { address: host, port_value: port } });

export function tcpProxy(statPrefix: string, cluster: string): object {
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: statPrefix, cluster } };
}

export function hcm(statPrefix: string, virtualHosts: object[]): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: { '@type': HCM_TYPE_URL, stat_prefix: statPrefix, route_config: { name: statPrefix, virtual_hosts: virtualHosts }, http_filters: [routerFilter] },
  };
}

const routeTo = (name: string, domains: string[], cluster: string) => ({ name, domains, routes: [{ match: { prefix: '/' }, route: { cluster } }] });

/** ORIGINAL_DST / CLUSTER_PROVIDED, optionally with upstream_bind_config (Istio's inbound clusters). */
export function originalDstCluster(name: string, bindSource?: string, extra: Record<string, unknown> = {}): object {
  return {
    name,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: { seconds: 2 },
    ...(bindSource ? { upstream_bind_config: { source_address: { address: bindSource, port_value: 0 } } } : {}),
    ...extra,
  };
}

/** Istio's BlackHoleCluster: STATIC with no endpoints. */
export const blackHoleCluster = { name: 'BlackHoleCluster', type: 'STATIC', connect_timeout: { seconds: 2 } };

export function staticIpCluster(name: string, ip: string, port: number): object {
  return {
    name,
    type: 'STATIC',
    connect_timeout: { seconds: 2 },
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: address(ip, port) } }] }] },
  };
}

export interface TransparentService {
  /** Its address (the ClusterIP; here the server pod's IP) and port. */
  ip: string;
  port: number;
  protocol: 'HTTP' | 'TCP';
  /** The DNS name clients use (HTTP virtual host domains). */
  host: string;
}

export interface TransparentLayout {
  /** outboundTrafficPolicy: ALLOW_ANY (unknown destinations pass through) or REGISTRY_ONLY (blocked). */
  outboundPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** The mesh services this sidecar may call. */
  services: TransparentService[];
  /** The ports this workload's app serves (inbound chains by destination port). */
  inboundPorts: { port: number; protocol: 'HTTP' | 'TCP' }[];
}

const outboundCluster = (s: TransparentService) => `outbound|${s.port}||${s.host}`;
const inboundCluster = (port: number) => `inbound|${port}||`;

export function transparentListeners(l: TransparentLayout): object[] {
  const fallthrough = l.outboundPolicy === 'ALLOW_ANY' ? 'PassthroughCluster' : 'BlackHoleCluster';
  const virtualOutbound = {
    name: 'virtualOutbound',
    address: address('0.0.0.0', OUTBOUND_CAPTURE_PORT),
    // Like Istio's: no listener filters listed; Envoy adds original_dst for use_original_dst.
    use_original_dst: { value: true },
    filter_chains: [
      // A connection made to 15001 itself would loop back into the proxy (Istio's guard).
      { name: 'virtualOutbound-blackhole', filter_chain_match: { destination_port: { value: OUTBOUND_CAPTURE_PORT } }, filters: [tcpProxy('BlackHoleCluster', 'BlackHoleCluster')] },
      { name: 'virtualOutbound-catchall-tcp', filter_chain_match: { prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: { value: 0 } }] }, filters: [tcpProxy(fallthrough, fallthrough)] },
    ],
  };
  const outbound: object[] = [];
  for (const port of [...new Set(l.services.filter((s) => s.protocol === 'HTTP').map((s) => s.port))]) {
    const vhosts = l.services.filter((s) => s.protocol === 'HTTP' && s.port === port).map((s) => routeTo(`${s.host}:${port}`, [s.host, `${s.host}:${port}`, s.ip, `${s.ip}:${port}`], outboundCluster(s)));
    // An unknown Host on a known port follows the outbound policy too (Istio's allow_any / block_all).
    vhosts.push(routeTo(l.outboundPolicy === 'ALLOW_ANY' ? 'allow_any' : 'block_all', ['*'], fallthrough));
    outbound.push({ name: `0.0.0.0_${port}`, address: address('0.0.0.0', port), bind_to_port: { value: false }, filter_chains: [{ filters: [hcm(`outbound_0.0.0.0_${port}`, vhosts)] }] });
  }
  for (const s of l.services.filter((x) => x.protocol === 'TCP')) {
    outbound.push({ name: `${s.ip}_${s.port}`, address: address(s.ip, s.port), bind_to_port: { value: false }, filter_chains: [{ filters: [tcpProxy(outboundCluster(s), outboundCluster(s))] }] });
  }
  const virtualInbound = {
    name: 'virtualInbound',
    address: address('0.0.0.0', INBOUND_CAPTURE_PORT),
    listener_filters: [originalDstFilter],
    filter_chains: [
      { name: 'virtualInbound-blackhole', filter_chain_match: { destination_port: { value: INBOUND_CAPTURE_PORT } }, filters: [tcpProxy('BlackHoleCluster', 'BlackHoleCluster')] },
      ...l.inboundPorts.map((p) => ({
        name: `0.0.0.0_${p.port}`,
        filter_chain_match: { destination_port: { value: p.port } },
        filters: [p.protocol === 'HTTP' ? hcm(`inbound_0.0.0.0_${p.port}`, [routeTo('inbound|http', ['*'], inboundCluster(p.port))]) : tcpProxy(inboundCluster(p.port), inboundCluster(p.port))],
      })),
      { name: 'virtualInbound', filter_chain_match: { prefix_ranges: [{ address_prefix: '0.0.0.0', prefix_len: { value: 0 } }] }, filters: [tcpProxy('InboundPassthroughClusterIpv4', 'InboundPassthroughClusterIpv4')] },
    ],
  };
  return [virtualOutbound, ...outbound, virtualInbound];
}

export function transparentClusters(l: TransparentLayout): object[] {
  return [
    originalDstCluster('PassthroughCluster'),
    blackHoleCluster,
    // Istio ≥ 1.10: inbound traffic goes to the app at the original destination (the pod IP), from 127.0.0.6.
    originalDstCluster('InboundPassthroughClusterIpv4', INBOUND_PASSTHROUGH_SOURCE),
    ...l.inboundPorts.map((p) => originalDstCluster(inboundCluster(p.port), INBOUND_PASSTHROUGH_SOURCE)),
    ...l.services.map((s) => staticIpCluster(outboundCluster(s), s.ip, s.port)),
  ];
}
