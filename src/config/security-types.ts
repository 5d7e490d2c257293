// Typed security.istio.io/v1 resources (PeerAuthentication, AuthorizationPolicy,
// RequestAuthentication), as validated config: the validators (src/config/validate/) produce these,
// the translators (src/controlplane/translate/) read only these. Field names follow Istio's API.

/** Workload selector (`selector.matchLabels`); absent or empty: every workload in the namespace
 * (all of the mesh in the root namespace). */
export interface WorkloadSelector {
  matchLabels: Record<string, string>;
}

/** Gateway API style policy attachment (`targetRef`/`targetRefs`). */
export interface PolicyTargetReference {
  group: string;
  kind: string;
  name: string;
  namespace?: string;
}

// ---------- PeerAuthentication ----------

export type MutualTlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationSpec {
  selector?: WorkloadSelector;
  /** Absent: inherit (UNSET). */
  mtls?: { mode: MutualTlsMode };
  /** Workload port number → mode; only with a selector (Istio's rule). */
  portLevelMtls?: Record<string, { mode: MutualTlsMode }>;
}

// ---------- AuthorizationPolicy ----------

export type AuthorizationAction = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';

/** Istio's source: every listed field must match (AND); within a field, any value (OR). */
export interface Source {
  principals?: string[];
  notPrincipals?: string[];
  requestPrincipals?: string[];
  notRequestPrincipals?: string[];
  namespaces?: string[];
  notNamespaces?: string[];
  ipBlocks?: string[];
  notIpBlocks?: string[];
  remoteIpBlocks?: string[];
  notRemoteIpBlocks?: string[];
  /** `ns/sa`, or `sa` in the policy's namespace; not combined with principals or namespaces in one source. */
  serviceAccounts?: string[];
  notServiceAccounts?: string[];
  /** The trust domain of the peer's SPIFFE ID. */
  trustDomains?: string[];
  notTrustDomains?: string[];
}

export interface Operation {
  hosts?: string[];
  notHosts?: string[];
  ports?: string[];
  notPorts?: string[];
  methods?: string[];
  notMethods?: string[];
  paths?: string[];
  notPaths?: string[];
}

/** `when`: an attribute key (`request.headers[x-token]`, `source.ip`, `request.auth.claims[iss]`, …). */
export interface Condition {
  key: string;
  values?: string[];
  notValues?: string[];
}

export interface Rule {
  from?: Array<{ source: Source }>;
  to?: Array<{ operation: Operation }>;
  when?: Condition[];
}

export interface AuthorizationPolicySpec {
  selector?: WorkloadSelector;
  targetRefs?: PolicyTargetReference[];
  /** Default ALLOW. */
  action: AuthorizationAction;
  /** CUSTOM only: the extension provider. */
  provider?: { name: string };
  /** Absent: for ALLOW, nothing is allowed (deny all); an empty rule `{}` matches everything. */
  rules: Rule[];
}

// ---------- RequestAuthentication ----------

export interface JwtHeader {
  name: string;
  /** e.g. "Bearer ". */
  prefix?: string;
}

export interface JWTRule {
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  /** Inline JWKS (JSON text). */
  jwks?: string;
  fromHeaders?: JwtHeader[];
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  forwardOriginalToken?: boolean;
  outputClaimToHeaders?: Array<{ header: string; claim: string }>;
  timeout?: string;
}

export interface RequestAuthenticationSpec {
  selector?: WorkloadSelector;
  targetRefs?: PolicyTargetReference[];
  jwtRules: JWTRule[];
}
