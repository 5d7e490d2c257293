// Typed, validated Istio-API resources. The parser (src/config/parse.ts) produces these from YAML;
// everything downstream (model, translate) reads only these types, never raw YAML.
import type { AuthorizationPolicySpec, PeerAuthenticationSpec, RequestAuthenticationSpec } from './security-types.js';
import type { TelemetrySpec } from './telemetry-types.js';
import type { SourceRef } from './frontends/types.js';
import type { HttpRouteGroupSpec, IdentityBindingSpec, TcpRouteSpec, TrafficTargetSpec } from './smi-types.js';

/** Where a resource came from, so every later error can name it. */
export interface Origin {
  file: string;
  /** 0-based index of the YAML document within the file. */
  document: number;
  /** 1-based line of the document's start, when known. */
  line?: number;
}

export interface Meta {
  name: string;
  namespace: string; // defaulted to "default"
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

interface ResourceBase<K extends string, S> {
  kind: K;
  apiVersion: string; // e.g. networking.istio.io/v1
  metadata: Meta;
  spec: S;
  origin: Origin;
  /** Set on resources a front end derived (src/config/frontends): the user's resources they came from. */
  derivedFrom?: SourceRef[];
}

// ---------- VirtualService (HTTP part; tcp/tls are kept for later issues) ----------

export type StringMatch = { exact: string } | { prefix: string } | { regex: string };

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch | { present: true }>;
  withoutHeaders?: Record<string, StringMatch | { present: true }>;
  queryParams?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  ignoreUriCase?: boolean;
  /** Gateway names this match is restricted to (overrides the VirtualService's gateways). */
  gateways?: string[];
}

export interface PortSelector {
  number: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number; // absent: 100 for a single destination
  headers?: Headers;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}
export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface Percent {
  value: number; // 0..100
}

export interface HTTPFaultInjection {
  delay?: { fixedDelayMs: number; percentage?: Percent };
  /** httpStatus, or a gRPC status (Istio's grpcStatus names it: "UNAVAILABLE") as its code. */
  abort?: { httpStatus: number; grpcStatus?: number; percentage?: Percent };
}

export interface HTTPRetry {
  attempts: number;
  perTryTimeoutMs?: number;
  retryOn?: string;
  /** false: retries may land on a host already tried (Istio adds the previous-hosts predicate). */
  retryIgnorePreviousHosts?: boolean;
  /** Base interval of the retry back-off. */
  backoffMs?: number;
}

export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  redirectCode?: number;
  scheme?: 'http' | 'https';
  port?: number;
  derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
}

export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  /** RE2 match on the path, replaced by `rewrite` (which may use \1-style groups). */
  uriRegexRewrite?: { match: string; rewrite: string };
}

export interface HTTPDirectResponse {
  status: number;
  body?: string;
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: HTTPDirectResponse;
  rewrite?: HTTPRewrite;
  timeoutMs?: number;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  headers?: Headers;
  /** mirror + mirrorPercentage, or mirrors: copies sent fire-and-forget. */
  mirrors?: { destination: Destination; percentage?: Percent }[];
}

/** L4MatchAttributes: where an opaque TCP connection is headed and who opens it. */
export interface L4MatchAttributes {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways?: string[];
}

/** TLSMatchAttributes: L4 plus the SNI of the ClientHello (required, wildcards allowed). */
export interface TLSMatchAttributes extends L4MatchAttributes {
  sniHosts: string[];
}

/** RouteDestination of a tcp or tls route: no header operations at L4. */
export interface L4RouteDestination {
  destination: Destination;
  weight?: number;
}

export interface VsTcpRoute {
  match?: L4MatchAttributes[];
  route: L4RouteDestination[];
}

export interface VsTlsRoute {
  match: TLSMatchAttributes[];
  route: L4RouteDestination[];
}

export interface VirtualServiceSpec {
  hosts: string[];
  gateways: string[]; // [] means the implicit "mesh"
  exportTo?: string[];
  http: HTTPRoute[];
  /** tcp/tls routes: typed as VsTcpRoute / VsTlsRoute; kept raw until their validator lands. */
  tcp?: unknown[];
  tls?: unknown[];
}

