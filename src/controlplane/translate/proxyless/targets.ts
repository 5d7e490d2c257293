// What a proxyless gRPC client dials: `xds:///<host>:<port>` makes its resolver ask LDS for
// `<host>:<port>` and pick, in the route table, the virtual host whose domains hold that same string
// (gRPC A27). Weft answers every host form Istio does (`echo`, `echo.default`, `echo.default.svc`,
// `echo.default.svc.cluster.local`; the short one only within the service's namespace), each with
// its port, and without the port for a service with a single HTTP port.
import { hostAliases } from '../../model/hosts.js';
import type { MeshService, MeshSnapshot } from '../../model/snapshot.js';
import { isHttpProtocol } from '../names.js';

export interface ProxylessTarget {
  svc: MeshService;
  port: number;
  /** The RDS name and the canonical target: `<fqdn>:<port>`. */
  route: string;
  /** Every LDS name (and virtual-host domain) that reaches this service port. */
  names: string[];
}

/** The targets of every HTTP (and gRPC) service port, as a client in `clientNamespace` names them. */
export function proxylessTargets(snap: Pick<MeshSnapshot, 'services' | 'domain'>, clientNamespace: string): ProxylessTarget[] {
  const out: ProxylessTarget[] = [];
  for (const svc of snap.services) {
    const httpPorts = svc.ports.filter((p) => isHttpProtocol(p.protocol));
    const aliases = hostAliases(svc.hostname, clientNamespace, snap.domain);
    for (const { port } of httpPorts) {
      const names = aliases.map((a) => `${a}:${port}`);
      if (httpPorts.length === 1) names.push(...aliases);
      out.push({ svc, port, route: `${svc.hostname}:${port}`, names });
    }
  }
  return out;
}
