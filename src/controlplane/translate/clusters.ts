// CDS: one cluster per service port, one more per DestinationRule subset, and the inbound clusters.
import type { TrafficPolicy } from '../../config/types.js';
import type { MeshService, MeshSnapshot } from '../model/snapshot.js';
import type { ProxyNode } from '../model/proxy-node.js';
import { destinationRuleFor, effectivePolicy } from './destination-rules.js';
import { clusterLbFields, isPassthrough } from './load-balancing.js';
import { dnsLoadAssignment } from './endpoints.js';
import { inboundClusterName, outboundClusterName } from './names.js';
import { ADS_CONFIG_SOURCE, duration, socketAddress, type XdsResource } from './types.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000; // Istio's default

/** Outbound clusters depend only on config, services and the client's namespace. */
export function outboundClusters(snap: MeshSnapshot, clientNamespace: string): XdsResource[] {
  const out: XdsResource[] = [];
  for (const svc of snap.services) {
    const dr = destinationRuleFor(snap, svc.hostname, clientNamespace, svc.namespace);
    for (const port of svc.ports) {
      out.push(outboundCluster(snap, svc, port.port, '', effectivePolicy(dr, port.port)));
      for (const subset of dr?.spec.subsets ?? [])
        out.push(outboundCluster(snap, svc, port.port, subset.name, effectivePolicy(dr, port.port, subset.name)));
    }
  }
  return out;
}

function outboundCluster(snap: MeshSnapshot, svc: MeshService, port: number, subset: string, policy: TrafficPolicy): XdsResource {
  const name = outboundClusterName(port, subset, svc.hostname);
  const body: Record<string, unknown> = {
    name,
    connect_timeout: duration(policy.connectionPool?.tcp?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS),
    ...clusterLbFields(policy),
    ...circuitBreakers(policy),
    ...outlierDetection(policy),
  };
  if (isPassthrough(policy)) {
    // ORIGINAL_DST: no endpoints of its own (the proxy NACKs it until it can recover the original destination).
  } else if (svc.resolution === 'DNS') {
    body.type = 'STRICT_DNS';
    body.load_assignment = dnsLoadAssignment(snap, svc, port, name);
  } else {
    body.type = 'EDS';
    body.eds_cluster_config = { eds_config: ADS_CONFIG_SOURCE, service_name: name };
  }
  return { name, body };
}

function circuitBreakers(policy: TrafficPolicy): Record<string, unknown> {
  const tcp = policy.connectionPool?.tcp;
  const http = policy.connectionPool?.http;
  const t: Record<string, unknown> = {};
  if (tcp?.maxConnections !== undefined) t.max_connections = { value: tcp.maxConnections };
  if (http?.http1MaxPendingRequests !== undefined) t.max_pending_requests = { value: http.http1MaxPendingRequests };
  if (http?.http2MaxRequests !== undefined) t.max_requests = { value: http.http2MaxRequests };
  return Object.keys(t).length ? { circuit_breakers: { thresholds: [t] } } : {};
}

function outlierDetection(policy: TrafficPolicy): Record<string, unknown> {
  const od = policy.outlierDetection;
  if (!od) return {};
  const o: Record<string, unknown> = {};
  if (od.consecutive5xxErrors !== undefined) o.consecutive_5xx = { value: od.consecutive5xxErrors };
  if (od.consecutiveGatewayErrors !== undefined) o.consecutive_gateway_failure = { value: od.consecutiveGatewayErrors };
  if (od.intervalMs !== undefined) o.interval = duration(od.intervalMs);
  if (od.baseEjectionTimeMs !== undefined) o.base_ejection_time = duration(od.baseEjectionTimeMs);
  if (od.maxEjectionPercent !== undefined) o.max_ejection_percent = { value: od.maxEjectionPercent };
  return { outlier_detection: o };
}

/** Inbound clusters send to the local app; they depend only on the proxy's own ports. */
export function inboundClusters(proxy: ProxyNode): XdsResource[] {
  return proxy.ports.map((p) => {
    const name = inboundClusterName(p.servicePort);
    return {
      name,
      body: {
        name,
        type: 'STATIC',
        connect_timeout: duration(DEFAULT_CONNECT_TIMEOUT_MS),
        lb_policy: 'ROUND_ROBIN',
        load_assignment: {
          cluster_name: name,
          endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', p.appPort) } }] }],
        },
      },
    };
  });
}
