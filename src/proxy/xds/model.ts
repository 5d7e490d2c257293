// The proxy's typed internal model of Envoy v3 resources. Raw decoded protos are validated into
// these at the xDS edge (validate-*.ts); nothing past that point walks Any blobs or optional
// proto fields. Unions make the illegal states unrepresentable.
import type { AccessLogConfig } from '../telemetry/access-log/config.js';
import type { StatsConfig } from '../telemetry/stats-config.js';
import type { GrpcTimeoutPolicy } from '../http/grpc-timeout.js';
import type { Secret } from '../tls/secret-store.js';
import type { PeerWorkload } from '../../api/peer-metadata.js';

import type { NetworkRbacConfig } from '../rbac/filter-config.js';

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
  /** The status a non-gRPC caller gets (503 when only grpc_status is configured). */
  httpStatus: number;
  /** abort.grpc_status: a gRPC caller gets this grpc-status (else one derived from httpStatus). */
  grpcStatus: number | undefined;
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

/** RouteAction.hash_policy entries (consistent-hash balancing); see src/proxy/http/hash-policy.ts. */
export type HashPolicy =
  | { kind: 'header'; name: string; terminal: boolean }
  | { kind: 'cookie'; name: string; /** undefined: never generated */ ttlMs: number | undefined; path: string; terminal: boolean }
  | { kind: 'source_ip'; terminal: boolean }
  | { kind: 'query_parameter'; name: string; terminal: boolean };

export type ClusterSpecifier =
  | { kind: 'cluster'; name: string }
  | { kind: 'weighted'; clusters: WeightedCluster[]; totalWeight: number };

export interface ForwardAction {
  kind: 'route';
  cluster: ClusterSpecifier;
  timeoutMs: number; // 0: none
  /** max_stream_duration.grpc_timeout_header_max: the grpc-timeout header sets the timeout. */
  grpcTimeout: GrpcTimeoutPolicy | undefined;
  prefixRewrite: string | undefined;
  regexRewrite: { regex: RegExp; substitution: string } | undefined;
  hostRewrite: string | undefined;
  /** request_mirror_policies: copies sent fire-and-forget, answers dropped. */
  mirrors: readonly MirrorPolicy[];
  /** upgrade_configs on the route: per upgrade type (lower-case), enabled or not; overrides the HCM's. */
  upgrades: Readonly<Record<string, boolean>>;
  retry: RetryPolicy | undefined;
  clusterNotFoundStatus: number;
  hashPolicy: HashPolicy[];
}

