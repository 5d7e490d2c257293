// LDS for proxyless gRPC: one API listener per dial target (targets.ts). gRPC takes an
// HttpConnectionManager inline in `api_listener`, with RDS over ADS and its HTTP filters ending in
// the router; fault comes first so that VirtualService faults act (gRPC A27, A33).
import { HCM_TYPE_URL } from '../../../api/envoy.js';
import type { MeshSnapshot } from '../../model/snapshot.js';
import { faultFilter, routerFilter } from '../filters.js';
import { ADS_CONFIG_SOURCE, type XdsResource } from '../types.js';
import { proxylessTargets } from './targets.js';

export function proxylessListeners(snap: Pick<MeshSnapshot, 'services' | 'domain'>, clientNamespace: string): XdsResource[] {
  return proxylessTargets(snap, clientNamespace).flatMap((t) =>
    t.names.map((name) => ({
      name,
      body: {
        name,
        api_listener: {
          api_listener: {
            '@type': HCM_TYPE_URL,
            stat_prefix: name,
            rds: { config_source: ADS_CONFIG_SOURCE, route_config_name: t.route },
            http_filters: [faultFilter, routerFilter],
          },
        },
      },
    })),
  );
}
