// Header maps on the request path. Names arrive from the network, so a map must never inherit
// from Object.prototype: `__proto__`, `constructor` or `toString` are ordinary header names here.
// Every map that holds names from a peer or from config is made by createHeaderMap().

/** Lower-case names; a repeated field is a list. */
export type HeaderMap = Record<string, string | string[]>;
/** Outgoing maps also take numbers (content-length) and undefined (dropped when written). */
export type OutgoingHeaderMap = Record<string, string | string[] | number | undefined>;

export function createHeaderMap<T extends OutgoingHeaderMap = HeaderMap>(): T {
  return Object.create(null) as T;
}

/** A prototype-free copy of a map given by a caller (tests, the admin, local replies). */
export function headerMapFrom<T extends OutgoingHeaderMap>(src: T): T {
  const out = createHeaderMap<T>();
  for (const key of Object.keys(src)) (out as OutgoingHeaderMap)[key] = src[key];
  return out;
}
