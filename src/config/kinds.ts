// The config kinds Weft handles, in one registry: API group and versions, the spec validator, and the
// ConfigSet list each kind lands in. Parsing, merging, the stores, `weft analyze` and the snapshot's
// version inputs all read this table, so a new kind (SMI, Gateway API, telemetry.istio.io) is one
// entry here plus its types (MeshKindTypes in types.ts) and its validator.
import type { ConfigListName, ConfigSet, MeshKind, MeshKindTypes, MeshResource, ResourceOf } from './types.js';
import type { Issues, Path } from './validate/issues.js';
import type { SpecShape } from './spec-shape.js';
import { AUTHORIZATION_POLICY_SPEC, validateAuthorizationPolicy } from './validate/authorization-policy.js';
import { DESTINATION_RULE_SPEC, validateDestinationRule } from './validate/destination-rule.js';
import { PEER_AUTHENTICATION_SPEC, validatePeerAuthentication } from './validate/peer-authentication.js';
import { REQUEST_AUTHENTICATION_SPEC, validateRequestAuthentication } from './validate/request-authentication.js';
import { SMI_ACCESS_GROUP, SMI_SPECS_GROUP, validateHttpRouteGroup, validateIdentityBinding, validateTcpRoute, validateTrafficTarget } from './validate/smi.js';
import { SERVICE_ENTRY_SPEC, validateServiceEntry, validateWorkloadEntrySpec, WORKLOAD_ENTRY_SPEC } from './validate/service-entry.js';
import { validateVirtualService, VIRTUAL_SERVICE_SPEC } from './validate/virtual-service.js';
import { TELEMETRY_GROUP, TELEMETRY_SPEC, validateTelemetry } from './validate/telemetry.js';

export interface KindEntry<K extends MeshKind> {
  group: string;
  /** Served versions, preferred first (the one named in "is required" messages). */
  versions: readonly string[];
  kind: K;
  /** The `kind:` a document carries, when it differs from the registry key: two groups may use the
   * same kind name (SMI and Gateway API both have `TCPRoute`; Istio and Gateway API both `Gateway`),
   * so the key is unique and the document's kind plus group pick the entry. Absent: the key. */
  wireKind?: string;
  /** The spec validator: every problem into `issues` with its path; undefined when invalid. */
  validate: (issues: Issues, spec: unknown, path: Path) => MeshKindTypes[K]['spec'] | undefined;
  /** Where the kind lands in the snapshot: its ConfigSet list, and the SnapshotVersions input of that name. */
  list: MeshKindTypes[K]['list'];
  /** A document without apiVersion is read as versions[0] instead of being an error: SMI's own
   * specification writes its examples that way (Istio kinds still require it). */
  apiVersionOptional?: true;
  /** The spec's top-level fields as the validator reads them; `weft install` builds the CRD's schema
   * from it. Absent: the CRD leaves spec open and only the validator checks it. */
  specFields?: SpecShape;
  /** kubectl short names (Istio's: `kubectl get vs`). */
  shortNames?: readonly string[];
}

const NETWORKING = { group: 'networking.istio.io', versions: ['v1', 'v1beta1', 'v1alpha3'] } as const;
const SECURITY = { group: 'security.istio.io', versions: ['v1', 'v1beta1'] } as const;
// TrafficTarget v1alpha3 names ServiceAccounts, v1alpha4 adds IdentityBinding; the validator takes both.
const SMI_ACCESS = { group: SMI_ACCESS_GROUP, versions: ['v1alpha4', 'v1alpha3'], apiVersionOptional: true } as const;
const SMI_SPECS = { group: SMI_SPECS_GROUP, versions: ['v1alpha4', 'v1alpha3'], apiVersionOptional: true } as const;

