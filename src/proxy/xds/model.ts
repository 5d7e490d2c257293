// The proxy's typed internal model of Envoy v3 resources. Raw decoded protos are validated into
// these at the xDS edge (validate-*.ts); nothing past that point walks Any blobs or optional
// proto fields. Unions make the illegal states unrepresentable.

// ---------- shared ----------

export type StringMatcher =
  | { kind: 'exact'; value: string; ignoreCase: boolean }
  | { kind: 'prefix'; value: string; ignoreCase: boolean }
  | { kind: 'suffix'; value: string; ignoreCase: boolean }
  | { kind: 'contains'; value: string; ignoreCase: boolean }
  | { kind: 'regex'; regex: RegExp };

/** envoy.type.v3.FractionalPercent as a probability: fires when random()*denominator < numerator. */
export interface Percent {
  numerator: number;
  denominator: number; // 100 | 10_000 | 1_000_000
}

export interface HeaderValueOption {
  key: string; // lower-cased
  value: string;
  action: HeaderAppendAction;
}

/** HeaderValueOption.append_action (legacy `append: true` is 'append'). */
export type HeaderAppendAction = 'append' | 'add_if_absent' | 'overwrite' | 'overwrite_if_exists';

export interface HeaderMutation {
  add: HeaderValueOption[];
  remove: string[]; // lower-cased
}

export const emptyHeaderMutation: HeaderMutation = Object.freeze({ add: [], remove: [] }) as HeaderMutation;

export interface SocketAddress {
  host: string;
  port: number;
}

// ---------- RDS ----------

export type PathMatch =
  | { kind: 'prefix'; value: string }
  | { kind: 'path'; value: string }
  | { kind: 'separated_prefix'; value: string }
  | { kind: 'regex'; regex: RegExp };

export type HeaderMatch =
  | { kind: 'present'; present: boolean }
  | { kind: 'string'; matcher: StringMatcher }
  | { kind: 'range'; start: number; end: number };

export interface HeaderMatcher {
  name: string; // lower-cased; pseudo-headers (:authority, :path, :method, :scheme) allowed
  match: HeaderMatch;
  invert: boolean;
  treatMissingAsEmpty: boolean;
}

export interface QueryParamMatcher {
  name: string;
  /** undefined: the parameter must be present (present_match). */
  matcher: StringMatcher | undefined;
}

export interface RouteMatch {
  path: PathMatch;
  caseSensitive: boolean;
  headers: HeaderMatcher[];
  queryParams: QueryParamMatcher[];
}

export interface FaultDelay {
  fixedDelayMs: number;
  percent: Percent;
}
export interface FaultAbort {
  httpStatus: number;
  percent: Percent;
}
export interface FaultConfig {
  delay: FaultDelay | undefined;
  abort: FaultAbort | undefined;
}

/** The retry_on conditions (router_filter retry-on header values). */
export interface RetryOn {
  status5xx: boolean;
  gatewayError: boolean;
  connectFailure: boolean;
  reset: boolean;
  /** HTTP/2 REFUSED_STREAM; never raised by an HTTP/1.1 upstream. */
  refusedStream: boolean;
  retriable4xx: boolean;
  retriableStatusCodes: boolean;
  /** grpc-status codes (cancelled 1, deadline-exceeded 4, resource-exhausted 8, internal 13, unavailable 14). */
  grpcStatuses: readonly number[];
}

export interface RetryPolicy {
  on: RetryOn;
  numRetries: number;
  perTryTimeoutMs: number; // 0: none
  retriableStatusCodes: readonly number[];
  /** retry_back_off (Envoy defaults: 25 ms base, 10 × base max). */
  backOff: { baseMs: number; maxMs: number };
  /** envoy.retry_host_predicates.previous_hosts: a retry avoids hosts already tried. */
  avoidPreviousHosts: boolean;
  /** host_selection_retry_max_attempts: picks made to find a host the predicate accepts. */
  hostSelectionMaxAttempts: number;
}

export interface WeightedCluster {
  name: string;
  weight: number;
}

export type ClusterSpecifier =
  | { kind: 'cluster'; name: string }
  | { kind: 'weighted'; clusters: WeightedCluster[]; totalWeight: number };

export interface ForwardAction {
  kind: 'route';
  cluster: ClusterSpecifier;
  timeoutMs: number; // 0: none
  prefixRewrite: string | undefined;
  regexRewrite: { regex: RegExp; substitution: string } | undefined;
  hostRewrite: string | undefined;
  retry: RetryPolicy | undefined;
  clusterNotFoundStatus: number;
}

export interface RedirectAction {
  kind: 'redirect';
  scheme: string | undefined;
  host: string | undefined;
  port: number | undefined;
  path: string | undefined;
  prefixRewrite: string | undefined;
  stripQuery: boolean;
  status: number;
}

export interface DirectResponseAction {
  kind: 'direct_response';
  status: number;
  body: string;
}

export type RouteAction = ForwardAction | RedirectAction | DirectResponseAction;

export interface Route {
  name: string;
  match: RouteMatch;
  action: RouteAction;
  /** typed_per_filter_config['envoy.filters.http.fault'], if any. */
  fault: FaultConfig | undefined;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
  fault: FaultConfig | undefined;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
}

