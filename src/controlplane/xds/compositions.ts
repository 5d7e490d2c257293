// The parts each kind of client gets, per xDS type: one composition per client kind, used by the cache
// (production) and by the golden tests alike. A new translator (authorization, authentication, SDS
// secrets, a proxyless gRPC listener) is a TranslatorPart added to the compositions that need it.
import type { XdsProtocol, XdsType } from '../../api/envoy.js';
import { inboundClusters, outboundClusters } from '../translate/clusters.js';
import { clusterLoadAssignments } from '../translate/endpoints.js';
import { listeners } from '../translate/listeners.js';
import { smiAccessInput } from '../translate/smi-access.js';
import { outboundRouteConfig, vhdsRouteConfig, vhdsVirtualHosts } from '../translate/routes.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import type { SnapshotInput, TranslatorPart } from '../translate/types.js';

/** Policy kinds the inbound listener reads (PeerAuthentication → transport, AuthorizationPolicy and
 * SMI TrafficTarget with the routes and bindings it names → RBAC filters, RequestAuthentication →
 * JWT filter): the listener parts are keyed on each. */
const INBOUND_POLICY_INPUTS: readonly SnapshotInput[] = [
  'peerAuthentications',
  'authorizationPolicies',
  'requestAuthentications',
  'trafficTargets',
  'httpRouteGroups',
  'tcpRoutes',
  'identityBindings',
];

/** What the inbound listener's transport, RBAC and JWT filters read from the snapshot. */
function policyInputs(snap: MeshSnapshot) {
  const plain = <S>(r: { metadata: { name: string; namespace: string }; spec: S }) => ({ name: r.metadata.name, namespace: r.metadata.namespace, spec: r.spec });
  return {
    mesh: snap.mesh,
    peerAuthentications: snap.config.peerAuthentications,
    authorizationPolicies: snap.config.authorizationPolicies.map(plain),
    requestAuthentications: snap.config.requestAuthentications.map(plain),
    smiAccess: smiAccessInput(snap.config),
    jwks: snap.jwks,
  };
}

// Outbound parts depend on config, services[, endpoints] and the client's namespace[, labels]; the
// inbound ones on the proxy itself. An endpoint change therefore re-encodes only EDS.
export const PARTS = {
  outboundClusters: {
    name: 'cds-outbound',
    type: 'cluster',
    snapshot: ['destinationRules', 'services', 'dnsEndpoints', 'mesh'],
    proxy: ['namespace'],
    build: (snap, proxy) => outboundClusters(snap, proxy.namespace),
  },
  inboundClusters: { name: 'cds-inbound', type: 'cluster', snapshot: [], proxy: ['workload'], build: (_snap, proxy) => inboundClusters(proxy) },
  // EDS ranks and weights localities from the client's locality (and failoverPriority labels).
  endpoints: {
    name: 'eds',
    type: 'endpoint',
    // Endpoints' tlsMode metadata follows their PeerAuthentication (DISABLE drops it).
    snapshot: ['destinationRules', 'services', 'endpoints', 'peerAuthentications', 'mesh'],
    proxy: ['namespace', 'locality', 'failoverLabels'],
    build: (snap, proxy) => clusterLoadAssignments(snap, proxy.namespace, { locality: proxy.locality ?? '', labels: proxy.labels }),
  },
  // Routes carry hash_policy from DestinationRules' consistentHash; client labels only through sourceLabels.
  routes: {
    name: 'rds',
    type: 'route',
    snapshot: ['virtualServices', 'destinationRules', 'services'],
    proxy: ['namespace', 'sourceLabels'],
    build: (snap, proxy) => [outboundRouteConfig(snap, proxy)],
  },
  vhdsRouteConfig: { name: 'rds-vhds', type: 'route', snapshot: [], proxy: [], build: () => [vhdsRouteConfig()] },
  virtualHosts: {
    name: 'vhds',
    type: 'virtualHost',
    snapshot: ['virtualServices', 'destinationRules', 'services'],
    proxy: ['namespace', 'sourceLabels'],
    build: (snap, proxy) => vhdsVirtualHosts(snap, proxy),
  },
  listeners: {
    name: 'lds',
    type: 'listener',
    snapshot: ['mesh', 'jwks', ...INBOUND_POLICY_INPUTS],
    proxy: ['workload', 'namespace', 'labels', 'identity'],
    build: (snap, proxy) => listeners(proxy, { onDemandVhds: false, ...policyInputs(snap) }),
  },
  // Delta: the outbound HCM asks for virtual hosts it lacks (on-demand VHDS).
  listenersOnDemand: {
    name: 'lds-on-demand',
    type: 'listener',
    snapshot: ['mesh', 'jwks', ...INBOUND_POLICY_INPUTS],
    proxy: ['workload', 'namespace', 'labels', 'identity'],
    build: (snap, proxy) => listeners(proxy, { onDemandVhds: true, ...policyInputs(snap) }),
  },
  // Secrets sent over ADS (credentialName secrets, later); the workload's own certificate and roots
  // come from the proxy's SDS (`default`, `ROOTCA`), as in Istio.
  secrets: { name: 'sds', type: 'secret', snapshot: [], proxy: [], build: () => [] },
} as const satisfies Record<string, TranslatorPart>;

/** What one client kind runs: the parts of every xDS type, in push order. */
export type Composition = { readonly [T in XdsType]: readonly TranslatorPart[] };

export type ClientKind = 'sidecar-sotw' | 'sidecar-delta';

export const COMPOSITIONS: { readonly [K in ClientKind]: Composition } = {
  // State of the world: the whole outbound route table in RDS; no VHDS.
  'sidecar-sotw': {
    cluster: [PARTS.outboundClusters, PARTS.inboundClusters],
    endpoint: [PARTS.endpoints],
    listener: [PARTS.listeners],
    route: [PARTS.routes],
    virtualHost: [],
    secret: [PARTS.secrets],
  },
  // Delta: the route configuration names `vhds`, and its virtual hosts are fetched on demand.
  'sidecar-delta': {
    cluster: [PARTS.outboundClusters, PARTS.inboundClusters],
    endpoint: [PARTS.endpoints],
    listener: [PARTS.listenersOnDemand],
    route: [PARTS.vhdsRouteConfig],
    virtualHost: [PARTS.virtualHosts],
    secret: [PARTS.secrets],
  },
};

/** A sidecar's composition follows its ADS protocol (proxyless gRPC clients will be told apart by node metadata). */
export const sidecarKind = (protocol: XdsProtocol): ClientKind => (protocol === 'delta' ? 'sidecar-delta' : 'sidecar-sotw');
