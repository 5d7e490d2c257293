// The cache decides WHAT each proxy should have: encoded resources and a version per type. It runs
// the client kind's composition (compositions.ts); each part is memoised under the key its declared
// inputs give (part-inputs.ts), so an endpoint change re-encodes only EDS. Before a set is handed
// out it is checked for consistency; a set that fails is not published, the proxy keeps its last good one.
import { createHash } from 'node:crypto';
import { packAny, PUSH_ORDER, TypeUrl, type AnyWire, type XdsProtocol, type XdsType } from '../../api/envoy.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import { destinationRuleFor } from '../translate/destination-rules.js';
import { OUTBOUND_ROUTE } from '../translate/names.js';
import type { TranslatorPart, XdsResource } from '../translate/types.js';
import { clientKind, COMPOSITIONS, type ClientKind, type Composition } from './compositions.js';
import { checkConsistency, referencesOf, TARGET, type ConsistencyProblem, type ConsistencyResult, type Reference } from './consistency.js';
import { partKey, runPart } from './part-inputs.js';
import { VirtualHostIndex } from './vhds-index.js';

export interface EncodedPart {
  resources: ReadonlyMap<string, AnyWire>;
  digest: string;
  /** Names these resources depend on (consistency check), found when the part was built. */
  refs?: readonly Reference[];
  /** VHDS parts: resolves the names proxies ask for to these resources. */
  hosts?: VirtualHostIndex;
}

export interface EncodedType {
  version: string;
  /** name → encoded resource; a type can be assembled from several parts. */
  parts: readonly EncodedPart[];
}

export type EncodedSet = Record<XdsType, EncodedType>;

export function encodePart(type: XdsType, resources: XdsResource[]): EncodedPart {
  const h = createHash('sha256');
  const map = new Map<string, AnyWire>();
  for (const r of resources) {
    const any = packAny(TypeUrl[type], r.body);
    map.set(r.name, any);
    h.update(r.name).update('\0').update(any.value).update('\0');
  }
  return { resources: map, digest: h.digest('hex').slice(0, 16) };
}

function combine(parts: EncodedPart[]): EncodedType {
  const version = parts.length === 1 ? parts[0].digest : createHash('sha256').update(parts.map((p) => p.digest).join(',')).digest('hex').slice(0, 16);
  return { version, parts };
}

const versions = new WeakMap<AnyWire, string>();
/** Delta xDS per-resource version: a digest of the encoded bytes, computed once per encoding. */
export function resourceVersion(any: AnyWire): string {
  let v = versions.get(any);
  if (v === undefined) {
    v = createHash('sha256').update(any.value).digest('hex').slice(0, 16);
    versions.set(any, v);
  }
  return v;
}

export function lookup(t: EncodedType, name: string): AnyWire | undefined {
  for (const p of t.parts) {
    const r = p.resources.get(name);
    if (r) return r;
  }
  return undefined;
}

export function allResources(t: EncodedType): AnyWire[] {
  return t.parts.flatMap((p) => [...p.resources.values()]);
}

function encodeVirtualHosts(vhosts: XdsResource[]): EncodedPart {
  const hosts = new VirtualHostIndex(OUTBOUND_ROUTE, vhosts.map((vh) => ({ name: vh.name, domains: vh.body.domains as string[] })));
  return { ...encodePart('virtualHost', vhosts), hosts };
}

function encodeResources(type: XdsType, resources: XdsResource[]): EncodedPart {
  const part = type === 'virtualHost' ? encodeVirtualHosts(resources) : encodePart(type, resources);
  return { ...part, refs: referencesOf(type, resources) };
}
/** A type no part of the composition fills (VHDS for SotW) is served empty. */
const EMPTY: { readonly [T in XdsType]: EncodedPart } = Object.fromEntries(PUSH_ORDER.map((t) => [t, encodeResources(t, [])])) as Record<XdsType, EncodedPart>;

