// An Envoy bootstrap for a Weft sidecar (`weft bootstrap --envoy`): the node Weft's control plane
// registers (the same metadata `weft proxy` sends, so Envoy is served as a sidecar), ADS over gRPC to
// the control plane's `xds-grpc` cluster with LDS and CDS from it, an admin listener, and Istio's
// `sds-grpc` cluster (a local agent's socket) that mTLS secrets are named through. Proto3 JSON form,
// as Envoy reads it with `-c`; checked against Envoy's rules by `envoyBootstrapProblems`.
import net from 'node:net';
import { HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL, resourceRoot, type Json } from '../../api/envoy.js';
import { AGENT_SDS_CLUSTER } from '../../api/mesh-names.js';
import { fromProtoJson } from '../../api/proto-json.js';
import { nodeMetadata, workloadNameOf, type WorkloadIdentity } from '../../proxy/xds/node.js';
import { checkResource, formatViolation } from '../xds/envoy-rules/check.js';
import { semanticProblems } from '../xds/envoy-rules/semantic.js';

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';
export const XDS_CLUSTER = 'xds-grpc';
/** Where Istio's agent serves SDS to its Envoy (pilot-agent's workload-spiffe-uds socket). */
export const DEFAULT_SDS_SOCKET = './var/run/secrets/workload-spiffe-uds/socket';

export interface EnvoyBootstrapOptions {
  service: string;
  namespace: string;
  /** host:port of the control plane's plaintext ADS (default 127.0.0.1:15010). */
  xdsAddress?: string;
  adminPort?: number;
  adminAddress?: string;
  serviceAccount?: string;
  labels?: Record<string, string>;
  /** The workload's address (INSTANCE_IPS): the endpoint peers reach. */
  address?: string;
  /** Without an app port the sidecar only calls out (no inbound port registered). */
  appPort?: number;
  servicePort?: number;
  protocol?: string;
  outboundPort?: number;
  inboundPort?: number;
  capture?: 'explicit' | 'transparent';
  locality?: string;
  nodeId?: string;
  sdsSocket?: string;
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const host = s.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !host || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--xds-address ${JSON.stringify(s)}: expected host:port`);
  return { host, port };
}

const http2Only = { [HTTP_PROTOCOL_OPTIONS_KEY]: { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL, explicit_http_config: { http2_protocol_options: {} } } };

/** The bootstrap as Envoy reads it (proto3 JSON mapping, proto field names). */
export function envoyBootstrap(o: EnvoyBootstrapOptions): Record<string, Json> {
  const xds = hostPort(o.xdsAddress ?? '127.0.0.1:15010');
  const address = o.address ?? '127.0.0.1';
  const identity: WorkloadIdentity = {
    service: o.service,
    namespace: o.namespace,
    labels: o.labels ?? {},
    serviceAccount: o.serviceAccount ?? 'default',
    address,
    appPort: o.appPort ?? 0,
    servicePort: o.servicePort ?? o.appPort ?? 0,
    outboundPort: o.outboundPort ?? 15001,
    inboundPort: o.inboundPort ?? 15006,
    protocol: o.protocol ?? 'HTTP',
    capture: o.capture ?? 'explicit',
  };
  const metadata = nodeMetadata(identity);
  // A client-only sidecar registers no port: the control plane then sends no inbound listener.
  if (!o.appPort) delete metadata.WEFT_PORTS;
  const [region = '', zone = '', subZone = ''] = (o.locality ?? '').split('/');
  const node: Record<string, Json> = {
    id: o.nodeId ?? `sidecar~${address}~${workloadNameOf(identity)}.${o.namespace}~${o.namespace}.svc.cluster.local`,
    // Istio's bootstrap spelling `<service>.<namespace>`, which the control plane also reads.
    cluster: `${o.service}.${o.namespace}`,
    metadata,
    ...(o.locality ? { locality: { region, zone, sub_zone: subZone } } : {}),
  };
  const xdsCluster: Record<string, Json> = {
    name: XDS_CLUSTER,
    type: net.isIP(xds.host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    load_assignment: { cluster_name: XDS_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: xds.host, port_value: xds.port } } } }] }] },
    typed_extension_protocol_options: http2Only,
  };
  const sdsCluster: Record<string, Json> = {
    name: AGENT_SDS_CLUSTER,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: { cluster_name: AGENT_SDS_CLUSTER, endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: o.sdsSocket ?? DEFAULT_SDS_SOCKET } } } }] }] },
    typed_extension_protocol_options: http2Only,
  };
  const ads = { ads: {}, resource_api_version: 'V3' };
  // SotW ADS (GRPC, not DELTA_GRPC): on Delta streams Weft serves virtual hosts over VHDS on the ADS
  // stream, which only Weft's proxy takes; Envoy refuses it ("vhds: only 'DELTA_GRPC' is supported").
  // On SotW Weft sends whole route tables.
  return {
    node,
    admin: { address: { socket_address: { address: o.adminAddress ?? '127.0.0.1', port_value: o.adminPort ?? 15000 } } },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', set_node_on_first_message_only: true, grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }] },
      cds_config: ads,
      lds_config: ads,
    },
    static_resources: { clusters: [xdsCluster, sdsCluster] },
  };
}

/** Every problem Envoy would find in `bootstrap`: validate.rules, then the bootstrap's own semantics
 * (the ADS cluster is a static HTTP/2 cluster; the static clusters pass the cluster checks). */
export function envoyBootstrapProblems(bootstrap: Record<string, Json>): string[] {
  const type = resourceRoot().lookupType(BOOTSTRAP_TYPE);
  const body = fromProtoJson(type, bootstrap) as Record<string, unknown>;
  const problems = checkResource(BOOTSTRAP_TYPE, body).map(formatViolation);
  const clusters = ((bootstrap.static_resources as { clusters?: Array<Record<string, Json>> } | undefined)?.clusters ?? []).map((c) => ({ name: String(c.name), body: c }));
  problems.push(...semanticProblems({ cluster: clusters }).filter((p) => !/EDS cluster|reference:/.test(p)));
  const dyn = (bootstrap.dynamic_resources ?? {}) as Record<string, any>;
  const usesAds = [dyn.cds_config, dyn.lds_config].some((c) => c && c.ads !== undefined);
  if (usesAds && !dyn.ads_config) problems.push('dynamic_resources: cds_config/lds_config use ADS but ads_config is not set');
  for (const [i, g] of ((dyn.ads_config?.grpc_services ?? []) as Array<Record<string, any>>).entries()) {
    const name = g.envoy_grpc?.cluster_name;
    const c = clusters.find((x) => x.name === name)?.body as Record<string, any> | undefined;
    if (!c) problems.push(`dynamic_resources.ads_config.grpc_services[${i}]: Unknown gRPC client cluster '${name}' (it must be a static cluster)`);
    else if (!c.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS_KEY]?.explicit_http_config?.http2_protocol_options && !c.http2_protocol_options)
      problems.push(`static cluster ${name}: a gRPC client cluster must use HTTP/2`);
  }
  return problems;
}
