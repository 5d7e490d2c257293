// The proxy's telemetry context: its Istio metrics, who this workload is (from its flags), and the
// helpers both reporters share to turn what a stream or connection learnt into Istio's labels.
// Label objects are only built when a new outcome key is seen (istio-metrics.ts caches by key).
import { decodePeerHeader, encodePeerHeader, type PeerWorkload } from '../../api/peer-metadata.js';
import { IstioMetrics, UNKNOWN, type IstioLabels } from './istio-metrics.js';
import { WEFT_VERSION } from '../../api/version.js';

export type Reporter = 'source' | 'destination';

/** The DNS domain of service FQDNs (the control plane's default, cluster.local). */
export const MESH_DOMAIN = 'cluster.local';

/** Envoy's listener traffic_direction → Istio's reporter (outbound: the client's sidecar reports as source). */
export function reporterFor(direction: 'INBOUND' | 'OUTBOUND' | 'UNSPECIFIED'): Reporter {
  return direction === 'INBOUND' ? 'destination' : 'source';
}

export interface LocalService {
  /** FQDN, short name and namespace of the service this workload serves. */
  host: string;
  name: string;
  namespace: string;
}

export interface TelemetryOptions {
  workload: PeerWorkload;
  service: LocalService;
  /** This workload's SPIFFE principal: its current certificate's URI SAN ('' before or without one). */
  principal: () => string;
}

const PEER_CACHE_MAX = 1024;

export class ProxyTelemetry {
  readonly metrics = new IstioMetrics();
  readonly workload: PeerWorkload;
  readonly service: LocalService;
  /** This workload's peer header value, encoded once. */
  readonly peerHeader: string;
  private readonly principalOf: () => string;
  private readonly peers = new Map<string, PeerWorkload | undefined>();

  constructor(o: TelemetryOptions) {
    // Istio's agent reports its build the same way (the performance and control-plane dashboards read it).
    this.metrics.registry.gauge('istio_build', 'Weft build information.', ['component', 'tag']).child('', ['proxy', WEFT_VERSION]).value = 1;
    this.workload = o.workload;
    this.service = o.service;
    this.peerHeader = encodePeerHeader(o.workload);
    this.principalOf = o.principal;
  }

  get principal(): string {
    return this.principalOf() || UNKNOWN;
  }

  /** A peer header decoded (once per distinct value; the cache is bounded against junk values). */
  peer(raw: string | undefined): PeerWorkload | undefined {
    if (raw === undefined) return undefined;
    if (this.peers.has(raw)) return this.peers.get(raw);
    if (this.peers.size >= PEER_CACHE_MAX) this.peers.clear();
    const p = decodePeerHeader(raw);
    this.peers.set(raw, p);
    return p;
  }
}

/** destination_service, _name and _namespace of an outbound call: the FQDN in an Istio cluster name
 * (`outbound|9080|v1|reviews.default.svc.cluster.local`), else the authority's host (Istio's host
 * header fallback). */
export function destinationServiceOf(clusterName: string, authority: string): LocalService {
  let host = '';
  if (clusterName.startsWith('outbound|')) host = clusterName.slice(clusterName.lastIndexOf('|') + 1);
  if (!host) host = authority.replace(/:\d+$/, '');
  if (!host) return { host: UNKNOWN, name: UNKNOWN, namespace: UNKNOWN };
  const m = /^([^.]+)\.([^.]+)\.svc\./.exec(host);
  return m ? { host, name: m[1], namespace: m[2] } : { host, name: host, namespace: UNKNOWN };
}

type Side = 'source' | 'destination';

/** The workload labels of one side; "unknown" for a peer this side knows nothing about. */
export function workloadLabels(side: Side, w: PeerWorkload | undefined): Pick<IstioLabels, `${Side}_workload` | `${Side}_workload_namespace` | `${Side}_app` | `${Side}_version` | `${Side}_cluster`> {
  const labels = {
    [`${side}_workload`]: w?.workload ?? UNKNOWN,
    [`${side}_workload_namespace`]: w?.namespace ?? UNKNOWN,
    [`${side}_app`]: w?.app ?? UNKNOWN,
    [`${side}_version`]: w?.version ?? UNKNOWN,
    [`${side}_cluster`]: w?.cluster ?? UNKNOWN,
  };
  return labels as ReturnType<typeof workloadLabels>;
}

/** Istio's connection_security_policy: only the destination knows (the source says "unknown"). */
export function securityPolicy(reporter: Reporter, peerPrincipal: string | undefined): string {
  if (reporter === 'source') return UNKNOWN;
  return peerPrincipal ? 'mutual_tls' : 'none';
}
