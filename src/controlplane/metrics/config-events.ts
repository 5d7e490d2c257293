// Config and registry changes as Istio's event counters see them (pilot_k8s_cfg_events,
// pilot_k8s_reg_events, galley_validation_*): each store or registry change is compared with the
// last one, resource by resource, so a file rewrite that changes one VirtualService counts one update.
import { configResources, kindEntry } from '../../config/kinds.js';
import type { ConfigError, ConfigSet } from '../../config/types.js';
import { resourceIdentity } from '../../config/validate/resource.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { PilotMetrics } from './pilot-metrics.js';

type Event = 'add' | 'update' | 'delete';

/** Keys → content fingerprints; `diff` reports each key added, changed or gone since the last call. */
class ChangeTracker {
  private last = new Map<string, string>();

  diff(next: Map<string, string>, report: (key: string, event: Event) => void): void {
    for (const [key, print] of next) {
      const before = this.last.get(key);
      if (before === undefined) report(key, 'add');
      else if (before !== print) report(key, 'update');
    }
    for (const key of this.last.keys()) if (!next.has(key)) report(key, 'delete');
    this.last = next;
  }
}

export class ConfigEventCounter {
  private readonly resources = new ChangeTracker();
  private readonly failures = new ChangeTracker();
  private readonly workloads = new ChangeTracker();

  constructor(private readonly metrics: PilotMetrics) {}

  /** A new store state: config events per resource, and a validation result per new or changed one. */
  config(config: ConfigSet, errors: readonly ConfigError[]): void {
    const kinds = new Map<string, { kind: string; apiVersion: string }>();
    const next = new Map<string, string>();
    for (const r of configResources(config)) {
      const id = resourceIdentity(r.kind, r.metadata.namespace, r.metadata.name);
      kinds.set(id, { kind: r.kind, apiVersion: r.apiVersion });
      next.set(id, JSON.stringify(r.spec));
    }
    this.resources.diff(next, (id, event) => {
      const k = kinds.get(id) ?? { kind: id.split(' ')[0]!, apiVersion: '' };
      this.metrics.configEvent(k.kind, event);
      if (event !== 'delete') this.metrics.validated(groupOf(k.apiVersion), versionOf(k.apiVersion), k.kind);
    });
    const byKey = new Map(errors.map((e) => [`${e.file}#${e.document} ${e.resource ?? ''} ${e.path} ${e.code}`, e]));
    this.failures.diff(new Map([...byKey].map(([key, e]) => [key, e.code])), (key, event) => {
      if (event !== 'add') return;
      const e = byKey.get(key)!;
      const kind = e.resource?.split(' ')[0] ?? 'unknown';
      const entry = kindEntry(kind);
      this.metrics.validated(entry?.group ?? 'unknown', entry?.versions[0] ?? 'unknown', kind, e.code);
    });
  }

  /** A new registry view: one event per workload registration added, changed or gone. */
  registry(proxies: readonly ProxyNode[]): void {
    this.workloads.diff(new Map(proxies.map((p) => [p.id, JSON.stringify({ ...p, id: undefined })])), (_id, event) => this.metrics.registryEvent(event));
  }
}

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : 'core');
const versionOf = (apiVersion: string) => apiVersion.split('/').pop() || 'unknown';
