// The capture init container: `weft iptables` in the pod's network namespace, with flags from the
// pod's traffic annotations (the contract of the command line is docs/injection.md's table). In CNI
// mode there is none: weft-cni applies the same rules from the same annotations.
import { CAPTURE_DEFAULTS } from '../capture/settings.js';
import type { PodSettings } from './annotations.js';
import { INIT_NAME, PROXY_UID, type InjectOptions } from './options.js';
import { STATUS_PORT } from './probes.js';
import type { Container } from './types.js';

/** Ports of the proxy itself that inbound capture must leave alone (Istio's: Prometheus, health, status). */
export const PROXY_INBOUND_PORTS = [15090, 15021, STATUS_PORT];

/** The `weft iptables` arguments for a pod (without the leading `iptables`). */
export function iptablesArgs(s: PodSettings): string[] {
  const excludeInbound = [...PROXY_INBOUND_PORTS.map(String), ...(s.excludeInboundPorts ? s.excludeInboundPorts.split(',') : [])];
  const args = [
    '--outbound-port', String(CAPTURE_DEFAULTS.outboundPort),
    '--inbound-port', String(CAPTURE_DEFAULTS.inboundPort),
    '--proxy-uid', String(PROXY_UID),
    '--proxy-gid', String(PROXY_UID),
    '--include-inbound-ports', s.includeInboundPorts ?? '*',
    '--exclude-inbound-ports', [...new Set(excludeInbound)].join(','),
    '--include-outbound-cidrs', s.includeOutboundCidrs ?? '*',
  ];
  const optional: [string, string | undefined][] = [
    ['--exclude-outbound-cidrs', s.excludeOutboundCidrs],
    ['--include-outbound-ports', s.includeOutboundPorts],
    ['--exclude-outbound-ports', s.excludeOutboundPorts],
    ['--exclude-interfaces', s.excludeInterfaces],
  ];
  for (const [flag, v] of optional) if (v) args.push(flag, v);
  // Istio's switch for DNS capture; only meaningful where the proxy serves DNS.
  if (s.proxy.proxyMetadata.ISTIO_META_DNS_CAPTURE === 'true') args.push('--capture-dns');
  return args;
}

export function captureInitContainer(s: PodSettings, o: InjectOptions, image: string): Container | undefined {
  if (o.cni) return undefined;
  return {
    name: INIT_NAME,
    image,
    command: ['weft'],
    args: ['iptables', ...iptablesArgs(s)],
    resources: { requests: { cpu: '10m', memory: '40Mi' }, limits: { cpu: '2', memory: '1Gi' } },
    // Root for iptables, but nothing beyond the two network capabilities it needs.
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
}
