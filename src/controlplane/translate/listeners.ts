// LDS: the explicit outbound listener (app → 127.0.0.1:outboundPort, destination in Host) and the
// inbound listener that other sidecars send to.
import { HCM_TYPE_URL, ON_DEMAND_TYPE_URL, ROUTER_TYPE_URL } from '../../api/envoy.js';
import { defaultMeshConfig, hcmPathFields, type MeshConfig } from '../../config/mesh-config.js';
import type { ProxyNode } from '../model/proxy-node.js';
import { TLS_MODE_LABEL } from '../model/snapshot.js';
import { jwtAuthnFilter, type RequestAuthenticationResource } from './authentication.js';
import { authorizationFilters, type AuthorizationPolicyResource } from './authorization.js';
import { inboundChains } from './mtls.js';
import { effectivePeerAuthentication, modeForPort, type PeerAuthenticationLike } from './peer-authentication.js';
import { FAULT_FILTER, HCM_FILTER, INBOUND_LISTENER, inboundClusterName, ON_DEMAND_FILTER, OUTBOUND_LISTENER, OUTBOUND_ROUTE, ROUTER_FILTER } from './names.js';
import { ADS_CONFIG_SOURCE, duration, socketAddress, type XdsResource } from './types.js';
import { ISTIO_STATS_FILTER, ISTIO_STATS_TYPE_URL } from '../../api/mesh-names.js';

const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const routerFilter = { name: ROUTER_FILTER, typed_config: { '@type': ROUTER_TYPE_URL } };
const faultFilter = { name: FAULT_FILTER, typed_config: { '@type': FAULT_TYPE_URL } };
const onDemandFilter = { name: ON_DEMAND_FILTER, typed_config: { '@type': ON_DEMAND_TYPE_URL } };
/** Istio's istio.stats filter, last before the router on both sidecar HCMs: the listener's
 * traffic_direction makes it report as source (outbound) or destination (inbound). */
const statsFilter = { name: ISTIO_STATS_FILTER, typed_config: { '@type': ISTIO_STATS_TYPE_URL } };

export interface ListenerOptions {
  /** Mesh-wide settings (--mesh-config); Istio's defaults when absent. */
  mesh?: MeshConfig;
  /** The PeerAuthentications of the mesh (the inbound listener's transport follows them). */
  peerAuthentications?: readonly PeerAuthenticationLike[];
  /** AuthorizationPolicies and RequestAuthentications of the mesh (the inbound HCM's RBAC and JWT
   * filters), and the key sets fetched for jwksUris. */
  authorizationPolicies?: readonly AuthorizationPolicyResource[];
  requestAuthentications?: readonly RequestAuthenticationResource[];
  jwks?: ReadonlyMap<string, string>;
  /** Problems of policies left out (logged by the caller). */
  onPolicyError?: (message: string) => void;
  /** Delta streams get their outbound virtual hosts over VHDS: the on-demand filter asks for a host
   * the route table does not have yet (Envoy needs it before the router for on-demand VHDS). */
  onDemandVhds: boolean;
}

/** What every sidecar HCM gets, as Istio sets it: the mesh's path normalisation (Istio's default
 * BASE: RFC 3986 normalisation, escaped slashes kept) and WebSocket upgrades allowed. */
function hcmFilter(mesh: MeshConfig, config: Record<string, unknown>) {
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
            http_filters: opts.onDemandVhds ? [onDemandFilter, faultFilter, statsFilter, routerFilter] : [faultFilter, statsFilter, routerFilter],
          }),
        ],
      },
    ],
  };
  const result: XdsResource[] = [{ name: OUTBOUND_LISTENER, body: outbound }];
  if (proxy.ports.length) {
    // One inbound listener; with one app port per proxy every request goes to that port's cluster.
    const port = proxy.ports[0];
    const cluster = inboundClusterName(port.servicePort);
    const hcm = hcmFilter(mesh, {
      stat_prefix: `inbound_0.0.0.0_${proxy.inboundPort}`,
      route_config: {
        name: cluster,
        virtual_hosts: [
          {
            name: `inbound|http|${port.servicePort}`,
            domains: ['*'],
            routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: duration(0) } }],
          },
        ],
      },
      http_filters: [...inboundPolicyFilters(proxy, mesh, opts), statsFilter, routerFilter],
    });
    const inbound = {
      name: INBOUND_LISTENER,
      address: socketAddress(proxy.address, proxy.inboundPort),
      traffic_direction: 'INBOUND',
      ...inboundTransport(proxy, port.appPort, mesh, opts.peerAuthentications ?? [], [hcm]),
    };
    result.push({ name: INBOUND_LISTENER, body: inbound });
  }
  return result;
}

/** The inbound port's chains: a proxy holding a workload certificate takes mTLS as its
 * PeerAuthentication says (PERMISSIVE by default); one without an identity can only take plaintext
 * (a STRICT policy for it is reported by analyze, not enforced by refusing everything). */
function inboundTransport(proxy: ProxyNode, appPort: number, mesh: MeshConfig, policies: readonly PeerAuthenticationLike[], filters: unknown[]): Record<string, unknown> {
  if (proxy.labels[TLS_MODE_LABEL] !== 'istio') return { filter_chains: [{ filters }] };
  const mode = modeForPort(effectivePeerAuthentication(policies, { namespace: proxy.namespace, labels: proxy.labels }, mesh.rootNamespace), appPort);
  const { listener_filters, filter_chains } = inboundChains(mode, filters, ['h2', 'http/1.1']);
  return listener_filters.length ? { listener_filters, filter_chains } : { filter_chains };
}

/** Istio's inbound HTTP filters before the router: JWT first (it fills what RBAC's requestPrincipals
 * and request.auth.* read), then RBAC per action (AUDIT, DENY, ALLOW). */
function inboundPolicyFilters(proxy: ProxyNode, mesh: MeshConfig, opts: ListenerOptions): unknown[] {
  const workload = { namespace: proxy.namespace, labels: proxy.labels, services: [proxy.service] };
  const jwks = opts.jwks;
  const jwt = jwtAuthnFilter(opts.requestAuthentications ?? [], workload, { rootNamespace: mesh.rootNamespace, jwksFor: (uri) => jwks?.get(uri) });
  const authz = authorizationFilters(opts.authorizationPolicies ?? [], workload, { rootNamespace: mesh.rootNamespace });
  for (const e of authz.errors) opts.onPolicyError?.(e);
  return [...(jwt ? [jwt] : []), ...authz.http];
}