export type VirtualService = ResourceBase<'VirtualService', VirtualServiceSpec>;

// ---------- DestinationRule ----------

export type SimpleLB = 'UNSPECIFIED' | 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH';

/** ConsistentHashLB: exactly one hash key, and ring hash (default) or Maglev. */
export interface ConsistentHashLB {
  key:
    | { kind: 'header'; name: string }
    | { kind: 'cookie'; name: string; path?: string; ttlMs?: number }
    | { kind: 'sourceIp' }
    | { kind: 'queryParameter'; name: string };
  table: { kind: 'ringHash'; minimumRingSize?: number } | { kind: 'maglev'; tableSize?: number };
}

export interface LocalityLbSetting {
  /** false turns locality load balancing off for this rule. */
  enabled?: boolean;
  distribute?: Array<{ from: string; to: Record<string, number> }>;
  failover?: Array<{ from: string; to: string }>;
  failoverPriority?: string[];
}

export interface LoadBalancerSettings {
  simple?: SimpleLB;
  consistentHash?: ConsistentHashLB;
  localityLbSetting?: LocalityLbSetting;
  /** warmupDurationSecs, or warmup.duration (with its minimumPercent and aggression). */
  warmup?: { durationMs: number; minimumPercent?: number; aggression?: number };
}

export type TLSMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

export interface ClientTLSSettings {
  mode: TLSMode;
  sni?: string;
  clientCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  caCrl?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  insecureSkipVerify?: boolean;
  [k: string]: unknown;
}

export interface ConnectionPoolSettings {
  tcp?: { maxConnections?: number; connectTimeoutMs?: number; tcpKeepalive?: { timeMs?: number } };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeoutMs?: number;
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    useClientProtocol?: boolean;
    maxConcurrentStreams?: number;
  };
}

export interface OutlierDetection {
  /** Deprecated: Istio counted only gateway errors (502, 503, 504) for it. */
  consecutiveErrors?: number;
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  consecutiveLocalOriginFailures?: number;
  splitExternalLocalOriginErrors?: boolean;
  intervalMs?: number;
  baseEjectionTimeMs?: number;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
  /** Istio's retryBudget: percent of active requests (default 20) and minRetryConcurrency (default 3). */
  retryBudget?: { percent?: number; minRetryConcurrency?: number };
  portLevelSettings?: Array<Omit<TrafficPolicy, 'portLevelSettings'> & { port: PortSelector }>;
}

export interface Subset {
  name: string;
  labels: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets: Subset[];
  exportTo?: string[];
  /** Applies the rule only to these workloads' outbound traffic. */
  workloadSelector?: { matchLabels: Record<string, string> };
}

export type DestinationRule = ResourceBase<'DestinationRule', DestinationRuleSpec>;

// ---------- ServiceEntry / WorkloadEntry ----------

/** UNKNOWN: no protocol declared or derivable from the port name (Istio sniffs it). */
export type Protocol = 'HTTP' | 'HTTPS' | 'GRPC' | 'GRPC-WEB' | 'HTTP2' | 'TCP' | 'TLS' | 'MONGO' | 'REDIS' | 'MYSQL' | 'UDP' | 'UNKNOWN';

export interface ServicePort {
  number: number;
  name: string;
  protocol: Protocol;
  targetPort?: number;
}

export interface WorkloadEntrySpec {
  address: string; // IP or DNS name
  ports: Record<string, number>; // port name -> port on the workload
  labels: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}

export interface ServiceEntrySpec {
  hosts: string[];
  addresses: string[];
  ports: ServicePort[];
  location: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN';
  endpoints: WorkloadEntrySpec[];
  workloadSelector?: { labels: Record<string, string> };
  exportTo?: string[];
}

export type ServiceEntry = ResourceBase<'ServiceEntry', ServiceEntrySpec>;
export type WorkloadEntry = ResourceBase<'WorkloadEntry', WorkloadEntrySpec>;

