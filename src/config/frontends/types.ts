// Front ends: config users already have (Gateway API, SMI, Kubernetes Services) lowered into the one
// model the translator reads (Istio's VirtualService, DestinationRule, ServiceEntry, Gateway). Each
// front end is a pure function of the ConfigSet; lowerFrontEnds (index.ts) runs them in precedence
// order and settles which one routes a host when several claim it.
import type { ConfigError, ConfigSet, MeshKind, MeshResource, Origin } from '../types.js';

/** The resource a derived one came from (a derived VirtualService may merge several routes). */
export interface SourceRef {
  kind: MeshKind;
  namespace: string;
  name: string;
  origin: Origin;
}

/** Gateway API's metav1.Condition, as route and gateway status carry it. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** One parent's entry of a route's status (Gateway API `status.parents[]`). */
export interface ParentStatus {
  parentRef: { group?: string; kind?: string; namespace?: string; name: string; port?: number; sectionName?: string };
  controllerName: string;
  conditions: Condition[];
}

/** What Weft would write to a source resource's status: where the store can write (Kubernetes, etcd)
 * it is written; in the file store `weft analyze` and /debug/configz show it. */
export interface ResourceStatus {
  source: SourceRef;
  /** Routes: one entry per parentRef. */
  parents?: ParentStatus[];
  /** Gateways and others: conditions on the resource itself. */
  conditions?: Condition[];
}

/** A host that two configs route; the one of the higher-precedence front end wins. */
export interface RouteConflict {
  /** The resolved host (FQDN) both claim, with the namespace scope of the claim ('*' for every namespace). */
  host: string;
  scope: string;
  winner: SourceRef;
  loser: SourceRef;
}

/** What one front end contributes. */
export interface Lowered {
  /** Istio-model resources derived from this front end's kinds; each carries `derivedFrom`. */
  derived: MeshResource[];
  statuses: ResourceStatus[];
  /** Problems found while lowering (a backendRef to a missing Service, a ReferenceGrant missing),
   * as `weft analyze` findings with a level. */
  findings: ConfigError[];
}

export interface LowerContext {
  /** The mesh's DNS domain (cluster.local). */
  domain: string;
}

export interface FrontEnd {
  name: 'gateway-api' | 'smi' | 'kubernetes';
  lower(config: ConfigSet, ctx: LowerContext): Lowered;
}

/** The translator's input after lowering, and what lowering reported. */
export interface EffectiveConfig {
  /** The ConfigSet with every winning derived resource added to its kind's list (after the user's own). */
  config: ConfigSet;
  statuses: ResourceStatus[];
  findings: ConfigError[];
  conflicts: RouteConflict[];
}
