// The xDS Node this sidecar presents. The control plane registers the workload (its endpoint)
// from this metadata, so the key set is a contract: keep it exactly as documented.
import { toStruct, type Json, type NodeWire } from '../../api/envoy.js';
import { WEFT_VERSION } from '../../api/version.js';

/** Istio's label for a workload whose sidecar holds mesh certificates (the control plane's auto mTLS reads it). */
export { TLS_MODE_LABEL } from '../../api/mesh-names.js';

export interface WorkloadIdentity {
  service: string;
  namespace: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** The address this workload is reached at (INSTANCE_IPS). */
  address: string;
  appPort: number;
  servicePort: number;
  outboundPort: number;
  inboundPort: number;
  protocol: string;
  /** Explicit node id; derived when absent. */
  id?: string;
  /** "region/zone/subzone" (node.locality); the control plane ranks endpoints by it. */
  locality?: string;
  /** explicit (default): the app sends to the outbound listener; transparent: iptables captures
   * the pod's traffic and the control plane sends Istio's transparent listener layout. */
  capture?: CaptureMode;
  /** The merged telemetry port (/stats/prometheus), when served: the control plane scrapes it for its dashboard. */
  telemetryPort?: number;
}

export type CaptureMode = 'explicit' | 'transparent';

export const USER_AGENT_NAME = 'weft';

export function defaultNodeId(w: WorkloadIdentity, pid: number = process.pid): string {
  return `sidecar~${w.address}~${w.service}-${pid}.${w.namespace}~${w.namespace}.svc.cluster.local`;
}

/** The workload's name (Istio's WORKLOAD_NAME, a Deployment's name there): `<service>-<version label>`. */
export function workloadNameOf(w: Pick<WorkloadIdentity, 'service' | 'labels'>): string {
  return `${w.service}-${w.labels.version ?? 'v0'}`;
}

export function nodeMetadata(w: WorkloadIdentity): Record<string, Json> {
  if (w.capture === 'transparent') {
    return {
      ...explicitMetadata(w),
      // Captured: peers reach the app's own port, iptables hands it to the inbound listener.
      WEFT_PORTS: [{ service_port: w.servicePort, endpoint_port: w.appPort, app_port: w.appPort, protocol: w.protocol }],
      WEFT_CAPTURE: 'transparent',
      // Istio's key (pilot-agent sets it from the injector's interceptionMode): REDIRECT is iptables
      // REDIRECT capture, which asks for virtualOutbound/virtualInbound and bind_to_port:false listeners.
      INTERCEPTION_MODE: 'REDIRECT',
    };
  }
  return explicitMetadata(w);
}

function explicitMetadata(w: WorkloadIdentity): Record<string, Json> {
  return {
    NAMESPACE: w.namespace,
    LABELS: { ...w.labels },
    SERVICE_ACCOUNT: w.serviceAccount,
    INSTANCE_IPS: w.address,
    WORKLOAD_NAME: workloadNameOf(w),
    WEFT_SERVICE: w.service,
    // Explicit capture: peers reach this workload on the inbound listener, not the app port.
    WEFT_PORTS: [{ service_port: w.servicePort, endpoint_port: w.inboundPort, app_port: w.appPort, protocol: w.protocol }],
    WEFT_OUTBOUND_PORT: w.outboundPort,
    WEFT_INBOUND_PORT: w.inboundPort,
    WEFT_CAPTURE: 'explicit',
    ...(w.telemetryPort ? { WEFT_TELEMETRY_PORT: w.telemetryPort } : {}),
  };
}

export function buildNode(w: WorkloadIdentity, pid: number = process.pid): NodeWire {
  return {
    id: w.id || defaultNodeId(w, pid),
    cluster: w.service,
    user_agent_name: USER_AGENT_NAME,
    user_agent_version: WEFT_VERSION,
    metadata: toStruct(nodeMetadata(w)),
    ...(w.locality ? { locality: nodeLocality(w.locality) } : {}),
  };
}

function nodeLocality(l: string): { region: string; zone: string; sub_zone: string } {
  const [region = '', zone = '', subZone = ''] = l.split('/');
  return { region, zone, sub_zone: subZone };
}