export interface MirrorPolicy {
  cluster: string;
  /** runtime_fraction.default_value (100% when unset). */
  percent: Percent;
  /** Append `-shadow` to the host (Envoy's default; disable_shadow_host_suffix_append turns it off). */
  shadowSuffix: boolean;
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

/** typed_per_filter_config: by HTTP filter name, the config its filter type parsed (per route). */
export type PerFilterConfig = ReadonlyMap<string, PerFilterEntry>;
export interface PerFilterEntry {
  typeUrl: string;
  config: unknown;
}
export const noPerFilterConfig: PerFilterConfig = new Map();

export interface Route {
  name: string;
  match: RouteMatch;
  action: RouteAction;
  /** decorator: the span name of requests on this route, and whether an egress HCM sends it
   * upstream as x-envoy-decorator-operation (Envoy's default: it does). */
  decorator?: { operation: string; propagate: boolean };
  perFilter: PerFilterConfig;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
  perFilter: PerFilterConfig;
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

/** FilterChainMatch as evaluated once per connection, after the listener filters ran. */
export interface FilterChainMatch {
  /** server_names: SNI values, exact or `*.suffix` wildcards (needs tls_inspector). */
  serverNames: string[];
  destinationPort: number | undefined;
  prefixRanges: Cidr[];
  sourcePrefixRanges: Cidr[];
  /** 'raw_buffer', 'tls' (set by tls_inspector) or undefined (any). */
  transportProtocol: 'raw_buffer' | 'tls' | undefined;
  /** ALPN offered or detected protocols ('h2', 'http/1.1', 'h2c', …); empty: any. */
  applicationProtocols: string[];
  /** source_type: the peer is this host (same IP as the local address, or loopback), or not. */
  sourceType: 'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL';
}

/** An HTTP filter of the HCM's chain: its name (the typed_per_filter_config key), its type and
 * the config its type's parse() produced. The registry (http/filters/registry.ts) knows the types. */
export interface HttpFilterConfig {
  name: string;
  typeUrl: string;
  config: unknown;
}

/** HCM path handling before route matching (Istio's pathNormalization; Envoy's HCM fields). */
export interface PathNormalization {
  /** normalize_path: RFC 3986 dot-segment removal and decoding of unreserved %XX. */
  normalize: boolean;
  mergeSlashes: boolean;
  /** path_with_escaped_slashes_action for %2F and %5C. */
  escapedSlashes: 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';
}

export type RouteSource = { kind: 'rds'; name: string } | { kind: 'inline'; config: RouteConfiguration };

export interface HttpConnectionManager {
  statPrefix: string;
  /** codec_type: AUTO tells HTTP/1.1 from HTTP/2 (h2c prior knowledge) on the first bytes. */
  codec: 'AUTO' | 'HTTP1' | 'HTTP2';
  /** http2_protocol_options.max_concurrent_streams (0: the codec's default). */
  http2MaxConcurrentStreams: number;
  routes: RouteSource;
  /** In order; the router is always last. */
  httpFilters: HttpFilterConfig[];
  /** Downstream connection idle timeout (common_http_protocol_options.idle_timeout; Envoy default 1 h). */
  idleTimeoutMs: number;
  /** Whole-request timeout (request_timeout; 0: none, Envoy's default). */
  requestTimeoutMs: number;
  /** Time to receive the request head (request_headers_timeout; Envoy: 0 = none; here unset = 60 s bound). */
  requestHeadersTimeoutMs: number;
  /** No bytes either way on a stream for this long ends it (stream_idle_timeout; Envoy default 5 min; 0: off). */
  streamIdleTimeoutMs: number;
  /** Requests served on one downstream connection before it is closed (0: unlimited). */
  maxRequestsPerConnection: number;
  generateRequestId: boolean;
  path: PathNormalization;
  /** upgrade_configs: the upgrade types (lower-case, e.g. `websocket`) this HCM lets through. */
  upgrades: ReadonlySet<string>;
  /** access_log: filters and formats compiled. */
  accessLog: AccessLogConfig[];
  /** `tracing`: absent, the HCM neither samples nor touches trace headers. */
  tracing?: HcmTracing;
}

/** HttpConnectionManager.Tracing as implemented (telemetry/tracing/). Percentages are 0–100. */
export interface HcmTracing {
  /** Requests with x-client-trace-id are sampled at this rate (Envoy default 100). */
  clientSampling: number;
  /** Requests with no sampling decision from upstream are sampled at this rate (default 100). */
  randomSampling: number;
  /** A cap applied after the other two decisions (default 100). */
  overallSampling: number;
  /** http.url is cut to this many characters (default 256). */
  maxPathTagLength: number;
  customTags: TracingCustomTag[];
  /** true: a SERVER span for the downstream side and a CLIENT child for the upstream request. */
  spawnUpstreamSpan: boolean;
  /** Absent: the context is propagated, no span is reported. */
  provider: TraceProvider | undefined;
}

export type TracingCustomTag =
  | { tag: string; kind: 'literal'; value: string }
  | { tag: string; kind: 'environment'; name: string; defaultValue: string }
  | { tag: string; kind: 'request_header'; name: string; defaultValue: string };

/** envoy.config.trace.v3.OpenTelemetryConfig: OTLP to a host of an xDS cluster. */
export interface TraceProvider {
  /** Tracing.Http.name (e.g. envoy.tracers.opentelemetry). */
  name: string;
  /** The resource's service.name ('' : Envoy's unknown_service:envoy). */
  serviceName: string;
  exporter: OtlpExporterConfig;
}

export type OtlpExporterConfig =
  /** http_service: OTLP/HTTP protobuf POSTed to `path` of a host of `cluster`. */
  | { kind: 'http'; cluster: string; authority: string; path: string; timeoutMs: number; headers: ReadonlyArray<readonly [string, string]> }
  /** grpc_service.envoy_grpc: OTLP/gRPC TraceService/Export to a host of `cluster`. */
  | { kind: 'grpc'; cluster: string; authority: string; timeoutMs: number; headers: ReadonlyArray<readonly [string, string]> };

/** envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy as implemented. */
export interface TcpProxy {
  statPrefix: string;
  cluster: ClusterSpecifier;
  /** No bytes either way for this long closes both sides (Envoy default 1 h; 0: off). */
  idleTimeoutMs: number;
  /** Upstream connection attempts before the downstream connection is closed (Envoy default 1). */
  maxConnectAttempts: number;
  /** hash_policy [{source_ip}]: consistent-hash clusters pick by the client's address. */
  hashSourceIp: boolean;
  /** An istio.stats network filter precedes it in the chain: report Istio's TCP metrics, with its
   * overrides (absent: no stats filter). */
  istioStats: StatsConfig | undefined;
  /** access_log: one line per connection, when it closes. */
  accessLog: AccessLogConfig[];
}

/** The terminal network filter of a chain: siblings, as in Envoy. */
export type NetworkFilter = { kind: 'http_connection_manager'; hcm: HttpConnectionManager } | { kind: 'tcp_proxy'; tcp: TcpProxy };

// ---------- TLS (envoy.transport_sockets.tls) ----------

/** Where a certificate or trust bundle comes from: inline in the config, or an SDS secret by name
 * (`ads`: over the ADS stream; `agent`: the proxy's identity agent, Istio's `sds-grpc` cluster). */
export type SecretSource =
  | { kind: 'inline_certificate'; certificateChain: string; privateKey: string }
  | { kind: 'inline_validation'; trustedCa: string }
  | { kind: 'sds'; name: string; provider: 'ads' | 'agent' };

/** A match_typed_subject_alt_names entry (URI or DNS SAN; exact or prefix, as Istio emits). */
export interface SanMatcher {
  type: 'URI' | 'DNS';
  matcher: StringMatcher;
}

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** CommonTlsContext as implemented: identity, peer validation, ALPN and tls_params. */
export interface CommonTlsContext {
  /** tls_certificates (inline) or tls_certificate_sds_secret_configs: at most one here. */
  certificate: SecretSource | undefined;
  /** validation_context, or combined_validation_context's default plus its SDS trust bundle. */
  validation: { trustedCa: SecretSource | undefined; subjectAltNames: SanMatcher[] } | undefined;
  alpnProtocols: string[];
  minVersion: TlsVersion | undefined;
  maxVersion: TlsVersion | undefined;
  /** OpenSSL cipher list ('' : Node's default). */
  ciphers: string;
  /** ecdh_curves joined by ':' ('' : Node's default). */
  ecdhCurves: string;
}

/** The chain's transport socket: the socket itself, or TLS terminated here (DownstreamTlsContext). */
export type DownstreamTransport = { kind: 'raw_buffer' } | { kind: 'tls'; context: CommonTlsContext; requireClientCertificate: boolean };

/** A network filter that runs before the chain's terminal (envoy.filters.network.rbac today). */
export type ReadNetworkFilter = { kind: 'rbac'; name: string; config: NetworkRbacConfig };

export interface FilterChain {
  name: string;
  match: FilterChainMatch;
  transport: DownstreamTransport;
  terminal: NetworkFilter;
  /** Filters before the terminal, in order; absent: none. */
  readFilters?: ReadNetworkFilter[];
}

/** Listener filters run on each accepted connection before the chain is chosen. */
export type ListenerFilter = { kind: 'http_inspector' } | { kind: 'tls_inspector' } | { kind: 'original_dst' };

/** Envoy's traffic_direction: which side of the workload the listener serves (telemetry's reporter). */
export type TrafficDirection = 'INBOUND' | 'OUTBOUND' | 'UNSPECIFIED';

export interface Listener {
  name: string;
  address: SocketAddress;
  trafficDirection: TrafficDirection;
  listenerFilters: ListenerFilter[];
  /** How long listener filters may wait for the first bytes (listener_filters_timeout; Envoy default 15 s; 0: no limit). */
  listenerFiltersTimeoutMs: number;
  /** On that timeout, choose a chain with what is known (true) or close the connection (false, Envoy's default). */
  continueOnListenerFiltersTimeout: boolean;
  filterChains: FilterChain[];
  defaultFilterChain: FilterChain | undefined;
  /** use_original_dst: a connection whose original destination (restored by the original_dst
   * listener filter) is another listener's address is handed to that listener. */
  useOriginalDst: boolean;
  /** bind_to_port false: no socket of its own; it only takes connections handed over by a
   * use_original_dst listener (Istio's per-service outbound listeners). */
  bindToPort: boolean;
}

// ---------- CDS / EDS ----------

export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
/** CLUSTER_PROVIDED: the cluster picks its own host (ORIGINAL_DST, and only it). */
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'CLUSTER_PROVIDED';

/** An ORIGINAL_DST cluster's settings: hosts are made per original destination and forgotten when unused. */
export interface OriginalDstConfig {
  /** original_dst_lb_config.use_http_header: the header (when present) names the host. */
  useHttpHeader: boolean;
  /** http_header_name (Envoy's default x-envoy-original-dst-host), lower-case. */
  httpHeaderName: string;
  /** upstream_port_override: connect to this port instead of the original one. */
  portOverride: number | undefined;
  /** cleanup_interval: hosts unused for this long are removed (Envoy default 5 s). */
  cleanupIntervalMs: number;
}

/** The lb_config oneof, slow start and common_lb_config parts the balancers read. */
export interface ClusterLbConfig {
  ringHash: { minimumRingSize: number; maximumRingSize: number };
  maglevTableSize: number;
  /** LEAST_REQUEST active_request_bias (Envoy default 1). */
  activeRequestBias: number;
  slowStart: { windowMs: number; aggression: number; minWeightPercent: number } | undefined;
  /** common_lb_config.locality_weighted_lb_config. */
  localityWeighted: boolean;
}

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

/** HTTP/1.1, HTTP/2 (h2c), or whatever the downstream spoke. */
export type UpstreamHttpProtocol = 'http1' | 'http2' | 'downstream';

/** A cluster's transport socket: plaintext, or TLS originated here (UpstreamTlsContext). */
export type UpstreamTransport = { kind: 'plaintext' } | { kind: 'tls'; context: CommonTlsContext; sni: string };

/** transport_socket_matches: the first whose `match` is a subset of an endpoint's
 * filter_metadata["envoy.transport_socket_match"] gives its transport socket. */
export interface TransportSocketMatch {
  name: string;
  match: Readonly<Record<string, string>>;
  transport: UpstreamTransport;
}

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
  lb: ClusterLbConfig;
  dnsRefreshMs: number;
  dnsFamily: 0 | 4 | 6;
  circuitBreakers: CircuitBreakers;
  outlierDetection: OutlierDetection | undefined;
  /** common_lb_config.healthy_panic_threshold in percent (Envoy default 50; 0 disables panic). */
  healthyPanicThreshold: number;
  connectionOptions: UpstreamConnectionOptions;
  /** The default transport socket (used by endpoints no transport_socket_matches entry fits). */
  transport: UpstreamTransport;
  transportMatches: TransportSocketMatch[];
  httpProtocol: UpstreamHttpProtocol;
  /** Streams per HTTP/2 session this side opens at most (0: the peer's SETTINGS limit). */
  http2MaxConcurrentStreams: number;
  /** Present on ORIGINAL_DST clusters. */
  originalDst: OriginalDstConfig | undefined;
  /** upstream_bind_config.source_address: the local address upstream sockets bind (Istio's 127.0.0.6). */
  upstreamBindAddress: string | undefined;
}

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface LbEndpoint {
  /** IP address, or a DNS name for STRICT_DNS / LOGICAL_DNS clusters. */
  host: string;
  port: number;
  health: HealthStatus;
  weight: number;
  priority: number;
  /** The locality group's "region/zone/sub_zone" ('' when unset) and load_balancing_weight (0: unset). */
  locality: string;
  localityWeight: number;
  /** metadata.filter_metadata["envoy.transport_socket_match"] (string values), for transport_socket_matches. */
  transportSocketMatch: Readonly<Record<string, string>>;
  /** metadata.filter_metadata.istio.workload (Istio's "name;namespace;app;version;cluster"): the
   * endpoint's workload, for the destination labels of metrics this side reports. */
  workload?: PeerWorkload;
}

export interface ClusterLoadAssignment {
  clusterName: string;
  endpoints: LbEndpoint[];
  /** policy.overprovisioning_factor in percent (Envoy's default 140). */
  overprovisioningFactor: number;
}

/** A validated resource of each xDS type. */
export interface ModelByType {
  listener: Listener;
  route: RouteConfiguration;
  virtualHost: VirtualHost;
  cluster: Cluster;
  endpoint: ClusterLoadAssignment;
  secret: SecretResource;
}

/** envoy.extensions.transport_sockets.tls.v3.Secret as implemented. */
export interface SecretResource {
  name: string;
  secret: Secret;
}
