// The parts each kind of client gets, per xDS type: one composition per client kind, used by the cache
// (production) and by the golden tests alike. A new translator (authorization, authentication, SDS
// secrets, a proxyless gRPC listener) is a TranslatorPart added to the compositions that need it.
import type { XdsProtocol, XdsType } from '../../api/envoy.js';
import { captureClusters, inboundClusters, outboundClusters } from '../translate/clusters.js';
import { clusterLoadAssignments } from '../translate/endpoints.js';
import { listeners } from '../translate/listeners.js';
import { smiAccessInput } from '../translate/smi-access.js';
import { collectorClusters, telemetryFor } from '../translate/telemetry-policy.js';
import { outboundRouteConfig, vhdsRouteConfig, vhdsVirtualHosts } from '../translate/routes.js';
import { virtualInboundListener } from '../translate/transparent-inbound.js';
import { portListeners, virtualOutboundListener } from '../translate/transparent-outbound.js';
import { transparentRouteConfigs } from '../translate/transparent-routes.js';
import type { ProxyNode } from '../model/proxy-node.js';
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

/** What the listeners' tracing, access logs and stats read: the mesh's providers and the Telemetries. */
const TELEMETRY_INPUTS: readonly SnapshotInput[] = ['mesh', 'telemetries'];

/** The proxy's resolved telemetry (tracing, access logs, metric overrides per direction). */
function telemetryInput(snap: MeshSnapshot, proxy: Pick<ProxyNode, 'namespace' | 'labels'>) {
  return { telemetry: telemetryFor({ mesh: snap.mesh, telemetries: snap.config.telemetries, domain: snap.domain }, proxy) };
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
    snapshot: ['mesh', 'jwks', ...INBOUND_POLICY_INPUTS, ...TELEMETRY_INPUTS],
    proxy: ['workload', 'namespace', 'labels', 'identity'],
    build: (snap, proxy) => listeners(proxy, { onDemandVhds: false, ...policyInputs(snap), ...telemetryInput(snap, proxy) }),
  },
  // Delta: the outbound HCM asks for virtual hosts it lacks (on-demand VHDS).
  listenersOnDemand: {
    name: 'lds-on-demand',
    type: 'listener',
    snapshot: ['mesh', 'jwks', ...INBOUND_POLICY_INPUTS, ...TELEMETRY_INPUTS],
    proxy: ['workload', 'namespace', 'labels', 'identity'],
    build: (snap, proxy) => listeners(proxy, { onDemandVhds: true, ...policyInputs(snap), ...telemetryInput(snap, proxy) }),
  },
  // Captured sidecars (INTERCEPTION_MODE REDIRECT): Istio's transparent layout. A ServiceEntry with
  // resolution NONE goes to the original destination; inbound clusters to the app's original one.
  outboundClustersCaptured: {
    name: 'cds-outbound-captured',
    type: 'cluster',
    snapshot: ['destinationRules', 'services', 'dnsEndpoints', 'mesh'],
    proxy: ['namespace'],
    build: (snap, proxy) => outboundClusters(snap, proxy.namespace, 'REDIRECT'),
  },
  inboundClustersCaptured: { name: 'cds-inbound-captured', type: 'cluster', snapshot: [], proxy: ['workload'], build: (_snap, proxy) => inboundClusters(proxy, 'REDIRECT') },
  // PassthroughCluster, BlackHoleCluster, InboundPassthroughClusterIpv4.
  captureClusters: { name: 'cds-capture', type: 'cluster', snapshot: ['mesh'], proxy: [], build: (snap) => captureClusters(snap.mesh) },
  // virtualOutbound (its catch-all follows outboundTrafficPolicy) and virtualInbound (its chains
  // follow the workload's ports and policies, as the explicit inbound listener does).
  listenersCaptured: {
    name: 'lds-captured',
    type: 'listener',
    snapshot: ['mesh', 'jwks', ...INBOUND_POLICY_INPUTS, ...TELEMETRY_INPUTS],
    proxy: ['workload', 'namespace', 'labels', 'identity'],
    build: (snap, proxy) => capturedListeners(snap, proxy),
  },
  // The listener of each destination (`0.0.0.0_<port>` for HTTP ports, `<VIP>_<port>` for TCP services).
  portListeners: {
    name: 'lds-ports',
    type: 'listener',
    snapshot: ['services', ...TELEMETRY_INPUTS],
    proxy: ['workload', 'namespace', 'labels'],
    build: (snap, proxy) => portListeners(snap, proxy, telemetryInput(snap, proxy).telemetry),
  },
  // Clusters for trace and log collectors the registry does not hold (an address, an outside name).
  collectorClusters: {
    name: 'cds-collectors',
    type: 'cluster',
    snapshot: ['mesh', 'services'],
    proxy: [],
    build: (snap) => collectorClusters({ mesh: snap.mesh, domain: snap.domain }, (host) => snap.serviceByHost.has(host)),
  },
  // One route table per HTTP port, whole in SotW and Delta alike (Istio serves these without VHDS);
  // its catch-all virtual host follows outboundTrafficPolicy.
  portRoutes: {
    name: 'rds-ports',
    type: 'route',
    snapshot: ['virtualServices', 'destinationRules', 'services', 'mesh'],
    proxy: ['namespace', 'sourceLabels'],
    build: (snap, proxy) => transparentRouteConfigs(snap, proxy),
  },
  // Secrets sent over ADS (credentialName secrets, later); the workload's own certificate and roots
  // come from the proxy's SDS (`default`, `ROOTCA`), as in Istio.
  secrets: { name: 'sds', type: 'secret', snapshot: [], proxy: [], build: () => [] },
} as const satisfies Record<string, TranslatorPart>;

