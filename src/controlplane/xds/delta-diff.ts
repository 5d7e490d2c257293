// What one Delta stream must send for one type: the resources it should have whose version differs
// from what the client has, and the names it has that are gone. It updates the subscription's
// bookkeeping (what the client now has) and says how to undo that if the client NACKs.
// When the client has exactly an earlier encoding of the type's parts (the usual case for CDS/EDS),
// the diff is the part-to-part change, computed once for every stream that had those parts.
import type { AnyWire, ResourceWire } from '../../api/envoy.js';
import { lookup, resourceVersion, type EncodedType } from './cache.js';
import { partDiff, type KnownVersions } from './known-versions.js';

export interface DeltaSubscription {
  /** Wildcard: every resource of the type (CDS, LDS when the first request names nothing or "*"). */
  wildcard: boolean;
  /** Explicitly subscribed names (VHDS: host aliases, resource names, or the route configuration). */
  names: Set<string>;
  /** What the client has (initial_resource_versions, then what was sent). */
  known: KnownVersions;
  /** Subscribed names answered as not existing; VHDS: also each host alias → the resource that
   * answered it. */
  answered: Map<string, string | null>;
}

export interface DeltaDiff {
  resources: ResourceWire[];
  removed: string[];
  /** Put the bookkeeping back as it was (the client NACKed and kept what it had). */
  undo: () => void;
}

export function emptyDiff(d: DeltaDiff): boolean {
  return d.resources.length === 0 && d.removed.length === 0;
}

/** `subscriptionChanged`: names were (un)subscribed since the last diff, so the shared path is off
 * unless the client has nothing yet. */
export function deltaDiff(sub: DeltaSubscription, encoded: EncodedType, vhds: boolean, subscriptionChanged: boolean): DeltaDiff {
  const shareable = !vhds && (!subscriptionChanged || sub.known.exactly()?.length === 0);
  return (shareable && sharedDiff(sub, encoded)) || fullDiff(sub, encoded, vhds);
}

function sharedDiff(sub: DeltaSubscription, encoded: EncodedType): DeltaDiff | undefined {
  const had = sub.known.exactly();
  // The client has exactly the type's earlier parts, or (its first response) nothing at all.
  if (!had || (had.length !== encoded.parts.length && had.length !== 0)) return undefined;
  const first = had.length === 0;
  if (first && !sub.wildcard && !coversParts(sub.names, encoded)) return undefined;
  const resources: ResourceWire[] = [];
  const removed: string[] = [];
  for (let i = 0; i < encoded.parts.length; i++) {
    const d = partDiff(had[i], encoded.parts[i]);
    // A name the client never asked for (a new EDS cluster before its CDS) needs the full diff.
    if (!first && !sub.wildcard && d.changed.some((r) => !sub.names.has(r.name))) return undefined;
    resources.push(...d.changed);
    removed.push(...d.removed);
  }
  const undo = undoer(sub, sub.known.snapshot(), new Map());
  sub.known.rebase(encoded.parts);
  return { resources, removed, undo };
}

function fullDiff(sub: DeltaSubscription, encoded: EncodedType, vhds: boolean): DeltaDiff {
  const answeredBefore = new Map<string, string | null | undefined>();
  const diff: DeltaDiff = { resources: [], removed: [], undo: undoer(sub, sub.known.snapshot(), answeredBefore) };
  const setAnswered = (name: string, to: string | null) => {
    if (!answeredBefore.has(name)) answeredBefore.set(name, sub.answered.get(name));
    sub.answered.set(name, to);
  };
  const send = (name: string, any: AnyWire, aliases: string[]) => {
    const version = resourceVersion(any);
    if (sub.known.get(name) === version) {
      // The client has it (e.g. it reconnected with initial_resource_versions): a proxy asks for a
      // host only when its table misses it, so these aliases need no answer.
      for (const a of aliases) setAnswered(a, name);
      return;
    }
    diff.resources.push({ name, version, aliases, resource: any });
    sub.known.set(name, version);
    for (const a of aliases) setAnswered(a, name);
  };

  // What the client should have: every resource (wildcard), the subscribed ones, and for VHDS the
  // virtual hosts the subscribed host aliases resolve to.
  let wantedCount = 0;
  const wantedAliases = new Map<string, string[]>();
  const isWanted = (name: string) => (sub.wildcard || sub.names.has(name) || wantedAliases.has(name)) && lookup(encoded, name) !== undefined;
  const missing: string[] = [];
  if (sub.wildcard) {
    for (const p of encoded.parts) for (const [name, any] of p.resources) send(name, any, []);
  }
  const hosts = encoded.parts.find((p) => p.hosts)?.hosts;
  for (const requested of sub.names) {
    let name: string | undefined = requested;
    if (vhds) {
      const r = hosts?.resolve(requested) ?? { kind: 'missing' as const };
      if (r.kind === 'namespace') continue; // the base set of a route configuration is empty
      name = r.kind === 'resource' ? r.name : undefined;
    }
    const any = name === undefined ? undefined : lookup(encoded, name);
    if (!any || name === undefined) missing.push(requested);
    else if (name !== requested) wantedAliases.set(name, [...(wantedAliases.get(name) ?? []), requested]);
    else if (!sub.wildcard) {
      wantedCount++;
      send(name, any, []);
    }
  }
  for (const [name, aliases] of wantedAliases) send(name, lookup(encoded, name)!, aliases.filter((a) => sub.answered.get(a) !== name));

  for (const requested of missing) {
    if (sub.answered.get(requested) === null && !sub.known.has(requested)) continue; // told already
    if (vhds) {
      // Envoy's convention for a virtual host that does not exist: a Resource named as requested,
      // with the requested name as its alias and no resource, so the waiting request can be failed.
      diff.resources.push({ name: requested, version: '', aliases: [requested], resource: null });
    } else {
      // Other types: a subscribed name that does not exist is reported once as removed.
      diff.removed.push(requested);
      sub.known.set(requested, undefined);
    }
    setAnswered(requested, null);
  }

  for (const name of [...sub.known.names()]) {
    if (isWanted(name)) continue;
    diff.removed.push(name);
    sub.known.set(name, undefined);
  }

  // The client now has exactly these parts: later diffs can be shared with every stream like it.
  const total = encoded.parts.reduce((n, p) => n + p.resources.size, 0);
  if (!vhds && (sub.wildcard || wantedCount === total)) sub.known.rebase(encoded.parts);
  return diff;
}

/** Named subscriptions: the names are exactly the parts' resources (EDS: every cluster CDS names). */
function coversParts(names: ReadonlySet<string>, encoded: EncodedType): boolean {
  let total = 0;
  for (const p of encoded.parts) {
    total += p.resources.size;
    for (const name of p.resources.keys()) if (!names.has(name)) return false;
  }
  return total === names.size;
}

/** Built apart from the diff so that a diff awaiting its ACK holds only this, not what it sent. */
function undoer(sub: DeltaSubscription, known: ReturnType<KnownVersions['snapshot']>, answered: ReadonlyMap<string, string | null | undefined>): () => void {
  return () => {
    sub.known.restore(known);
    for (const [name, v] of answered) {
      if (v === undefined) sub.answered.delete(name);
      else sub.answered.set(name, v);
    }
  };
}
