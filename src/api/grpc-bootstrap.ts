// The bootstrap a proxyless gRPC application reads (GRPC_XDS_BOOTSTRAP, a file, or
// GRPC_XDS_BOOTSTRAP_CONFIG, the JSON itself), in the shape Istio's agent writes for one: the xDS
// server with server_features ["xds_v3"], and a node whose id has Istio's form
// `proxyless~<ip>~<name>.<namespace>~<namespace>.svc.<domain>` and whose metadata says GENERATOR
// "grpc" and the namespace. Nothing of Weft's own metadata is needed (the control plane tells a
// gRPC client by its node, src/controlplane/model/client-kind.ts).

export interface ProxylessBootstrapOptions {
  service: string;
  namespace: string;
  /** The control plane's plaintext xDS address, host:port. */
  xdsAddress: string;
  /** The application's address (the node id's IP). */
  address?: string;
  /** Instance name in the node id (default: the service). */
  name?: string;
  labels?: Record<string, string>;
  /** region/zone/subzone. */
  locality?: string;
  domain?: string;
  /** An xDS-enabled gRPC server (A36): the port it serves. The node then names its service and
   * port (WEFT_SERVICE, WEFT_PORTS), joins the registry as an endpoint of the service, and is
   * served the inbound listener of that port. */
  servePort?: number;
}

/** gRPC's default name for a server's listener (A36), as grpc-go and grpc-java use it. */
export const SERVER_LISTENER_TEMPLATE = 'grpc/server?xds.resource.listening_address=%s';

export function proxylessBootstrap(o: ProxylessBootstrapOptions): Record<string, unknown> {
  const address = o.address ?? '127.0.0.1';
  const domain = o.domain ?? 'cluster.local';
  const [region = '', zone = '', subZone = ''] = (o.locality ?? '').split('/');
  const locality = Object.fromEntries(Object.entries({ region, zone, sub_zone: subZone }).filter(([, v]) => v !== ''));
  return {
    xds_servers: [{ server_uri: o.xdsAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    server_listener_resource_name_template: SERVER_LISTENER_TEMPLATE,
    node: {
      id: `proxyless~${address}~${o.name ?? o.service}.${o.namespace}~${o.namespace}.svc.${domain}`,
      locality,
      metadata: {
        GENERATOR: 'grpc',
        NAMESPACE: o.namespace,
        INSTANCE_IPS: address,
        LABELS: { app: o.service, ...o.labels },
        ...(o.servePort ? { WEFT_SERVICE: o.service, WEFT_PORTS: [{ service_port: o.servePort, protocol: 'GRPC' }] } : {}),
      },
    },
  };
}
