// LDS for xDS-enabled gRPC servers (gRPC A36): a server built with grpc-js-xds's `XdsServer` asks,
// for each address it binds, for the listener named by its bootstrap's
// server_listener_resource_name_template (`grpc/server?xds.resource.listening_address=%s`, gRPC's
// default). The listener must carry that same socket address, and a filter chain whose
// HttpConnectionManager routes with `non_forwarding_action` (the server handles the call itself) and
// ends its filters with the router. Served for the ports a registered gRPC node declares
// (WEFT_PORTS), on its own address and on the wildcard addresses a server may bind.
import { HCM_TYPE_URL } from '../../../api/envoy.js';
import { SERVER_LISTENER_TEMPLATE } from '../../../api/grpc-bootstrap.js';
import type { ProxyNode } from '../../model/proxy-node.js';
import { routerFilter } from '../filters.js';
import { HCM_FILTER, inboundClusterName } from '../names.js';
import { socketAddress, type XdsResource } from '../types.js';


/** `host:port` as gRPC formats a bound address into the template (IPv6 in brackets). */
const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export function proxylessServerListeners(proxy: Pick<ProxyNode, 'address' | 'ports'>): XdsResource[] {
  const hosts = [...new Set([proxy.address, '0.0.0.0', '::'])];
  return proxy.ports.flatMap((p) =>
    hosts.map((host) => {
      const name = SERVER_LISTENER_TEMPLATE.replace('%s', hostPort(host, p.appPort));
      const routeConfig = {
        name: inboundClusterName(p.servicePort),
        virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ name: 'default', match: { prefix: '/' }, non_forwarding_action: {} }] }],
      };
      const hcm = { '@type': HCM_TYPE_URL, stat_prefix: name, route_config: routeConfig, http_filters: [routerFilter] };
      return { name, body: { name, address: socketAddress(host, p.appPort), filter_chains: [{ name: 'inbound', filters: [{ name: HCM_FILTER, typed_config: hcm }] }] } };
    }),
  );
}
