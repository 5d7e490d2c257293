// What one end of a call tells the other about its workload, for telemetry labels (Istio's peer
// metadata exchange, in Weft's own compact form). Three carriers:
//  - HTTP: the `x-weft-peer` header, added by the client sidecar to requests and by the server
//    sidecar to responses, read and stripped by the sidecar at the other end (apps never see it);
//  - EDS: filter_metadata.istio.workload on each endpoint, in Istio's own
//    "name;namespace;canonical-service;canonical-revision;cluster" form, so a client knows the
//    destination workload even when no response header comes back (TCP, failed calls);
//  - TCP over mTLS: a preamble each way once the handshake negotiated PEER_EXCHANGE_ALPN.
// Identities (principals) never travel here: they come from the mTLS peer certificate.

export const PEER_HEADER = 'x-weft-peer';
/** TCP: the ALPN protocol a client sidecar offers and an inbound TCP chain accepts for the peer
 * exchange (proxy/tcp/peer-exchange.ts), Weft's counterpart of Istio's istio-peer-exchange. */
export const PEER_EXCHANGE_ALPN = 'weft-peer-exchange';
/** The filter_metadata key and field Istio uses for an endpoint's workload. */
export const ENDPOINT_METADATA_KEY = 'istio';
export const ENDPOINT_WORKLOAD_FIELD = 'workload';
/** Istio's default cluster id (CLUSTER_ID) when none is configured. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';

export interface PeerWorkload {
  /** The workload's name (Istio: the Deployment's; Weft: WORKLOAD_NAME). */
  workload: string;
  namespace: string;
  /** Canonical service and revision (the `app` and `version` metric labels). */
  app: string;
  version: string;
  cluster: string;
}

/** Istio's canonical service: service.istio.io/canonical-name, app.kubernetes.io/name, app, else the workload name. */
export function canonicalService(labels: Readonly<Record<string, string>>, workload: string): string {
  return labels['service.istio.io/canonical-name'] || labels['app.kubernetes.io/name'] || labels.app || workload;
}

/** Istio's canonical revision: service.istio.io/canonical-revision, app.kubernetes.io/version, version, else "latest". */
export function canonicalRevision(labels: Readonly<Record<string, string>>): string {
  return labels['service.istio.io/canonical-revision'] || labels['app.kubernetes.io/version'] || labels.version || 'latest';
}

export function peerWorkload(o: { workload: string; namespace: string; labels: Readonly<Record<string, string>>; cluster?: string }): PeerWorkload {
  return { workload: o.workload, namespace: o.namespace, app: canonicalService(o.labels, o.workload), version: canonicalRevision(o.labels), cluster: o.cluster || DEFAULT_CLUSTER_ID };
}

/** EDS endpoint metadata value (Istio's form). */
export function formatEndpointWorkload(p: PeerWorkload): string {
  return [p.workload, p.namespace, p.app, p.version, p.cluster].join(';');
}

export function parseEndpointWorkload(v: string): PeerWorkload | undefined {
  const parts = v.split(';');
  if (parts.length !== 5 || !parts[0]) return undefined;
  const [workload, namespace, app, version, cluster] = parts;
  return { workload, namespace, app, version, cluster };
}

const MAX_HEADER = 512;
const FIELDS: [keyof PeerWorkload, string][] = [
  ['workload', 'w'],
  ['namespace', 'n'],
  ['app', 'a'],
  ['version', 'v'],
  ['cluster', 'c'],
];

/** `w=reviews-v1;n=default;a=reviews;v=v1;c=Kubernetes`, values percent-encoded. */
export function encodePeerHeader(p: PeerWorkload): string {
  return FIELDS.map(([k, short]) => `${short}=${encodeURIComponent(p[k])}`).join(';');
}

/** The workload a peer header names; undefined when it is malformed (then the labels say "unknown"). */
export function decodePeerHeader(v: string): PeerWorkload | undefined {
  if (v.length > MAX_HEADER) return undefined;
  const out: Partial<PeerWorkload> = {};
  for (const part of v.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 1) return undefined;
    const field = FIELDS.find(([, short]) => short === part.slice(0, eq));
    if (!field) continue; // a newer peer's field: ignore it
    try {
      out[field[0]] = decodeURIComponent(part.slice(eq + 1));
    } catch {
      return undefined;
    }
  }
  if (!out.workload || !out.namespace) return undefined;
  return { workload: out.workload, namespace: out.namespace, app: out.app || out.workload, version: out.version || 'latest', cluster: out.cluster || DEFAULT_CLUSTER_ID };
}
