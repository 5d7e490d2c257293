// `weft proxy-config SECTION PROXY` (istioctl proxy-config for Weft): read one proxy's admin
// (/config_dump, /clusters, /stats, POST /logging) and print tables, or the raw Envoy config with
// -o json|yaml. Only wiring here; the tables live in ./proxy-config/.
import { stringify as toYaml } from 'yaml';
import { bootstrapOf, clustersOf, listenersOf, routesOf, secretsOf, type ConfigDump, type Raw } from './proxy-config/dump.js';
import { clustersTable, endpointsTable, filterClusters, filterClusterStatuses, type ClusterFilter, type EndpointFilter } from './proxy-config/clusters.js';
import { filterListeners, listenersTable, type ListenerFilter } from './proxy-config/listeners.js';
import { filterRoutes, routesTable, type RouteFilter } from './proxy-config/routes.js';
import { filterSecrets, secretsTable, type SecretFilter } from './proxy-config/secrets.js';
import { CliError, getJson, getText, resolveTarget } from './proxy-config/target.js';
import { LOG_LEVELS } from '../proxy/log.js';

export const CONFIG_SECTIONS = ['listeners', 'routes', 'clusters', 'endpoints', 'secrets', 'bootstrap', 'all'] as const;
export type ConfigSection = (typeof CONFIG_SECTIONS)[number];

export interface ProxyConfigFlags {
  adminAddress?: string;
  monitorAddress: string;
  output: 'short' | 'json' | 'yaml';
  address?: string;
  port?: string;
  type?: string;
  fqdn?: string;
  subset?: string;
  direction?: string;
  name?: string;
  status?: string;
  cluster?: string;
}

export interface ConfigView {
  dump: ConfigDump;
  /** The admin's /clusters?format=json (host health and outlier state, for endpoints). */
  clusters: Raw;
}

function port(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new CliError(`--port: expected a port number, got ${JSON.stringify(v)}`);
  return Number(v);
}

function direction(v: string | undefined): string | undefined {
  if (v !== undefined && !['inbound', 'outbound'].includes(v.toLowerCase())) throw new CliError(`--direction: inbound or outbound, got ${JSON.stringify(v)}`);
  return v;
}

const listenerFilter = (f: ProxyConfigFlags): ListenerFilter => ({ address: f.address, port: port(f.port), type: f.type });
const clusterFilter = (f: ProxyConfigFlags): ClusterFilter => ({ fqdn: f.fqdn, port: port(f.port), subset: f.subset, direction: direction(f.direction) });
const routeFilter = (f: ProxyConfigFlags): RouteFilter => ({ name: f.name });
const secretFilter = (f: ProxyConfigFlags): SecretFilter => ({ name: f.name });
const endpointFilter = (f: ProxyConfigFlags): EndpointFilter => ({ address: f.address, port: port(f.port), cluster: f.cluster, status: f.status, fqdn: f.fqdn, subset: f.subset, direction: direction(f.direction) });

/** The text one section prints (pure: the golden tests call this with a real proxy's dump). */
export function renderSection(section: ConfigSection, view: ConfigView, f: ProxyConfigFlags, now = new Date()): string {
  const raw = (v: unknown) => (f.output === 'yaml' ? toYaml(v) : JSON.stringify(v, null, 2) + '\n');
  switch (section) {
    case 'listeners': {
      const l = filterListeners(listenersOf(view.dump), listenerFilter(f));
      return f.output === 'short' ? listenersTable(l) : raw(l);
    }
    case 'routes': {
      const r = filterRoutes(routesOf(view.dump), routeFilter(f));
      return f.output === 'short' ? routesTable(r) : raw(r);
    }
    case 'clusters': {
      const c = filterClusters(clustersOf(view.dump), clusterFilter(f));
      return f.output === 'short' ? clustersTable(c) : raw(c);
    }
    case 'endpoints':
      return f.output === 'short' ? endpointsTable(view.clusters, endpointFilter(f)) : raw(filterClusterStatuses(view.clusters, endpointFilter(f)));
    case 'secrets': {
      const s = filterSecrets(secretsOf(view.dump), secretFilter(f));
      return f.output === 'short' ? secretsTable(s, now) : raw(s);
    }
    case 'bootstrap':
      // No table, as istioctl: the bootstrap is read as config.
      return f.output === 'yaml' ? toYaml(bootstrapOf(view.dump)) : JSON.stringify(bootstrapOf(view.dump), null, 2) + '\n';
    case 'all':
      if (f.output !== 'short') return raw(view.dump);
      return (['clusters', 'listeners', 'routes', 'endpoints', 'secrets'] as const).map((s) => renderSection(s, view, { ...f, port: undefined }, now)).join('\n');
  }
}

export async function readView(admin: string): Promise<ConfigView> {
  const [dump, clusters] = await Promise.all([
    getJson<ConfigDump>(`http://${admin}/config_dump`, "the proxy's admin"),
    getJson<Raw>(`http://${admin}/clusters?format=json`, "the proxy's admin"),
  ]);
  return { dump, clusters };
}

async function run(body: () => Promise<string>): Promise<number> {
  try {
    process.stdout.write(await body());
    return 0;
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    process.stderr.write(`weft proxy-config: ${err.message}\n`);
    return 2;
  }
}

export function runProxyConfig(section: ConfigSection, proxy: string | undefined, f: ProxyConfigFlags): Promise<number> {
  return run(async () => {
    const t = await resolveTarget(proxy, f);
    return renderSection(section, await readView(t.admin), f);
  });
}

/** `weft proxy-config log PROXY [--level L | --level name:L,…] [--reset]`: Envoy's POST /logging. */
export function runProxyLog(proxy: string | undefined, f: { adminAddress?: string; monitorAddress: string; level?: string; reset?: boolean }): Promise<number> {
  return run(async () => {
    const t = await resolveTarget(proxy, f);
    const query = new URLSearchParams();
    const level = f.reset ? 'info' : f.level;
    if (level !== undefined) {
      for (const part of level.split(',')) {
        const [name, value] = part.includes(':') ? part.split(':', 2) : ['level', part];
        if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new CliError(`--level: ${JSON.stringify(value)} is not one of ${LOG_LEVELS.join(', ')}`);
        query.append(name, value);
      }
    }
    const q = query.size ? `?${query}` : '';
    return getText(`http://${t.admin}/logging${q}`, "the proxy's admin", { method: 'POST' });
  });
}

/** `weft proxy-config stats PROXY [--prometheus] [--filter REGEX]`: the admin's /stats. */
export function runProxyStats(proxy: string | undefined, f: { adminAddress?: string; monitorAddress: string; prometheus?: boolean; filter?: string }): Promise<number> {
  return run(async () => {
    let re: RegExp | undefined;
    try {
      re = f.filter === undefined ? undefined : new RegExp(f.filter);
    } catch (err) {
      throw new CliError(`--filter: ${(err as Error).message}`);
    }
    const t = await resolveTarget(proxy, f);
    if (!f.prometheus) return getText(`http://${t.admin}/stats${f.filter === undefined ? '' : `?filter=${encodeURIComponent(f.filter)}`}`, "the proxy's admin");
    const text = await getText(`http://${t.admin}/stats/prometheus`, "the proxy's admin");
    if (!re) return text;
    // Prometheus text: keep the samples whose metric name matches, and their HELP/TYPE lines.
    return text
      .split('\n')
      .filter((line) => {
        const name = line.startsWith('# ') ? line.split(' ')[2] : line.split(/[{ ]/)[0];
        return name !== undefined && name !== '' && re!.test(name);
      })
      .map((l) => `${l}\n`)
      .join('');
  });
}
