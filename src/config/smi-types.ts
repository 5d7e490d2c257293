// Typed SMI resources (servicemeshinterface/smi-spec): Traffic Access Control (access.smi-spec.io
// TrafficTarget, IdentityBinding) and the traffic specs it names (specs.smi-spec.io HTTPRouteGroup,
// TCPRoute), as validated config. src/controlplane/translate/smi-access.ts turns them into
// AuthorizationPolicies. Field names follow the spec's v1alpha4 documents.

/** A reference to an identity: a ServiceAccount (v1alpha3) or an IdentityBinding (v1alpha4). */
export interface SmiIdentityRef {
  kind: 'ServiceAccount' | 'IdentityBinding';
  name: string;
  /** Absent: the TrafficTarget's namespace. */
  namespace?: string;
}

export type SmiRuleKind = 'HTTPRouteGroup' | 'TCPRoute' | 'UDPRoute';

export interface TrafficTargetRule {
  kind: SmiRuleKind;
  name: string;
  /** HTTPRouteGroup only: the names of the group's matches this rule allows; absent: all of them. */
  matches?: string[];
}

export interface TrafficTargetSpec {
  destination: SmiIdentityRef;
  rules: TrafficTargetRule[];
  sources: SmiIdentityRef[];
}

export interface IdentityBindingSpec {
  schemes: {
    /** `podLabelSelector` (the spec's first form) and `podLabelSelectors` (its later list form), merged. */
    podLabelSelectors?: Array<{ name?: string; matchLabels: Record<string, string> }>;
    /** Istio-style principals (`<trust-domain>/ns/<ns>/sa/<sa>`), no `spiffe://` prefix. */
    spiffeIdentities?: string[];
    serviceAccount?: string;
  };
}

/** HTTP methods a match may name (the spec's list), or `*` for any. */
export const SMI_HTTP_METHODS = ['*', 'GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const;
export type SmiHttpMethod = (typeof SMI_HTTP_METHODS)[number];

export interface HttpRouteMatch {
  name: string;
  /** A regular expression over the whole path. */
  pathRegex?: string;
  methods?: SmiHttpMethod[];
  /** Header name → a regular expression over its whole value. */
  headers?: Record<string, string>;
}

export interface HttpRouteGroupSpec {
  matches: HttpRouteMatch[];
}

export interface TcpRouteSpec {
  /** No ports (or an empty list): every port. */
  matches?: { ports?: number[] };
}
