// The monitor's view of service VIPs (/debug/vips): what a captured app must resolve each service
// name to, so the demo and tests can write a hosts file per namespace (Istio answers these from its
// DNS proxy; a hosts file is the same answer without one).
import { hostAliases } from './model/hosts.js';
import type { MeshSnapshot } from './model/snapshot.js';
import type { VipRange } from './model/vips.js';

export interface ServiceVips {
  /** The range auto-allocated VIPs come from (--service-vip-range). */
  range: string;
  domain: string;
  services: Array<{ hostname: string; namespace: string; addresses: string[]; origin: string }>;
}

export function serviceVips(snap: MeshSnapshot | undefined, range: VipRange): ServiceVips {
  return {
    range: range.cidr,
    domain: snap?.domain ?? '',
    services: (snap?.services ?? []).map((s) => ({ hostname: s.hostname, namespace: s.namespace, addresses: s.addresses, origin: s.origin })),
  };
}

/** /etc/hosts lines: each service's first single address with every name an app in `namespace` may
 * use for it (the short name only within its own namespace); CIDR-only and address-less services
 * have no line (their apps connect to real addresses). */
export function hostsFile(vips: ServiceVips, namespace?: string): string {
  const lines = ['# service VIPs from the Weft control plane (/debug/vips?format=hosts' + (namespace ? `&namespace=${namespace}` : '') + ')'];
  for (const s of vips.services) {
    const ip = s.addresses.find((a) => !a.includes('/'));
    if (!ip) continue;
    lines.push(`${ip} ${hostAliases(s.hostname, namespace ?? '', vips.domain).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}
