// envoy.config.cluster.v3.Cluster → Cluster and envoy.config.endpoint.v3.ClusterLoadAssignment
// → ClusterLoadAssignment (typed).
import { isIP } from 'node:net';
import { clusterLbConfig, lbPolicyProblem } from './validate-lb.js';
import { originalDstOf, upstreamBindAddressOf } from './validate-original-dst.js';
import type { Cluster, ClusterLoadAssignment, DiscoveryType, HealthStatus, LbEndpoint, LbPolicy } from './model.js';
import { upstreamHttpProtocol } from './validate-upstream-protocol.js';
import { durationMs, has, join, list, num, obj, Problems, str, wrapped, type Raw, type ValidationResult } from './validate-common.js';
import { circuitBreakersOf, connectionOptionsOf, healthyPanicThresholdOf, outlierDetectionOf } from './validate-resilience.js';
import { structStrings, TRANSPORT_SOCKET_MATCH_KEY, transportSocketMatches, upstreamTransport } from './validate-tls.js';

const discoveryTypes = new Set<DiscoveryType>(['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST']);
const healthStatuses = new Set<HealthStatus>(['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED']);
const dnsFamilies: Record<string, 0 | 4 | 6> = { AUTO: 0, V4_ONLY: 4, V6_ONLY: 6, V4_PREFERRED: 0, ALL: 0 };

/** Envoy's defaults (cluster.proto / circuit_breaker.proto). */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_DNS_REFRESH_MS = 5_000;
export { defaultCircuitBreakers } from './validate-resilience.js';

export function validateCluster(raw: Raw): ValidationResult<Cluster> {
  const p = new Problems();
  const name = str(raw.name);
  if (!name) p.add('name', 'is required');
  if (has(raw, 'cluster_type')) p.add('cluster_type', `custom cluster type "${str(obj(raw.cluster_type).name)}" is not supported`);
  const typeName = str(raw.type) || 'STATIC';
  const type = typeName as DiscoveryType;
  if (!discoveryTypes.has(type)) p.add('type', `${typeName} is not supported (supported: ${[...discoveryTypes].join(', ')})`);
  const lbName = str(raw.lb_policy) || 'ROUND_ROBIN';
  const lbPolicy = lbName as LbPolicy;
  const lbProblem = lbPolicyProblem(lbName);
  if (lbProblem) p.add('lb_policy', lbProblem);
  const originalDst = originalDstOf(raw, typeName, lbName, p);
  const upstreamBindAddress = upstreamBindAddressOf(raw, p);
  if (has(raw, 'load_balancing_policy')) p.add('load_balancing_policy', 'not supported; use lb_policy');
  const transport = upstreamTransport(obj(raw.transport_socket), 'transport_socket', p);
  const transportMatches = transportSocketMatches(raw.transport_socket_matches, 'transport_socket_matches', p);
  if (has(raw, 'transport_socket_matcher')) p.add('transport_socket_matcher', 'not supported; use transport_socket_matches');
  const upstream = upstreamHttpProtocol(raw, p);
  const { common_http_protocol_options: commonOptions, ...otherOptions } = upstream.rest;
  for (const k of Object.keys(otherOptions)) p.add(`typed_extension_protocol_options[...HttpProtocolOptions].${k}`, 'not supported');
  if (has(raw, 'lb_subset_config') && list(obj(raw.lb_subset_config).subset_selectors).length > 0) p.add('lb_subset_config', 'not supported');

  let edsServiceName: string | undefined;
  if (type === 'EDS') {
    const eds = obj(raw.eds_cluster_config);
    const cs = obj(eds.eds_config);
    if (!has(cs, 'ads') && Object.keys(cs).some((k) => k !== 'resource_api_version' && k !== 'initial_fetch_timeout')) {
      p.add('eds_cluster_config.eds_config', 'only ads config sources are supported');
    }
    edsServiceName = str(eds.service_name) || name;
  }
  let loadAssignment: ClusterLoadAssignment | undefined;
  if (type === 'ORIGINAL_DST') {
    // Its hosts are the original destinations; Envoy refuses endpoints of its own.
    if (has(raw, 'load_assignment') && list(obj(raw.load_assignment).endpoints).length > 0) p.add('load_assignment', 'an ORIGINAL_DST cluster takes no endpoints');
  } else if (type !== 'EDS' && discoveryTypes.has(type)) {
    // Envoy takes a STATIC cluster without endpoints (Istio's BlackHoleCluster): every pick finds none.
    if (!has(raw, 'load_assignment')) {
      if (type !== 'STATIC') p.add('load_assignment', `is required for ${type} clusters`);
    }
    else loadAssignment = loadAssignmentOf(obj(raw.load_assignment), 'load_assignment', p, type === 'STATIC');
    if (type === 'LOGICAL_DNS' && loadAssignment && loadAssignment.endpoints.length !== 1) {
      p.add('load_assignment', 'LOGICAL_DNS clusters take exactly one endpoint');
    }
  }
  const lr = obj(raw.least_request_lb_config);
  const choiceCount = has(lr, 'choice_count') ? wrapped(lr.choice_count, 2) : 2;
  if (choiceCount < 2) p.add('least_request_lb_config.choice_count', 'must be at least 2');
  const family = dnsFamilies[str(raw.dns_lookup_family) || 'AUTO'];
  if (family === undefined) p.add('dns_lookup_family', `unknown value "${str(raw.dns_lookup_family)}"`);
  const result: Cluster = {
    name,
    type,
    edsServiceName,
    loadAssignment,
    connectTimeoutMs: durationMs(raw.connect_timeout, 'connect_timeout', p) ?? DEFAULT_CONNECT_TIMEOUT_MS,
    lbPolicy,
    choiceCount,
    lb: clusterLbConfig(raw, lbPolicy, p),
    dnsRefreshMs: durationMs(raw.dns_refresh_rate, 'dns_refresh_rate', p) || DEFAULT_DNS_REFRESH_MS,
    dnsFamily: family ?? 0,
    circuitBreakers: circuitBreakersOf(obj(raw.circuit_breakers), 'circuit_breakers', p),
    outlierDetection: has(raw, 'outlier_detection') ? outlierDetectionOf(obj(raw.outlier_detection), 'outlier_detection', p) : undefined,
    healthyPanicThreshold: healthyPanicThresholdOf(obj(raw.common_lb_config), 'common_lb_config', p),
    connectionOptions: connectionOptionsOf(raw, commonOptions, p),
    transport,
    transportMatches,
    httpProtocol: upstream.protocol,
    http2MaxConcurrentStreams: upstream.http2MaxConcurrentStreams,
    originalDst,
    upstreamBindAddress,
  };
  if (!p.empty) return { valid: false, errors: p.list.map((e) => `cluster ${name || '(unnamed)'}: ${e}`) };
  return { valid: true, result };
}

