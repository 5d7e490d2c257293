// LDS: the explicit outbound listener (app → 127.0.0.1:outboundPort, destination in Host) and the
// inbound listener that other sidecars send to: an HTTP connection manager for an HTTP port, tcp_proxy
// behind network RBAC for any other (inbound-tcp.ts); its policy filters from inbound-policy.ts.
import { HCM_TYPE_URL, ON_DEMAND_TYPE_URL } from '../../api/envoy.js';
import { defaultMeshConfig, hcmPathFields, type MeshConfig } from '../../config/mesh-config.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { ProxyTelemetryPolicy } from '../../config/telemetry-types.js';
import { TLS_MODE_LABEL } from '../model/snapshot.js';
import { inboundAlpn, inboundTcpFilters, isInboundTcp } from './inbound-tcp.js';
import { inboundPolicyFilters, type InboundPolicyInputs } from './inbound-policy.js';
import { inboundChains } from './mtls.js';
import { accessLogFields } from './access-log.js';
import { effectivePeerAuthentication, modeForPort, type PeerAuthenticationLike } from './peer-authentication.js';
import { faultFilter, istioStatsFilters, routerFilter } from './filters.js';
import { HCM_FILTER, INBOUND_LISTENER, inboundClusterName, ON_DEMAND_FILTER, OUTBOUND_LISTENER, OUTBOUND_ROUTE } from './names.js';
import { tracingField } from './tracing.js';
import { ADS_CONFIG_SOURCE, duration, socketAddress, type XdsResource } from './types.js';

const onDemandFilter = { name: ON_DEMAND_FILTER, typed_config: { '@type': ON_DEMAND_TYPE_URL } };

export interface ListenerOptions extends InboundPolicyInputs {
  /** Mesh-wide settings (--mesh-config); Istio's defaults when absent. */
  mesh?: MeshConfig;
  /** The PeerAuthentications of the mesh (the inbound listener's transport follows them). */
  peerAuthentications?: readonly PeerAuthenticationLike[];
  /** Delta streams get their outbound virtual hosts over VHDS: the on-demand filter asks for a host
   * the route table does not have yet (Envoy needs it before the router for on-demand VHDS). */
  onDemandVhds: boolean;
  /** The proxy's tracing, access logs and metric overrides (telemetry-policy.ts); absent: none. */
  telemetry?: ProxyTelemetryPolicy;
}

/** What every sidecar HCM gets, as Istio sets it: the mesh's path normalisation (Istio's default
 * BASE: RFC 3986 normalisation, escaped slashes kept) and WebSocket upgrades allowed. */
export function hcmFilter(mesh: MeshConfig, config: Record<string, unknown>) {
  return {
    name: HCM_FILTER,
    typed_config: { '@type': HCM_TYPE_URL, ...hcmPathFields(mesh.pathNormalization), upgrade_configs: [{ upgrade_type: 'websocket' }], ...config },
  };
}