/** One entry per MeshKind (a missing one is a compile error); the order is the ConfigSet order. */
export const KINDS: { readonly [K in MeshKind]: KindEntry<K> } = {
  VirtualService: { ...NETWORKING, kind: 'VirtualService', validate: validateVirtualService, list: 'virtualServices', specFields: VIRTUAL_SERVICE_SPEC, shortNames: ['vs'] },
  DestinationRule: { ...NETWORKING, kind: 'DestinationRule', validate: validateDestinationRule, list: 'destinationRules', specFields: DESTINATION_RULE_SPEC, shortNames: ['dr'] },
  ServiceEntry: { ...NETWORKING, kind: 'ServiceEntry', validate: validateServiceEntry, list: 'serviceEntries', specFields: SERVICE_ENTRY_SPEC, shortNames: ['se'] },
  WorkloadEntry: { ...NETWORKING, kind: 'WorkloadEntry', validate: validateWorkloadEntrySpec, list: 'workloadEntries', specFields: WORKLOAD_ENTRY_SPEC, shortNames: ['we'] },
  PeerAuthentication: { ...SECURITY, kind: 'PeerAuthentication', validate: validatePeerAuthentication, list: 'peerAuthentications', specFields: PEER_AUTHENTICATION_SPEC, shortNames: ['pa'] },
  AuthorizationPolicy: { ...SECURITY, kind: 'AuthorizationPolicy', validate: validateAuthorizationPolicy, list: 'authorizationPolicies', specFields: AUTHORIZATION_POLICY_SPEC, shortNames: ['ap'] },
  RequestAuthentication: { ...SECURITY, kind: 'RequestAuthentication', validate: validateRequestAuthentication, list: 'requestAuthentications', specFields: REQUEST_AUTHENTICATION_SPEC, shortNames: ['ra'] },
  TrafficTarget: { ...SMI_ACCESS, kind: 'TrafficTarget', validate: validateTrafficTarget, list: 'trafficTargets' },
  // IdentityBinding is new in v1alpha4.
  IdentityBinding: { ...SMI_ACCESS, versions: ['v1alpha4'], kind: 'IdentityBinding', validate: validateIdentityBinding, list: 'identityBindings' },
  HTTPRouteGroup: { ...SMI_SPECS, kind: 'HTTPRouteGroup', validate: validateHttpRouteGroup, list: 'httpRouteGroups' },
  TCPRoute: { ...SMI_SPECS, kind: 'TCPRoute', validate: validateTcpRoute, list: 'tcpRoutes' },
  Telemetry: { group: TELEMETRY_GROUP, versions: ['v1', 'v1alpha1'], kind: 'Telemetry', validate: validateTelemetry, list: 'telemetries', specFields: TELEMETRY_SPEC, shortNames: ['telemetry'] },
};

type AnyKindEntry = { [K in MeshKind]: KindEntry<K> }[MeshKind];
export const KIND_ENTRIES: readonly AnyKindEntry[] = Object.values(KINDS);

/** The document kind (`kind:`) of an entry. */
export const wireKindOf = (e: AnyKindEntry): string => e.wireKind ?? e.kind;

const BY_WIRE_KIND = new Map<string, AnyKindEntry[]>();
for (const e of KIND_ENTRIES) {
  const list = BY_WIRE_KIND.get(wireKindOf(e)) ?? [];
  list.push(e);
  BY_WIRE_KIND.set(wireKindOf(e), list);
}

/** The entry for a document's `kind` (and API group, when it has one), if Weft handles it. Without a
 * group the first entry of that kind name is meant (registry order: Istio, then SMI, then others). */
export function kindEntry(kind: string, group?: string): AnyKindEntry | undefined {
  const list = BY_WIRE_KIND.get(kind);
  if (!list) return undefined;
  return (group === undefined ? undefined : list.find((e) => e.group === group)) ?? list[0];
}

/** The entry of a registry key (a resource's `kind` after parsing). */
export const entryOf = (kind: MeshKind): AnyKindEntry => KINDS[kind];

/** Every ConfigSet list, in registry order (also the config inputs of SnapshotVersions). */
export const CONFIG_LISTS: readonly ConfigListName[] = KIND_ENTRIES.map((e) => e.list);

export const emptyConfigSet = (): ConfigSet => Object.fromEntries(CONFIG_LISTS.map((l) => [l, []])) as unknown as ConfigSet;

export function addTo(config: ConfigSet, r: MeshResource): void {
  (config[KINDS[r.kind].list] as MeshResource[]).push(r);
}

/** Every resource of the set, kinds in registry order, each kind in config order. */
export function configResources(config: ConfigSet): MeshResource[] {
  return CONFIG_LISTS.flatMap((l) => config[l] as MeshResource[]);
}

export const resourcesOf = <K extends MeshKind>(config: ConfigSet, kind: K): ResourceOf<K>[] => config[KINDS[kind].list] as unknown as ResourceOf<K>[];