export function validateClusterLoadAssignment(raw: Raw): ValidationResult<ClusterLoadAssignment> {
  const p = new Problems();
  const name = str(raw.cluster_name);
  if (!name) p.add('cluster_name', 'is required');
  const result = loadAssignmentOf(raw, '', p, true);
  if (!p.empty) return { valid: false, errors: p.list.map((e) => `endpoint ${name || '(unnamed)'}: ${e}`) };
  return { valid: true, result };
}

function loadAssignmentOf(raw: Raw, path: string, p: Problems, requireIp: boolean): ClusterLoadAssignment {
  const endpoints: LbEndpoint[] = [];
  list(raw.endpoints).forEach((l, li) => {
    const locality = obj(l);
    const lpath = `${join(path, 'endpoints')}[${li}]`;
    const priority = num(locality.priority);
    const loc = localityOf(locality, lpath, p);
    list(locality.lb_endpoints).forEach((e, ei) => {
      const at = `${join(lpath, 'lb_endpoints')}[${ei}]`;
      const lbe = obj(e);
      if (has(lbe, 'endpoint_name')) return p.add(join(at, 'endpoint_name'), 'named endpoints are not supported');
      const ep = obj(lbe.endpoint);
      const sa = obj(obj(ep.address).socket_address);
      const host = str(sa.address);
      const port = num(sa.port_value);
      const aat = join(at, 'endpoint.address.socket_address');
      if (!host) return p.add(join(aat, 'address'), 'is required');
      if (requireIp && isIP(host) === 0) return p.add(join(aat, 'address'), `"${host}" is not an IP address`);
      if (!Number.isInteger(port) || port <= 0 || port > 65535) return p.add(join(aat, 'port_value'), `${port} is not a port`);
      const healthName = str(lbe.health_status) || 'UNKNOWN';
      if (!healthStatuses.has(healthName as HealthStatus)) p.add(join(at, 'health_status'), `unknown value "${healthName}"`);
      const weight = has(lbe, 'load_balancing_weight') ? wrapped(lbe.load_balancing_weight, 1) : 1;
      if (weight < 1) p.add(join(at, 'load_balancing_weight'), 'must be at least 1');
      const transportSocketMatch = socketMatchLabels(lbe, at, p);
      endpoints.push({ host, port, health: healthName as HealthStatus, weight: Math.max(weight, 1), priority, ...loc, transportSocketMatch });
    });
  });
  return { clusterName: str(raw.cluster_name), endpoints, overprovisioningFactor: assignmentPolicy(obj(raw.policy), join(path, 'policy'), p) };
}

/** metadata.filter_metadata["envoy.transport_socket_match"]: what transport_socket_matches compare. */
function socketMatchLabels(lbe: Raw, path: string, p: Problems): Record<string, string> {
  const struct = obj(obj(lbe.metadata).filter_metadata)[TRANSPORT_SOCKET_MATCH_KEY];
  return structStrings(struct, `${join(path, 'metadata.filter_metadata')}["${TRANSPORT_SOCKET_MATCH_KEY}"]`, p);
}

/** LocalityLbEndpoints.locality and load_balancing_weight; proximity and LEDS would change picks. */
function localityOf(raw: Raw, path: string, p: Problems): { locality: string; localityWeight: number } {
  const l = obj(raw.locality);
  for (const k of ['proximity', 'load_balancer_endpoints', 'leds_cluster_locality_config']) if (has(raw, k)) p.add(join(path, k), 'not supported');
  const weight = has(raw, 'load_balancing_weight') ? wrapped(raw.load_balancing_weight, 1) : 0;
  if (has(raw, 'load_balancing_weight') && weight < 1) p.add(join(path, 'load_balancing_weight'), 'must be at least 1');
  const locality = has(raw, 'locality') ? `${str(l.region)}/${str(l.zone)}/${str(l.sub_zone)}` : '';
  return { locality, localityWeight: weight };
}

/** ClusterLoadAssignment.policy: the overprovisioning factor (Envoy's default 140 %); drops would shed load. */
function assignmentPolicy(raw: Raw, path: string, p: Problems): number {
  if (list(raw.drop_overloads).length > 0) p.add(join(path, 'drop_overloads'), 'not supported');
  if (raw.weighted_priority_health === true) p.add(join(path, 'weighted_priority_health'), 'not supported');
  const factor = has(raw, 'overprovisioning_factor') ? wrapped(raw.overprovisioning_factor, 140) : 140;
  if (factor < 1) p.add(join(path, 'overprovisioning_factor'), 'must be at least 1');
  return Math.max(factor, 1);
}