export function listeners(proxy: ProxyNode, opts: ListenerOptions = { onDemandVhds: false }): XdsResource[] {
  const mesh = opts.mesh ?? defaultMeshConfig;
  const outbound = {
    name: OUTBOUND_LISTENER,
    address: socketAddress('127.0.0.1', proxy.outboundPort),
    traffic_direction: 'OUTBOUND',
    filter_chains: [
      {
        filters: [
          hcmFilter(mesh, {
            stat_prefix: `outbound_0.0.0.0_${proxy.outboundPort}`,
            rds: { route_config_name: OUTBOUND_ROUTE, config_source: ADS_CONFIG_SOURCE },
            http_filters: [...(opts.onDemandVhds ? [onDemandFilter] : []), faultFilter, ...istioStatsFilters(opts.telemetry?.client), routerFilter],
            ...accessLogFields(opts.telemetry?.client),
            ...tracingField(opts.telemetry?.client.tracing, proxy),
          }),
        ],
      },
    ],
  };
  const result: XdsResource[] = [{ name: OUTBOUND_LISTENER, body: outbound }];
  if (proxy.ports.length) {
    // One inbound listener; with one app port per proxy every request goes to that port's cluster.
    const port = proxy.ports[0];
    // Explicit mode: the inbound listener's own port stands for the workload port policies name.
    const listenerPort = { workloadPort: port.appPort, listenerPort: proxy.inboundPort };
    // A TCP port gets tcp_proxy behind network RBAC (inbound-tcp.ts); HTTP ports the HCM.
    const filters = isInboundTcp(port.protocol)
      ? inboundTcpFilters({ servicePort: port.servicePort, rbac: inboundPolicyFilters(proxy, mesh, opts, listenerPort).network, telemetry: opts.telemetry?.server })
      : inboundHttpFilters(proxy, { cluster: inboundClusterName(port.servicePort), statPrefix: `inbound_0.0.0.0_${proxy.inboundPort}`, port: port.servicePort }, opts, listenerPort);
    const inbound = {
      name: INBOUND_LISTENER,
      address: socketAddress(proxy.address, proxy.inboundPort),
      traffic_direction: 'INBOUND',
      ...inboundTransport(proxy, port.appPort, mesh, opts.peerAuthentications ?? [], filters, inboundAlpn(port.protocol)),
    };
    result.push({ name: INBOUND_LISTENER, body: inbound });
  }
  return result;
}

/** An inbound HTTP chain's network filters: one HCM whose only route sends every request to the
 * port's inbound cluster, behind the workload's JWT and RBAC filters (`listenerPort`: see
 * inboundPolicyFilters). */
export function inboundHttpFilters(
  proxy: ProxyNode,
  target: { cluster: string; statPrefix: string; port: number },
  opts: ListenerOptions,
  listenerPort?: { workloadPort: number; listenerPort: number },
): unknown[] {
  const mesh = opts.mesh ?? defaultMeshConfig;
  const { cluster } = target;
  return [
    hcmFilter(mesh, {
      stat_prefix: target.statPrefix,
      route_config: {
        name: cluster,
        virtual_hosts: [
          {
            name: `inbound|http|${target.port}`,
            domains: ['*'],
            routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: duration(0) } }],
          },
        ],
      },
      http_filters: [...inboundPolicyFilters(proxy, mesh, opts, listenerPort).http, ...istioStatsFilters(opts.telemetry?.server), routerFilter],
      ...accessLogFields(opts.telemetry?.server),
      ...tracingField(opts.telemetry?.server.tracing, proxy),
    }),
  ];
}

/** The inbound port's chains: a proxy holding a workload certificate takes mTLS as its
 * PeerAuthentication says (PERMISSIVE by default); one without an identity can only take plaintext
 * (a STRICT policy for it is reported by analyze, not enforced by refusing everything). */
function inboundTransport(proxy: ProxyNode, appPort: number, mesh: MeshConfig, policies: readonly PeerAuthenticationLike[], filters: unknown[], alpn: readonly string[]): Record<string, unknown> {
  if (proxy.labels[TLS_MODE_LABEL] !== 'istio') return { filter_chains: [{ filters }] };
  const { listener_filters, filter_chains } = inboundChains(inboundMtlsMode(proxy, appPort, mesh, policies), filters, alpn);
  return listener_filters.length ? { listener_filters, filter_chains } : { filter_chains };
}

/** The mTLS mode an inbound port takes (`appPort` undefined: the workload-wide mode). */
export function inboundMtlsMode(proxy: ProxyNode, appPort: number | undefined, mesh: MeshConfig, policies: readonly PeerAuthenticationLike[]): 'STRICT' | 'PERMISSIVE' | 'DISABLE' {
  if (proxy.labels[TLS_MODE_LABEL] !== 'istio') return 'DISABLE';
  const effective = effectivePeerAuthentication(policies, { namespace: proxy.namespace, labels: proxy.labels }, mesh.rootNamespace);
  return appPort === undefined ? effective.mode : modeForPort(effective, appPort);
}