export interface RouteConfiguration {
  name: string;
  virtualHosts: VirtualHost[];
  /** Virtual hosts also arrive over VHDS (Delta ADS), merged into `virtualHosts` as they come. */
  vhds: boolean;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
}

// ---------- LDS ----------

export interface Cidr {
  /** Address family 4 or 6. */
  family: 4 | 6;
  /** Network address bytes, already masked. */
  bytes: Uint8Array;
  prefixLen: number;
}

/** The subset of FilterChainMatch a plaintext HTTP/1.1 listener can evaluate per connection. */
export interface FilterChainMatch {
  destinationPort: number | undefined;
  prefixRanges: Cidr[];
  sourcePrefixRanges: Cidr[];
  /** 'raw_buffer' or undefined; 'tls' chains never match until TLS arrives. */
  transportProtocol: string | undefined;
}

export type HttpFilterConfig =
  | { kind: 'fault'; name: string; config: FaultConfig }
  | { kind: 'router'; name: string };

export type RouteSource = { kind: 'rds'; name: string } | { kind: 'inline'; config: RouteConfiguration };

export interface HttpConnectionManager {
  statPrefix: string;
  routes: RouteSource;
  /** In order; the router is always last. */
  httpFilters: HttpFilterConfig[];
  /** envoy.filters.http.on_demand is configured: a host missing from a VHDS route table is asked
   * for before the request is answered (it acts where the virtual host lookup misses). */
  onDemandVhds: boolean;
  /** Downstream keep-alive idle timeout (common_http_protocol_options.idle_timeout; Envoy default 1 h). */
  idleTimeoutMs: number;
  /** Whole-request timeout (request_timeout; 0: none). */
  requestTimeoutMs: number;
  generateRequestId: boolean;
}

/** A network filter chain. Today the only terminal filter is the HTTP connection manager;
 * tcp_proxy and a transport socket (TLS) get their own members when they arrive. */
export interface FilterChain {
  name: string;
  match: FilterChainMatch;
  hcm: HttpConnectionManager;
}

export interface Listener {
  name: string;
  address: SocketAddress;
  filterChains: FilterChain[];
  defaultFilterChain: FilterChain | undefined;
}

// ---------- CDS / EDS ----------

export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS';
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM';

export interface CircuitBreakers {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  /** When set, replaces maxRetries: active retries ≤ max(minConcurrency, percent % of active + pending). */
  retryBudget: { percent: number; minConcurrency: number } | undefined;
}

/** outlier_detection: the consecutive-failure detectors (success-rate and failure-percentage
 * detection must be off, which validation checks). */
export interface OutlierDetection {
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
  consecutive5xx: number;
  enforcingConsecutive5xx: number;
  consecutiveGatewayFailure: number;
  enforcingConsecutiveGatewayFailure: number;
  /** Local-origin failures (connect, timeout, reset) counted apart from HTTP statuses. */
  splitExternalLocalOriginErrors: boolean;
  consecutiveLocalOriginFailure: number;
  enforcingConsecutiveLocalOriginFailure: number;
}

/** Upstream connection behaviour: common_http_protocol_options and upstream_connection_options. */
export interface UpstreamConnectionOptions {
  idleTimeoutMs: number;
  /** 0: unlimited. */
  maxRequestsPerConnection: number;
  /** tcp_keepalive.keepalive_time; undefined: the pool's default. */
  tcpKeepaliveTimeMs: number | undefined;
}

/** The slot upstream TLS (mTLS) fills later; only plaintext today. */
export type UpstreamTransport = { kind: 'plaintext' };

export interface Cluster {
  name: string;
  type: DiscoveryType;
  /** The EDS resource name (eds_cluster_config.service_name or the cluster name). */
  edsServiceName: string | undefined;
  /** For STATIC and DNS clusters. */
  loadAssignment: ClusterLoadAssignment | undefined;
  connectTimeoutMs: number;
  lbPolicy: LbPolicy;
  /** LEAST_REQUEST choice_count (Envoy default 2). */
  choiceCount: number;
  dnsRefreshMs: number;
  dnsFamily: 0 | 4 | 6;
  circuitBreakers: CircuitBreakers;
  outlierDetection: OutlierDetection | undefined;
  /** common_lb_config.healthy_panic_threshold in percent (Envoy default 50; 0 disables panic). */
  healthyPanicThreshold: number;
  connectionOptions: UpstreamConnectionOptions;
  transport: UpstreamTransport;
}

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LbEndpoint {
  /** IP address, or a DNS name for STRICT_DNS / LOGICAL_DNS clusters. */
  host: string;
  port: number;
  health: HealthStatus;
  weight: number;
  priority: number;
}

export interface ClusterLoadAssignment {
  clusterName: string;
  endpoints: LbEndpoint[];
}

/** A validated resource of each xDS type. */
export interface ModelByType {
  listener: Listener;
  route: RouteConfiguration;
  virtualHost: VirtualHost;
  cluster: Cluster;
  endpoint: ClusterLoadAssignment;
}
