// Translation: a pure function of (mesh snapshot, proxy) to the xDS resources that proxy should run —
// the client kind's composition of parts (src/controlplane/xds/compositions.ts), each fed only the
// inputs it declares. The cache runs the same parts, memoised and encoded.
import { PUSH_ORDER, type XdsType } from '../../api/envoy.js';
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import { COMPOSITIONS, sidecarKind, type ClientKind } from '../xds/compositions.js';
import { runPart } from '../xds/part-inputs.js';
import type { ResourceSet, XdsResource } from './types.js';

/** Every xDS type's resources for `proxy` as a client of `kind`, parts in composition order. */
export function translateFor(snap: MeshSnapshot, proxy: ProxyNode, kind: ClientKind): Record<XdsType, XdsResource[]> {
  const composition = COMPOSITIONS[kind];
  return Object.fromEntries(PUSH_ORDER.map((type) => [type, composition[type].flatMap((part) => runPart(part, snap, proxy))])) as Record<XdsType, XdsResource[]>;
}

/** What a state-of-the-world sidecar runs (the captured layout for a captured one, as the cache picks). */
export function translate(snap: MeshSnapshot, proxy: ProxyNode): ResourceSet {
  const { virtualHost: _none, ...set } = translateFor(snap, proxy, sidecarKind('sotw', proxy));
  return set;
}

export type { ResourceSet, TranslatorPart, XdsResource } from './types.js';
