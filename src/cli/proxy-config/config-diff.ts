// What `weft proxy-status PROXY` compares: per xDS type, each resource the control plane would send
// now (its /debug/config_dump?proxyID=) against the one the proxy runs (its /config_dump), as
// normalized JSON (keys sorted, two-space indent), diffed line by line. Both dumps decode the same
// protos with the same options, so equal resources print equal.
import { clustersOf, endpointsOf, listenersOf, routesOf, str, virtualHostsOf, type ConfigDump, type Raw } from './dump.js';
import { unifiedDiff } from './line-diff.js';

export interface TypeComparison {
  /** istioctl's words: Clusters, Listeners, Routes, plus Endpoints and Virtual Hosts. */
  title: string;
  match: boolean;
  /** Unified diff lines (`--- control plane …`, `+++ proxy …`, hunks), one block per differing resource. */
  lines: string[];
}

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, normalize((v as Raw)[k])]));
  return v;
}
const pretty = (r: Raw) => JSON.stringify(normalize(r), null, 2);

function byName(resources: Raw[], nameField = 'name'): Map<string, Raw> {
  return new Map(resources.map((r) => [str(r[nameField]), r]));
}

function compare(title: string, kind: string, cp: Map<string, Raw>, proxy: Map<string, Raw>): TypeComparison {
  const lines: string[] = [];
  for (const name of [...new Set([...cp.keys(), ...proxy.keys()])].sort()) {
    const want = cp.get(name);
    const got = proxy.get(name);
    const head = [`--- control plane ${kind} ${name}${want ? '' : ' (absent)'}`, `+++ proxy ${kind} ${name}${got ? '' : ' (absent)'}`];
    if (!want || !got) {
      const text = pretty((want ?? got)!).split('\n');
      lines.push(...head, want ? `@@ -1,${text.length} +0,0 @@` : `@@ -0,0 +1,${text.length} @@`, ...text.map((l) => `${want ? '-' : '+'}${l}`));
      continue;
    }
    const hunks = unifiedDiff(pretty(want), pretty(got));
    if (hunks.length) lines.push(...head, ...hunks);
  }
  return { title, match: lines.length === 0, lines };
}

/** A Delta proxy's route configurations list the virtual hosts it got over VHDS merged in (as Envoy
 * shows them); those are compared as virtual hosts, so the route configuration is compared without them. */
function withoutVhdsHosts(routes: Raw[], vhdsNames: Set<string>): Raw[] {
  if (vhdsNames.size === 0) return routes;
  return routes.map((rc) => {
    if (!rc.vhds || !Array.isArray(rc.virtual_hosts)) return rc;
    const inline = (rc.virtual_hosts as Raw[]).filter((vh) => !vhdsNames.has(str(vh.name)));
    const { virtual_hosts: _dropped, ...rest } = rc;
    return inline.length ? { ...rest, virtual_hosts: inline } : rest;
  });
}

export function compareDumps(controlPlane: ConfigDump, proxy: ConfigDump): TypeComparison[] {
  const proxyVhosts = virtualHostsOf(proxy);
  const vhdsNames = new Set((proxyVhosts ?? []).map((v) => str(v.name)));
  const out = [
    compare('Clusters', 'cluster', byName(clustersOf(controlPlane)), byName(clustersOf(proxy))),
    compare('Listeners', 'listener', byName(listenersOf(controlPlane)), byName(listenersOf(proxy))),
    compare('Endpoints', 'endpoint', byName(endpointsOf(controlPlane), 'cluster_name'), byName(endpointsOf(proxy), 'cluster_name')),
    compare('Routes', 'route', byName(routesOf(controlPlane)), byName(withoutVhdsHosts(routesOf(proxy), vhdsNames))),
  ];
  const cpVhosts = virtualHostsOf(controlPlane);
  if (cpVhosts && proxyVhosts) {
    // On demand: the proxy holds only the hosts its app called; the others are not missing.
    const wanted = new Map([...byName(cpVhosts)].filter(([n]) => vhdsNames.has(n)));
    out.push(compare('Virtual Hosts', 'virtual host', wanted, byName(proxyVhosts)));
  }
  return out;
}

export function renderComparison(results: TypeComparison[]): string {
  return results.flatMap((r) => [`${r.title} ${r.match ? 'Match' : "Don't Match"}`, ...r.lines]).join('\n') + '\n';
}
