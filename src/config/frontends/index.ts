// Lowering every front end into the one model, and the one precedence between them. When configs of
// different front ends route the same host for the same callers, the order is:
//   1. Istio VirtualService (the model itself: the most expressive, and what a mesh moving to Weft
//      already runs; adding Gateway API or SMI beside it must not move traffic until the VS is gone),
//   2. Gateway API routes (HTTPRoute, GRPCRoute, TCPRoute, TLSRoute with a Service parent),
//   3. SMI TrafficSplit.
// The losing config's claim on that host is dropped, reported as a WEFT_E_ROUTE_CONFLICT warning
// naming both files, and listed in /debug/configz; it is never silently ignored. A consumer route
// (visible to its own namespace only) and a producer route do not conflict: the consumer's namespace
// sees its own (Gateway API's GAMMA rule), others the producer's. Within one front end the front end
// itself orders its resources (Gateway API: oldest, then name).
import { resolveHost } from '../../controlplane/model/hosts.js';
import { addTo, emptyConfigSet, configResources } from '../kinds.js';
import { resourceIdentity } from '../validate/resource.js';
import type { ConfigError, ConfigSet, MeshResource, VirtualService } from '../types.js';
import type { EffectiveConfig, FrontEnd, LowerContext, RouteConflict, SourceRef } from './types.js';

/** Registered front ends, highest precedence first (the user's own Istio config outranks them all). */
export const FRONT_ENDS: FrontEnd[] = [];

export function lowerFrontEnds(config: ConfigSet, ctx: LowerContext): EffectiveConfig {
  if (FRONT_ENDS.length === 0) return { config, statuses: [], findings: [], conflicts: [] };
  const claims = new Map<string, SourceRef>();
  const claim = (vs: VirtualService, ref: SourceRef, host: string): SourceRef | undefined => {
    const key = `${host}|${claimScope(vs)}`;
    const owner = claims.get(key);
    if (owner) return owner;
    claims.set(key, ref);
    return undefined;
  };
  for (const vs of config.virtualServices) {
    if (!meshBound(vs)) continue;
    for (const h of vs.spec.hosts) claim(vs, refOf(vs), resolveHost(h, vs.metadata.namespace, ctx.domain));
  }

  const out = emptyConfigSet();
  for (const r of configResources(config)) addTo(out, r);
  const statuses: EffectiveConfig['statuses'] = [];
  const findings: ConfigError[] = [];
  const conflicts: RouteConflict[] = [];
  for (const fe of FRONT_ENDS) {
    const lowered = fe.lower(config, ctx);
    statuses.push(...lowered.statuses);
    findings.push(...lowered.findings);
    // Claims are taken per front end as a whole: two routes of one front end never conflict here.
    const mine = new Map<string, SourceRef>();
    for (const r of lowered.derived) {
      if (r.kind !== 'VirtualService' || !meshBound(r)) {
        addTo(out, r);
        continue;
      }
      const kept = r.spec.hosts.filter((h) => {
        const host = resolveHost(h, r.metadata.namespace, ctx.domain);
        const key = `${host}|${claimScope(r)}`;
        const owner = claims.get(key);
        if (!owner) {
          mine.set(key, sourceOf(r));
          return true;
        }
        const loser = sourceOf(r);
        conflicts.push({ host, scope: claimScope(r), winner: owner, loser });
        findings.push(conflictFinding(loser, owner, host));
        return false;
      });
      if (kept.length === r.spec.hosts.length) addTo(out, r);
      else if (kept.length) addTo(out, { ...r, spec: { ...r.spec, hosts: kept } });
    }
    for (const [k, v] of mine) claims.set(k, v);
  }
  return { config: out, statuses, findings, conflicts };
}

const meshBound = (vs: VirtualService): boolean => vs.spec.gateways.length === 0 || vs.spec.gateways.includes('mesh');

/** The namespace whose callers see the route: its own for exportTo ["."] (or only its own name), else every one. */
function claimScope(vs: VirtualService): string {
  const e = vs.spec.exportTo;
  if (e && e.length > 0 && e.every((x) => x === '.' || x === vs.metadata.namespace)) return vs.metadata.namespace;
  return '*';
}

const refOf = (r: MeshResource): SourceRef => ({ kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name, origin: r.origin });

/** The first resource a derived one came from (itself when it is the user's own). */
const sourceOf = (r: MeshResource): SourceRef => r.derivedFrom?.[0] ?? refOf(r);

function conflictFinding(loser: SourceRef, winner: SourceRef, host: string): ConfigError {
  return {
    code: 'WEFT_E_ROUTE_CONFLICT',
    level: 'warning',
    file: loser.origin.file,
    document: loser.origin.document,
    ...(loser.origin.line !== undefined ? { line: loser.origin.line } : {}),
    resource: resourceIdentity(loser.kind, loser.namespace, loser.name),
    path: 'spec',
    message: `does not route ${host}: ${resourceIdentity(winner.kind, winner.namespace, winner.name)} in ${winner.origin.file} routes it and takes precedence (VirtualService, then Gateway API routes, then SMI TrafficSplit)`,
  };
}
