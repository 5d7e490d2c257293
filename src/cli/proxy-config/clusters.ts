// `weft proxy-config clusters` (SERVICE FQDN, PORT, SUBSET, DIRECTION, TYPE, DESTINATION RULE, from the
// config dump) and `endpoints` (ENDPOINT, STATUS, OUTLIER CHECK, CLUSTER, from the admin's /clusters,
// which knows each host's health and ejection), istioctl's columns, order and filters.
import { list, num, obj, parseClusterName, str, type Raw } from './dump.js';
import { textTable } from './text-table.js';

export interface ClusterFilter {
  fqdn?: string;
  port?: number;
  subset?: string;
  direction?: string;
}

function keyOf(name: string): { fqdn: string; port: number | undefined; subset: string; direction: string } {
  const p = parseClusterName(name);
  return p ? { fqdn: p.fqdn, port: p.port, subset: p.subset, direction: p.direction } : { fqdn: name, port: undefined, subset: '', direction: '' };
}

function matchesKey(name: string, f: ClusterFilter): boolean {
  const k = keyOf(name);
  return (
    (f.fqdn === undefined || k.fqdn === f.fqdn || k.fqdn.startsWith(`${f.fqdn}.`)) &&
    (f.port === undefined || k.port === f.port) &&
    (f.subset === undefined || k.subset === f.subset) &&
    (f.direction === undefined || k.direction === f.direction.toLowerCase())
  );
}

export const filterClusters = (clusters: Raw[], f: ClusterFilter): Raw[] => clusters.filter((c) => matchesKey(str(c.name), f));

/** The cluster's discovery type (STATIC is proto3's default, so absent from the JSON) or custom type. */
const clusterType = (c: Raw): string => str(obj(c.cluster_type).name) || str(c.type) || 'STATIC';

/** Istio's management metadata (filter_metadata.istio.config) as `name.namespace`. */
function destinationRuleOf(c: Raw): string {
  const config = str(obj(obj(obj(c.metadata).filter_metadata).istio).config);
  const m = /\/namespaces\/([^/]+)\/destination-rule\/([^/]+)$/.exec(config);
  return m ? `${m[2]}.${m[1]}` : '';
}

export function clustersTable(clusters: Raw[]): string {
  const rows = clusters.map((c) => {
    const k = keyOf(str(c.name));
    return { k, row: [k.fqdn, k.port === undefined ? '-' : String(k.port), k.subset || '-', k.direction || '-', clusterType(c), destinationRuleOf(c)] };
  });
  // istioctl's order: name, subset, port, direction.
  rows.sort((a, b) => a.k.fqdn.localeCompare(b.k.fqdn) || a.k.subset.localeCompare(b.k.subset) || (a.k.port ?? 0) - (b.k.port ?? 0) || a.k.direction.localeCompare(b.k.direction));
  return textTable(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'], rows.map((r) => r.row), 5);
}

export interface EndpointFilter extends Omit<ClusterFilter, 'port'> {
  address?: string;
  /** The endpoint's port (istioctl's --port for endpoints). */
  port?: number;
  cluster?: string;
  /** HEALTHY, UNHEALTHY, DRAINING, …: the host's EDS health status. */
  status?: string;
}

interface HostRow {
  address: string;
  port: number;
  cluster: string;
  status: string;
  outlierFailed: boolean;
}

/** A host's EDS health; UNKNOWN (none given: static hosts) counts as HEALTHY, as Envoy's admin reports it. */
function edsStatus(hs: Raw): string {
  const s = str(hs.eds_health_status);
  return !s || s === 'UNKNOWN' ? 'HEALTHY' : s;
}

/** /clusters?format=json's host_statuses, flattened. */
function hostRows(clustersJson: Raw): HostRow[] {
  return list(clustersJson.cluster_statuses).flatMap((c) =>
    list(c.host_statuses).map((h) => {
      const sa = obj(obj(h.address).socket_address);
      const hs = obj(h.health_status);
      return { address: str(sa.address), port: num(sa.port_value) ?? 0, cluster: str(c.name), status: edsStatus(hs), outlierFailed: hs.failed_outlier_check === true };
    }),
  );
}

function hostMatches(h: HostRow, f: EndpointFilter): boolean {
  return (
    (f.address === undefined || h.address === f.address) &&
    (f.port === undefined || h.port === f.port) &&
    (f.cluster === undefined || h.cluster === f.cluster) &&
    (f.status === undefined || h.status.toLowerCase() === f.status.toLowerCase()) &&
    matchesKey(h.cluster, { fqdn: f.fqdn, subset: f.subset, direction: f.direction })
  );
}

/** The /clusters JSON with only the hosts the filter keeps (clusters left empty are dropped). */
export function filterClusterStatuses(clustersJson: Raw, f: EndpointFilter): Raw {
  const statuses = list(clustersJson.cluster_statuses)
    .map((c) => ({
      ...c,
      host_statuses: list(c.host_statuses).filter((h) => {
        const sa = obj(obj(h.address).socket_address);
        const hs = obj(h.health_status);
        return hostMatches({ address: str(sa.address), port: num(sa.port_value) ?? 0, cluster: str(c.name), status: edsStatus(hs), outlierFailed: false }, f);
      }),
    }))
    .filter((c) => c.host_statuses.length > 0);
  return { cluster_statuses: statuses };
}

export function endpointsTable(clustersJson: Raw, f: EndpointFilter = {}): string {
  const rows = hostRows(clustersJson)
    .filter((h) => hostMatches(h, f))
    .sort((a, b) => a.address.localeCompare(b.address) || a.port - b.port || a.cluster.localeCompare(b.cluster));
  return textTable(['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], rows.map((h) => [h.port ? `${h.address}:${h.port}` : h.address, h.status, h.outlierFailed ? 'FAILED' : 'OK', h.cluster]), 5);
}