const NOTHING_WRONG: ConsistencyResult = { problems: [], dangling: [] };
/** What a proxy without a good set is served while its set is inconsistent: no resources at all. */
const NOTHING_PUBLISHED: EncodedSet = Object.fromEntries(PUSH_ORDER.map((t) => [t, combine([EMPTY[t]])])) as EncodedSet;

/** Why a proxy is being served an older set than the current snapshot would give it. */
export interface InconsistentSet {
  code: 'WEFT_E_XDS_INCONSISTENT';
  proxy: string;
  clientKind: ClientKind;
  /** The snapshot generation whose set was refused. */
  generation: number;
  problems: ConsistencyProblem[];
  /** The version per type the proxy keeps being served; undefined when it had no good set (it is sent none). */
  serving?: Record<XdsType, string>;
}

export interface XdsCacheOptions {
  log?: (msg: string) => void;
  /** The parts per client kind; production's by default (tests pass broken ones to see the check act). */
  compositions?: { readonly [K in ClientKind]: Composition };
}

export class XdsCache {
  private snap: MeshSnapshot | undefined;
  /** Memoised parts and the snapshot generation that last used each. */
  private readonly memo = new Map<string, { part: EncodedPart; usedIn: number }>();
  private generation = 0;
  /** Per proxy and client kind: the last set that passed the consistency check. */
  private readonly lastGood = new Map<string, { set: EncodedSet; usedIn: number }>();
  private readonly inconsistent = new Map<string, InconsistentSet>();
  /** Route clusters config names that the mesh lacks, per proxy (served, as Istio does). */
  private readonly dangling = new Map<string, Reference[]>();
  /** Consistency results per part (see checkPart). */
  private readonly checked = new WeakMap<EncodedPart, { generation: number; results: Map<string, ConsistencyResult> }>();
  /** Encodings done, for tests and the monitor: memo hits do not count. */
  encodeCount = 0;

  constructor(private readonly opts: XdsCacheOptions = {}) {}

  setSnapshot(snap: MeshSnapshot): void {
    this.snap = snap;
    // Keys hold every input, so an entry stays valid as long as its inputs do; entries no proxy asked
    // for during the previous snapshot (changed inputs, departed proxies) are dropped.
    for (const [key, e] of this.memo) if (e.usedIn < this.generation) this.memo.delete(key);
    for (const [key, e] of this.lastGood) {
      if (e.usedIn < this.generation) {
        this.lastGood.delete(key);
        this.inconsistent.delete(key);
        this.dangling.delete(key);
      }
    }
    this.generation++;
  }

  snapshot(): MeshSnapshot | undefined {
    return this.snap;
  }

  /** What `proxy` should run: its client kind's composition, memoised per part. Delta streams get
   * their outbound virtual hosts over VHDS (the route configuration names `vhds` instead of listing
   * them) and the on-demand filter in the listener. */
  resourcesFor(proxy: ProxyNode, protocol: XdsProtocol): EncodedSet {
    const snap = this.snap;
    if (!snap) throw new Error('no snapshot yet');
    const kind = clientKind(protocol, proxy);
    const composition = (this.opts.compositions ?? COMPOSITIONS)[kind];
    const set = {} as EncodedSet;
    for (const type of PUSH_ORDER) {
      const parts = composition[type].map((part) => this.part(part, snap, proxy));
      set[type] = combine(parts.length ? parts : [EMPTY[type]]);
    }
    return this.publishable(`${proxy.id}|${kind}`, kind, set, snap, proxy.namespace);
  }

  /** Problems that held back a proxy's set, and config-named clusters the mesh lacks (monitor view). */
  consistencyReport(): { inconsistent: InconsistentSet[]; dangling: Array<{ proxy: string; references: Reference[] }> } {
    return {
      inconsistent: [...this.inconsistent.values()],
      dangling: [...this.dangling].map(([proxy, references]) => ({ proxy, references })),
    };
  }

