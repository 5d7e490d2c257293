// What one Delta client has of one type: resource name → version. Thousands of proxies hold the same
// CDS/EDS sets, so the usual state is "exactly the versions of these encoded parts", shared by every
// stream that has them, plus this stream's own differences (a name it lacks, or holds at another
// version). Per-part version maps and part-to-part diffs are computed once and shared.
import type { ResourceWire } from '../../api/envoy.js';
import { resourceVersion, type EncodedPart } from './cache.js';

const partVersions = new WeakMap<EncodedPart, ReadonlyMap<string, string>>();
function versionsOf(part: EncodedPart): ReadonlyMap<string, string> {
  let m = partVersions.get(part);
  if (!m) {
    const built = new Map<string, string>();
    for (const [name, any] of part.resources) built.set(name, resourceVersion(any));
    partVersions.set(part, built);
    m = built;
  }
  return m;
}

export interface PartDiff {
  /** Added or changed resources of `to` (shared objects: never modified). */
  changed: readonly ResourceWire[];
  /** Names in `from` that `to` lacks. */
  removed: readonly string[];
}

const EMPTY_PART: EncodedPart = { resources: new Map(), digest: '' };
const partDiffs = new WeakMap<EncodedPart, WeakMap<EncodedPart, PartDiff>>();
/** The change from one encoding of a part to the next, or from nothing (`from` undefined): the same
 * for every stream that had `from`. */
export function partDiff(from: EncodedPart | undefined, to: EncodedPart): PartDiff {
  const base = from ?? EMPTY_PART;
  let byTo = partDiffs.get(base);
  if (!byTo) partDiffs.set(base, (byTo = new WeakMap()));
  let d = byTo.get(to);
  if (!d) {
    const before = versionsOf(base);
    const changed: ResourceWire[] = [];
    for (const [name, any] of to.resources) {
      const version = resourceVersion(any);
      if (before.get(name) !== version) changed.push({ name, version, aliases: [], resource: any });
    }
    const removed = [...base.resources.keys()].filter((name) => !to.resources.has(name));
    d = { changed, removed };
    byTo.set(to, d);
  }
  return d;
}

export class KnownVersions {
  private parts: readonly EncodedPart[] = [];
  /** Differences from the parts: a version, or null for a name the client does not have. */
  private readonly own = new Map<string, string | null>();

  get(name: string): string | undefined {
    const o = this.own.get(name);
    if (o !== undefined) return o ?? undefined;
    for (const p of this.parts) {
      const v = versionsOf(p).get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, version: string | undefined): void {
    const inParts = this.parts.some((p) => versionsOf(p).get(name) === version && version !== undefined);
    if (inParts) this.own.delete(name);
    else if (version === undefined && !this.parts.some((p) => p.resources.has(name))) this.own.delete(name);
    else this.own.set(name, version ?? null);
  }

  /** A copy to restore if the client NACKs what was sent after it. */
  snapshot(): { parts: readonly EncodedPart[]; own: Map<string, string | null> } {
    return { parts: this.parts, own: new Map(this.own) };
  }

  restore(s: { parts: readonly EncodedPart[]; own: ReadonlyMap<string, string | null> }): void {
    this.parts = s.parts;
    this.own.clear();
    for (const [k, v] of s.own) this.own.set(k, v);
  }

  /** The client has exactly these parts' resources at their versions. */
  rebase(parts: readonly EncodedPart[]): void {
    this.parts = parts;
    this.own.clear();
  }

  /** The parts the client has exactly, when it has no differences from them ([]: it has nothing). */
  exactly(): readonly EncodedPart[] | undefined {
    return this.own.size === 0 ? this.parts : undefined;
  }

  *names(): IterableIterator<string> {
    for (const p of this.parts) for (const name of p.resources.keys()) if (!this.own.has(name)) yield name;
    for (const [name, v] of this.own) if (v !== null) yield name;
  }

  get size(): number {
    let n = 0;
    for (const p of this.parts) n += p.resources.size;
    for (const [name, v] of this.own) {
      const inParts = this.parts.some((p) => p.resources.has(name));
      if (v === null && inParts) n--;
      else if (v !== null && !inParts) n++;
    }
    return n;
  }
}
