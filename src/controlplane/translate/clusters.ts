// CDS: one cluster per service port, one more per DestinationRule subset, and the inbound clusters.
import type { TrafficPolicy } from '../../config/types.js';
import { PEER_EXCHANGE_ALPN } from '../../api/peer-metadata.js';
import type { MeshService, MeshSnapshot } from '../model/snapshot.js';
import type { InterceptionMode, ProxyNode } from '../model/proxy-node.js';
import { connectionPoolFields, outlierDetectionFields, withCommonLbConfig } from './cluster-resilience.js';
import { destinationRuleFor, effectivePolicy } from './destination-rules.js';
import { clusterLbFields, isPassthrough } from './load-balancing.js';
import { clusterTlsFields } from './cluster-tls.js';
import { dnsLoadAssignment } from './endpoints.js';
import { BLACKHOLE_CLUSTER, INBOUND_PASSTHROUGH_BIND, INBOUND_PASSTHROUGH_CLUSTER, inboundClusterName, isHttpProtocol, outboundClusterName, PASSTHROUGH_CLUSTER } from './names.js';
import { upstreamProtocol, upstreamProtocolFields } from './upstream-protocol.js';
import { ADS_CONFIG_SOURCE, duration, socketAddress, type XdsResource } from './types.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000; // Istio's default

/** Outbound clusters depend only on config, services, the client's namespace and capture mode: a
 * captured client sends a ServiceEntry with resolution NONE to the original destination (Istio's
 * ORIGINAL_DST cluster); an explicit one has no original destination and resolves the host by DNS. */
export function outboundClusters(snap: MeshSnapshot, clientNamespace: string, mode: InterceptionMode = 'NONE'): XdsResource[] {
  const out: XdsResource[] = [];
  for (const svc of snap.services) {
    const dr = destinationRuleFor(snap, svc.hostname, clientNamespace, svc.namespace);
    const policyOf = (port: number, subset?: string): TrafficPolicy => {
      const policy = effectivePolicy(dr, port, subset);
      return mode === 'REDIRECT' && svc.passthrough ? { ...policy, loadBalancer: { simple: 'PASSTHROUGH' } } : policy;
    };
    for (const port of svc.ports) {
      out.push(outboundCluster(snap, svc, port.port, '', policyOf(port.port)));
      for (const subset of dr?.spec.subsets ?? []) out.push(outboundCluster(snap, svc, port.port, subset.name, policyOf(port.port, subset.name)));
    }
  }
  return out;
}

