// `weft proxy-config routes`: one row per route of each virtual host, istioctl's columns (NAME, VHOST
// NAME, DOMAINS, MATCH, VIRTUAL SERVICE). A virtual host without routes shows `/*` and `404`.
import { list, obj, str, type Raw } from './dump.js';
import { describePathMatch } from './listeners.js';
import { textTable } from './text-table.js';

export interface RouteFilter {
  name?: string;
}

export const filterRoutes = (routes: Raw[], f: RouteFilter): Raw[] => routes.filter((r) => f.name === undefined || str(r.name) === f.name);

/** istioctl's DOMAINS: the one domain; else those without a port (a bare IPv6 address kept), less the
 * expansions of a shorter one (`x.svc.cluster.local`, `x.svc` beside `x`), the first two and a count. */
export function describeDomains(domains: string[]): string {
  if (domains.length <= 1) return domains[0] ?? '';
  const withoutPort = domains.filter((d) => !d.includes(':') || ((d.match(/:/g) ?? []).length > 2 && d.endsWith(']')));
  const present = new Set(withoutPort);
  const expansion = (d: string) => [d.replace(/\.svc\.cluster\.local$/, ''), d.replace(/\.svc$/, '')].some((s) => s !== d && present.has(s));
  const shown = withoutPort.filter((d) => !expansion(d));
  return shown.length > 2 ? `${shown.slice(0, 2).join(', ')} + ${shown.length - 2} more...` : shown.join(', ');
}

/**
 * The VirtualService a route came from, as `name.namespace`: Istio's route metadata
 * (filter_metadata.istio.config, `/apis/networking.istio.io/v1/namespaces/NS/virtual-service/NAME`)
 * when present, else the name Weft's translator gives a VirtualService's routes, `NS/NAME.http[i]…`.
 */
export function virtualServiceOf(route: Raw): string {
  const config = str(obj(obj(obj(obj(route.metadata).filter_metadata).istio)).config);
  const fromMeta = /\/namespaces\/([^/]+)\/virtual-service\/([^/]+)$/.exec(config);
  if (fromMeta) return `${fromMeta[2]}.${fromMeta[1]}`;
  const fromName = /^([a-z0-9-]+)\/([a-z0-9.-]+?)\.http\[\d+\]/.exec(str(route.name));
  return fromName ? `${fromName[2]}.${fromName[1]}` : '';
}

export function routesTable(routes: Raw[]): string {
  const rows: string[][] = [];
  const sorted = [...routes].sort((a, b) => str(a.name).localeCompare(str(b.name), 'en', { numeric: true }));
  for (const rc of sorted)
    for (const vh of list(rc.virtual_hosts)) {
      const domains = describeDomains(list(vh.domains) as unknown as string[]);
      const routesOfHost = list(vh.routes);
      // Routes to the passthrough cluster are left out, as istioctl does.
      for (const r of routesOfHost) if (str(obj(r.route).cluster) !== 'PassthroughCluster') rows.push([str(rc.name), str(vh.name), domains, describePathMatch(obj(r.match)), virtualServiceOf(r)]);
      if (routesOfHost.length === 0) rows.push([str(rc.name), str(vh.name), domains, '/*', '404']);
    }
  return textTable(['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'], rows, 5);
}