function capturedListeners(snap: MeshSnapshot, proxy: ProxyNode) {
  const { telemetry } = telemetryInput(snap, proxy);
  return [virtualOutboundListener(snap.mesh, proxy.outboundPort, telemetry), virtualInboundListener(proxy, { onDemandVhds: false, ...policyInputs(snap), telemetry })];
}

/** What one client kind runs: the parts of every xDS type, in push order. */
export type Composition = { readonly [T in XdsType]: readonly TranslatorPart[] };

/** Explicit-mode sidecars by ADS protocol, and captured ones (`captured-*`: node metadata
 * INTERCEPTION_MODE REDIRECT), which run Istio's transparent listener layout. */
export type ClientKind = 'sidecar-sotw' | 'sidecar-delta' | 'captured-sotw' | 'captured-delta';

/** Captured sidecars: virtualOutbound/virtualInbound and a listener per destination, a route table per port. */
const CAPTURED: Composition = {
  cluster: [PARTS.outboundClustersCaptured, PARTS.inboundClustersCaptured, PARTS.captureClusters, PARTS.collectorClusters],
  endpoint: [PARTS.endpoints],
  listener: [PARTS.listenersCaptured, PARTS.portListeners],
  route: [PARTS.portRoutes],
  virtualHost: [],
  secret: [PARTS.secrets],
};

export const COMPOSITIONS: { readonly [K in ClientKind]: Composition } = {
  // State of the world: the whole outbound route table in RDS; no VHDS.
  'sidecar-sotw': {
    cluster: [PARTS.outboundClusters, PARTS.inboundClusters, PARTS.collectorClusters],
    endpoint: [PARTS.endpoints],
    listener: [PARTS.listeners],
    route: [PARTS.routes],
    virtualHost: [],
    secret: [PARTS.secrets],
  },
  // Delta: the route configuration names `vhds`, and its virtual hosts are fetched on demand.
  'sidecar-delta': {
    cluster: [PARTS.outboundClusters, PARTS.inboundClusters, PARTS.collectorClusters],
    endpoint: [PARTS.endpoints],
    listener: [PARTS.listenersOnDemand],
    route: [PARTS.vhdsRouteConfig],
    virtualHost: [PARTS.virtualHosts],
    secret: [PARTS.secrets],
  },
  // Captured streams get the same resources over SotW and Delta (no VHDS: the per-port tables are whole).
  'captured-sotw': CAPTURED,
  'captured-delta': CAPTURED,
};

/** A sidecar's composition follows its capture mode (node metadata, read once into ProxyNode) and
 * its ADS protocol (proxyless gRPC clients will be told apart by node metadata too). */
export const sidecarKind = (protocol: XdsProtocol, proxy: Pick<ProxyNode, 'interceptionMode'>): ClientKind =>
  proxy.interceptionMode === 'REDIRECT' ? (protocol === 'delta' ? 'captured-delta' : 'captured-sotw') : protocol === 'delta' ? 'sidecar-delta' : 'sidecar-sotw';