function outboundCluster(snap: MeshSnapshot, svc: MeshService, port: number, subset: string, policy: TrafficPolicy): XdsResource {
  const name = outboundClusterName(port, subset, svc.hostname);
  const body: Record<string, unknown> = {
    name,
    connect_timeout: duration(policy.connectionPool?.tcp?.connectTimeoutMs ?? snap.mesh.connectTimeoutMs),
    ...withCommonLbConfig(clusterLbFields(policy), outlierDetectionFields(policy)),
    ...connectionPoolFields(policy, { retryBudget: true }),
  };
  const protocol = svc.ports.find((p) => p.port === port)?.protocol ?? 'UNKNOWN';
  const http = isHttpProtocol(protocol) ? upstreamProtocol(protocol, policy, snap.mesh.h2UpgradePolicy) : undefined;
  if (http) withProtocolOptions(body, upstreamProtocolFields(http, policy));
  // Auto mTLS only where some endpoint has a sidecar with an identity (and the mesh allows it); a
  // DestinationRule's tls always applies.
  if (policy.tls || (snap.mesh.enableAutoMtls && svc.identities.length > 0)) {
    Object.assign(
      body,
      clusterTlsFields({
        hostname: svc.hostname,
        port,
        subset,
        external: svc.external,
        serviceAccounts: svc.identities,
        trustDomain: snap.mesh.trustDomain,
        // Opaque TCP to a sidecar (mesh mTLS) offers the TCP peer exchange, as Istio offers istio-peer-exchange.
        alpn: http === 'http2' ? ['h2'] : http === 'http1' ? ['http/1.1'] : http === 'downstream' ? ['h2', 'http/1.1'] : meshMtls(svc, policy) ? [PEER_EXCHANGE_ALPN] : [],
        tls: policy.tls,
      }),
    );
  }
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

const meshMtls = (svc: MeshService, policy: TrafficPolicy): boolean => !svc.external && (!policy.tls || policy.tls.mode === 'ISTIO_MUTUAL');

/** Add HttpProtocolOptions; Envoy refuses them beside the deprecated cluster-level
 * common_http_protocol_options, so those move inside. */
function withProtocolOptions(body: Record<string, unknown>, fields: Record<string, unknown>): void {
  const typed = fields.typed_extension_protocol_options as Record<string, Record<string, unknown>> | undefined;
  if (!typed) return;
  const common = body.common_http_protocol_options;
  if (common !== undefined) {
    delete body.common_http_protocol_options;
    for (const v of Object.values(typed)) v.common_http_protocol_options = common;
  }
  body.typed_extension_protocol_options = typed;
}

/** Inbound clusters send to the local app; they depend only on the proxy's own ports. Explicit
 * mode: to 127.0.0.1:<app port>. Captured, as Istio does since 1.10: to the connection's original
 * destination (the pod's own address and the app's port, so an app bound to its pod IP is reached
 * too), from 127.0.0.6 so the capture rules let the connection through to the app; the cluster is
 * named by that port (Istio's `inbound|<endpoint port>||`). */
export function inboundClusters(proxy: ProxyNode, mode: InterceptionMode = 'NONE'): XdsResource[] {
  const captured = mode === 'REDIRECT';
  return proxy.ports.map((p) => {
    const name = inboundClusterName(captured ? p.appPort : p.servicePort);
    const body: Record<string, unknown> = captured
      ? {
          name,
          ...originalDestination(DEFAULT_CONNECT_TIMEOUT_MS),
          // Istio's unlimited thresholds; no budget: inbound routes do not retry.
          ...connectionPoolFields({}, { retryBudget: false }),
          upstream_bind_config: { source_address: socketAddress(INBOUND_PASSTHROUGH_BIND, 0).socket_address },
        }
      : {
          name,
          type: 'STATIC',
          connect_timeout: duration(DEFAULT_CONNECT_TIMEOUT_MS),
          lb_policy: 'ROUND_ROBIN',
          ...connectionPoolFields({}, { retryBudget: false }),
          load_assignment: {
            cluster_name: name,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', p.appPort) } }] }],
          },
        };
    // To the app in its own protocol: HTTP/2 for a gRPC or HTTP/2 port (the caller's, if unknown).
    if (isHttpProtocol(p.protocol)) withProtocolOptions(body, upstreamProtocolFields(upstreamProtocol(p.protocol, undefined), undefined));
    return { name, body };
  });
}

/** An ORIGINAL_DST cluster: each connection goes where the downstream connection was headed. */
function originalDestination(connectTimeoutMs: number): Record<string, unknown> {
  return { type: 'ORIGINAL_DST', connect_timeout: duration(connectTimeoutMs), lb_policy: 'CLUSTER_PROVIDED' };
}

/** The fixed clusters of the captured layout: PassthroughCluster
 * (ALLOW_ANY's destination), BlackHoleCluster (REGISTRY_ONLY's, and the capture ports' own: a
 * connection straight to 15001/15006 would loop), InboundPassthroughClusterIpv4 (inbound traffic to
 * a port no service declares, to the app from 127.0.0.6). */
export function captureClusters(mesh: Pick<MeshSnapshot['mesh'], 'connectTimeoutMs'>): XdsResource[] {
  const passthrough = { name: PASSTHROUGH_CLUSTER, ...originalDestination(mesh.connectTimeoutMs), ...connectionPoolFields({}, { retryBudget: false }) };
  // Envoy takes a STATIC cluster without endpoints; the empty assignment says so explicitly.
  const blackhole = { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: duration(mesh.connectTimeoutMs), lb_policy: 'ROUND_ROBIN', load_assignment: { cluster_name: BLACKHOLE_CLUSTER, endpoints: [] } };
  const inbound = {
    name: INBOUND_PASSTHROUGH_CLUSTER,
    ...originalDestination(mesh.connectTimeoutMs),
    ...connectionPoolFields({}, { retryBudget: false }),
    upstream_bind_config: { source_address: socketAddress(INBOUND_PASSTHROUGH_BIND, 0).socket_address },
  };
  return [passthrough, blackhole, inbound].map((body) => ({ name: body.name, body }));
}
