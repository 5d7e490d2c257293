// The proxy's own counters and gauges, kept once as entries (scope, instance, stat) and rendered
// two ways: the admin /stats keys Envoy prints (`cluster.<name>.upstream_rq_total`) and Envoy's
// Prometheus form, with the instance as a tag (`envoy_cluster_upstream_rq_total{cluster_name="…"}`),
// so Istio's and Envoy's dashboards find them under their usual names.
import { escapeLabelValue } from './registry.js';

export type StatScope = 'control_plane' | 'listener_manager' | 'overload' | 'listener' | 'tcp' | 'http' | 'cluster' | 'server' | 'filter' | 'access_logs';

export interface StatEntry {
  scope: StatScope;
  /** The scope's instance in the admin key (cluster name, listener name, stat prefix); absent for global scopes. */
  instance?: string;
  /** Its Prometheus tag value when it differs from the instance (a listener's address). */
  tag?: string;
  stat: string;
  value: number;
}

/** Envoy's tag names (its default tag extraction rules). */
const TAG: Partial<Record<StatScope, string>> = { cluster: 'cluster_name', listener: 'listener_address', http: 'http_conn_manager_prefix', tcp: 'tcp_prefix' };

export function adminKey(e: StatEntry): string {
  // Network filter counters already carry their full Envoy key (`<stat_prefix>rbac.allowed`).
  if (e.scope === 'filter') return e.stat;
  return e.instance === undefined ? `${e.scope}.${e.stat}` : `${e.scope}.${e.instance}.${e.stat}`;
}

/** Gauges among the stats (the rest are counters), by Envoy's own typing. */
function isGauge(e: StatEntry): boolean {
  return /(_active$|^membership_|connected_state$|^circuit_breakers\.|^live$|^uptime$|^memory_|^concurrency$)/.test(e.stat) || e.scope === 'overload';
}

function promName(e: StatEntry): string {
  const s = e.scope === 'filter' ? e.stat : `${e.scope}_${e.stat}`;
  return `envoy_${s.replace(/[^a-zA-Z0-9_]/g, '_')}`;
}

/** OpenMetrics: a counter's samples must end in _total, so Envoy counters named otherwise go out
 * typed `unknown` (what Envoy's own OpenMetrics output cannot express either). */
export function renderEnvoyPrometheus(entries: readonly StatEntry[], out: string[], openMetrics: boolean): void {
  const byName = new Map<string, StatEntry[]>();
  for (const e of entries) {
    const n = promName(e);
    let list = byName.get(n);
    if (!list) byName.set(n, (list = []));
    list.push(e);
  }
  for (const [name, list] of byName) {
    const type = isGauge(list[0]) ? 'gauge' : 'counter';
    if (!openMetrics) out.push(`# TYPE ${name} ${type}\n`);
    else if (type === 'gauge') out.push(`# TYPE ${name} gauge\n`);
    else if (name.endsWith('_total')) out.push(`# TYPE ${name.slice(0, -6)} counter\n`);
    else out.push(`# TYPE ${name} unknown\n`);
    for (const e of list) {
      const tag = TAG[e.scope];
      const v = e.tag ?? e.instance;
      out.push(tag && v !== undefined ? `${name}{${tag}="${escapeLabelValue(v)}"} ${e.value}\n` : `${name} ${e.value}\n`);
    }
  }
}