  /** `set` if it is consistent; otherwise the proxy's last good set (or, having none, empty resources:
   * nothing is published), with the problem logged and kept for /debug/consistencyz. */
  private publishable(key: string, clientKind: ClientKind, set: EncodedSet, snap: MeshSnapshot, clientNamespace: string): EncodedSet {
    const problems: ConsistencyProblem[] = [];
    const dangling: Reference[] = [];
    for (const type of PUSH_ORDER) {
      for (const part of set[type].parts) {
        const r = this.checkPart(part, set, snap, clientNamespace);
        problems.push(...r.problems);
        dangling.push(...r.dangling);
      }
    }
    if (dangling.length) this.dangling.set(key, dangling);
    else this.dangling.delete(key);
    const previous = this.lastGood.get(key);
    if (problems.length === 0) {
      this.inconsistent.delete(key);
      this.lastGood.set(key, { set, usedIn: this.generation });
      return set;
    }
    const proxy = key.slice(0, key.lastIndexOf('|'));
    const serving = previous && (Object.fromEntries(PUSH_ORDER.map((t) => [t, previous.set[t].version])) as Record<XdsType, string>);
    const report: InconsistentSet = { code: 'WEFT_E_XDS_INCONSISTENT', proxy, clientKind, generation: this.generation, problems, ...(serving ? { serving } : {}) };
    if (this.inconsistent.get(key)?.generation !== this.generation) {
      const held = serving ? 'keeping its last good set' : 'publishing nothing (it has no earlier good set)';
      this.opts.log?.(`inconsistent xDS set for ${proxy} (${clientKind}), ${held}: ${problems.map((p) => p.message).join('; ')} [WEFT_E_XDS_INCONSISTENT]`);
    }
    this.inconsistent.set(key, report);
    if (!previous) return NOTHING_PUBLISHED;
    previous.usedIn = this.generation;
    return previous.set;
  }

  /** One part's references against the parts they point into. Parts are shared between proxies, so
   * the result is memoised on the part and the content (digests) of its targets, per snapshot and
   * client namespace (a dangling route cluster depends on both): a push checks each shared part once. */
  private checkPart(part: EncodedPart, set: EncodedSet, snap: MeshSnapshot, clientNamespace: string): ConsistencyResult {
    const refs = part.refs ?? [];
    if (refs.length === 0) return NOTHING_WRONG;
    const targets = [...new Set(refs.map((r) => TARGET[r.kind]))];
    const key = `${this.generation}|${clientNamespace}|${targets.map((t) => `${t}:${set[t].parts.map((p) => p.digest).join(',')}`).join(';')}`;
    let byTargets = this.checked.get(part);
    if (!byTargets || byTargets.generation !== this.generation) this.checked.set(part, (byTargets = { generation: this.generation, results: new Map() }));
    let result = byTargets.results.get(key);
    if (!result) {
      result = checkConsistency((type, name) => lookup(set[type], name) !== undefined, refs, (cluster) => isDanglingConfigCluster(snap, clientNamespace, cluster));
      byTargets.results.set(key, result);
    }
    return result;
  }

  private part(part: TranslatorPart, snap: MeshSnapshot, proxy: ProxyNode): EncodedPart {
    const key = partKey(part, snap, proxy);
    let e = this.memo.get(key);
    if (!e) {
      e = { part: encodeResources(part.type, runPart(part, snap, proxy)), usedIn: this.generation };
      this.encodeCount++;
      this.memo.set(key, e);
    }
    e.usedIn = this.generation;
    return e.part;
  }
}

/**
 * A route cluster that config names but the mesh does not have: a VirtualService destination whose
 * host, port or subset does not exist. Istio sends such routes (Envoy answers 503 with flag NC);
 * any other missing cluster is a translator's mistake.
 */
function isDanglingConfigCluster(snap: MeshSnapshot, clientNamespace: string, cluster: string): boolean {
  const [direction, port, subset, host] = cluster.split('|');
  if (direction !== 'outbound' || host === undefined) return false;
  const svc = snap.serviceByHost.get(host);
  if (!svc || !svc.ports.some((p) => String(p.port) === port)) return true;
  if (subset === '') return false;
  return !destinationRuleFor(snap, host, clientNamespace, svc.namespace)?.spec.subsets.some((s) => s.name === subset);
}
