// What a translator part may read, and the memo key that follows from it. The part's declaration
// (TranslatorPart.snapshot / .proxy) is the single source of both: `partKey` is built from it, and
// `runPart` hands the part views of the snapshot and proxy on which every undeclared field throws —
// so a key cannot forget an input (Istio's recurring stale-cache bug) without the part failing.
import { CONFIG_LISTS } from '../../config/kinds.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import { failoverLabelKeys } from '../translate/locality.js';
import type { ProxyInput, SnapshotInput, TranslatorPart, XdsResource } from '../translate/types.js';

/** Which inputs cover each snapshot field (any one of them suffices); `static`: fixed for the process. */
const SNAPSHOT_FIELDS: { readonly [F in keyof MeshSnapshot]-?: readonly SnapshotInput[] | 'static' } = {
  domain: 'static',
  mesh: ['mesh'],
  config: [], // per list, below
  services: ['services'],
  serviceByHost: ['services'],
  endpoints: ['endpoints', 'dnsEndpoints'],
  destinationRules: ['destinationRules'],
  virtualServices: ['virtualServices'],
  sourceLabelKeys: ['virtualServices'],
  jwks: ['jwks'],
  versions: [], // never: a part reads content, not versions
  frontEnds: [], // never: lowering's report, for analyze and /debug/configz
};

const PROXY_FIELDS: { readonly [F in keyof ProxyNode]-?: readonly ProxyInput[] } = {
  id: [], // never: config depends on what a node is, not on what it is called
  client: [], // never read by a part: it picks the composition (compositions.ts)
  namespace: ['namespace'],
  labels: ['labels', 'sourceLabels', 'failoverLabels'], // filtered to the declared keys, below
  service: ['identity'],
  serviceAccount: ['identity'],
  workloadName: ['identity'],
  address: ['workload'],
  ports: ['workload'],
  outboundPort: ['workload'],
  inboundPort: ['workload'],
  interceptionMode: ['workload'],
  locality: ['locality'],
  version: [], // never: metrics only, config must not depend on the proxy's build
  adminAddress: [], // never: shown to the CLI, config must not depend on it
  telemetryPort: [], // never: the dashboard's scrape target, not config
};

const SNAPSHOT_FIELD_NAMES = Object.keys(SNAPSHOT_FIELDS) as (keyof MeshSnapshot)[];
const PROXY_FIELD_NAMES = Object.keys(PROXY_FIELDS) as (keyof ProxyNode)[];

export class UndeclaredInputError extends Error {
  constructor(part: string, field: string, inputs: readonly string[]) {
    super(`translator part "${part}" read ${field} without declaring it (declare ${inputs.length ? inputs.join(' or ') : 'nothing: it may not be read'})`);
    this.name = 'UndeclaredInputError';
  }
}

/** A view of `source` with a getter per field of `fields` (the tables above name every field, present
 * or not, so an optional field cannot slip past); each checks `allowed` first. */
function guarded<T extends object>(
  part: string,
  prefix: string,
  source: T,
  fields: readonly (keyof T & string)[],
  allowed: (field: keyof T & string) => true | readonly string[],
  value: (field: keyof T) => unknown = (f) => source[f],
): T {
  const view = {} as T;
  for (const field of fields) {
    Object.defineProperty(view, field, {
      enumerable: true,
      get: () => {
        const ok = allowed(field);
        if (ok !== true) throw new UndeclaredInputError(part, `${prefix}.${field}`, ok);
        return value(field);
      },
    });
  }
  return view;
}

const views = new WeakMap<MeshSnapshot, WeakMap<TranslatorPart, MeshSnapshot>>();

/** The snapshot as `part` may see it; one view per (snapshot, part), so per-snapshot memos (WeakMaps
 * keyed by the snapshot) keep working inside translators. */
export function snapshotView(snap: MeshSnapshot, part: TranslatorPart): MeshSnapshot {
  let byPart = views.get(snap);
  if (!byPart) views.set(snap, (byPart = new WeakMap()));
  let view = byPart.get(part);
  if (!view) {
    const declared = new Set<string>(part.snapshot);
    const config = guarded(part.name, 'snapshot.config', snap.config, CONFIG_LISTS, (l) => (declared.has(l) ? true : [l]));
    view = guarded(part.name, 'snapshot', snap, SNAPSHOT_FIELD_NAMES, (f) => {
      const need = SNAPSHOT_FIELDS[f];
      return need === 'static' || f === 'config' || need.some((i) => declared.has(i)) ? true : need;
    }, (f) => (f === 'config' ? config : snap[f]));
    byPart.set(part, view);
  }
  return view;
}

/** The label keys `part` may read, or undefined for all of them. */
function labelKeys(part: TranslatorPart, snap: MeshSnapshot): readonly string[] | undefined {
  if (part.proxy.includes('labels')) return undefined;
  const keys = new Set<string>();
  if (part.proxy.includes('sourceLabels')) for (const k of snap.sourceLabelKeys) keys.add(k);
  if (part.proxy.includes('failoverLabels')) for (const k of failoverLabelKeys(snap)) keys.add(k);
  return [...keys].sort();
}

/** The proxy as `part` may see it: undeclared fields throw; labels hold only the declared keys. */
export function proxyView(proxy: ProxyNode, part: TranslatorPart, snap: MeshSnapshot): ProxyNode {
  const declared = new Set<string>(part.proxy);
  const keys = labelKeys(part, snap);
  const labels = keys ? Object.fromEntries(keys.filter((k) => Object.hasOwn(proxy.labels, k)).map((k) => [k, proxy.labels[k]])) : proxy.labels;
  return guarded(part.name, 'proxy', proxy, PROXY_FIELD_NAMES, (f) => {
    const need = PROXY_FIELDS[f];
    return need.some((i) => declared.has(i)) ? true : need;
  }, (f) => (f === 'labels' ? labels : proxy[f]));
}

export function runPart(part: TranslatorPart, snap: MeshSnapshot, proxy: ProxyNode): XdsResource[] {
  return part.build(snapshotView(snap, part), proxyView(proxy, part, snap));
}

const PROXY_KEYS: { readonly [I in ProxyInput]: (p: ProxyNode, snap: MeshSnapshot, part: TranslatorPart) => string } = {
  namespace: (p) => p.namespace,
  labels: (p) => JSON.stringify(Object.entries(p.labels).sort(([a], [b]) => (a < b ? -1 : 1))),
  sourceLabels: (p, snap) => snap.sourceLabelKeys.map((k) => `${k}=${p.labels[k] ?? ''}`).join(','),
  failoverLabels: (p, snap) => failoverLabelKeys(snap).map((k) => `${k}=${p.labels[k] ?? ''}`).join(','),
  locality: (p) => p.locality ?? '',
  workload: (p) => JSON.stringify([p.address, p.ports, p.outboundPort, p.inboundPort, p.interceptionMode]),
  identity: (p) => JSON.stringify([p.service, p.serviceAccount, p.workloadName]),
};

/** The memo key of `part` for this proxy: its name, the versions of its snapshot inputs, its proxy inputs. */
export function partKey(part: TranslatorPart, snap: MeshSnapshot, proxy: ProxyNode): string {
  const v = snap.versions;
  return `${part.name}|${part.snapshot.map((i) => v[i]).join(':')}|${part.proxy.map((i) => PROXY_KEYS[i](proxy, snap, part)).join('|')}`;
}