// ---------- security.istio.io ----------

export type PeerAuthentication = ResourceBase<'PeerAuthentication', PeerAuthenticationSpec>;
export type AuthorizationPolicy = ResourceBase<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type RequestAuthentication = ResourceBase<'RequestAuthentication', RequestAuthenticationSpec>;

// ---------- SMI (access.smi-spec.io, specs.smi-spec.io) ----------

export type TrafficTarget = ResourceBase<'TrafficTarget', TrafficTargetSpec>;
export type IdentityBinding = ResourceBase<'IdentityBinding', IdentityBindingSpec>;
export type HTTPRouteGroup = ResourceBase<'HTTPRouteGroup', HttpRouteGroupSpec>;
export type TCPRoute = ResourceBase<'TCPRoute', TcpRouteSpec>;

/**
 * Every kind Weft handles: its spec type and the ConfigSet list it lands in. The kind registry
 * (src/config/kinds.ts) must have one entry per key (the compiler checks), so adding a kind is one
 * line here, its entry there, and its validator.
 */
export interface MeshKindTypes {
  VirtualService: { spec: VirtualServiceSpec; list: 'virtualServices' };
  DestinationRule: { spec: DestinationRuleSpec; list: 'destinationRules' };
  ServiceEntry: { spec: ServiceEntrySpec; list: 'serviceEntries' };
  WorkloadEntry: { spec: WorkloadEntrySpec; list: 'workloadEntries' };
  PeerAuthentication: { spec: PeerAuthenticationSpec; list: 'peerAuthentications' };
  AuthorizationPolicy: { spec: AuthorizationPolicySpec; list: 'authorizationPolicies' };
  RequestAuthentication: { spec: RequestAuthenticationSpec; list: 'requestAuthentications' };
  TrafficTarget: { spec: TrafficTargetSpec; list: 'trafficTargets' };
  IdentityBinding: { spec: IdentityBindingSpec; list: 'identityBindings' };
  HTTPRouteGroup: { spec: HttpRouteGroupSpec; list: 'httpRouteGroups' };
  TCPRoute: { spec: TcpRouteSpec; list: 'tcpRoutes' };
  Telemetry: { spec: TelemetrySpec; list: 'telemetries' };
}

export type MeshKind = keyof MeshKindTypes;
export type ResourceOf<K extends MeshKind> = ResourceBase<K, MeshKindTypes[K]['spec']>;
export type MeshResource = { [K in MeshKind]: ResourceOf<K> }[MeshKind];
/** The ConfigSet list a kind lands in (`virtualServices`, `peerAuthentications`, …). */
export type ConfigListName = MeshKindTypes[MeshKind]['list'];

/** A kind that parsed as Kubernetes YAML but that Weft does not handle yet (Gateway, Sidecar, ...). */
export interface SkippedResource {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  origin: Origin;
}

/** One validation problem. `path` is a field path such as `spec.http[0].route[1].weight`. */
export interface ConfigError {
  code: string; // WEFT_E_* (see src/config/errors.ts)
  file: string;
  document: number;
  line?: number;
  /** "VirtualService default/reviews" when the resource's identity is known. */
  resource?: string;
  path: string;
  message: string;
  /** Findings across resources (analyze checks): how bad, in istioctl analyze's levels; absent on validation errors (always errors). */
  level?: 'error' | 'warning' | 'info';
  /** The istioctl analyze message this finding corresponds to, e.g. `IST0101 ReferencedResourceNotFound`. */
  istio?: string;
}

export type ParseResult =
  | { ok: true; resources: MeshResource[]; skipped: SkippedResource[] }
  | { ok: false; errors: ConfigError[]; resources: MeshResource[]; skipped: SkippedResource[] };

/** The config half of the mesh snapshot: every valid resource, one list per kind, config order kept. */
export type ConfigSet = { [K in MeshKind as MeshKindTypes[K]['list']]: ResourceOf<K>[] };
