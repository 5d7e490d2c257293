// Validation of the resilience fields of Cluster and RetryPolicy (through a real protobuf round
// trip): what each becomes in the model, and that every field not implemented is a NACK naming it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { validateResource } from '../../src/proxy/xds/decode.js';
import type { Cluster, ForwardAction, RetryPolicy, RouteConfiguration } from '../../src/proxy/xds/model.js';

const eds = (extra: object = {}) => ({ name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, ...extra });
const routeWithRetry = (retry_policy: object) => ({
  name: 'r',
  virtual_hosts: [{ name: 'v', domains: ['a'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', retry_policy } }] }],
});

function cluster(extra: object): { cluster?: Cluster; errors: string[] } {
  const v = validateResource('cluster', unpackAny(packAny(TypeUrl.cluster, eds(extra))));
  return v.valid ? { cluster: v.result as Cluster, errors: [] } : { errors: v.errors };
}

function retry(policy: object): { retry?: RetryPolicy; errors: string[] } {
  const v = validateResource('route', unpackAny(packAny(TypeUrl.route, routeWithRetry(policy))));
  if (!v.valid) return { errors: v.errors };
  return { retry: ((v.result as RouteConfiguration).virtualHosts[0].routes[0].action as ForwardAction).retry, errors: [] };
}

describe('cluster resilience fields', () => {
  it('circuit breakers: every threshold, and a retry budget with Envoy defaults', () => {
    const { cluster: c, errors } = cluster({
      circuit_breakers: {
        thresholds: [
          { max_connections: { value: 1 }, max_pending_requests: { value: 2 }, max_requests: { value: 3 }, max_retries: { value: 4 }, retry_budget: {}, track_remaining: true },
          { priority: 'HIGH', max_connections: { value: 99 } },
        ],
      },
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(c!.circuitBreakers, { maxConnections: 1, maxPendingRequests: 2, maxRequests: 3, maxRetries: 4, retryBudget: { percent: 20, minConcurrency: 3 } });
  });

  it('outlier detection with Envoy defaults, success rate switched off', () => {
    const { cluster: c, errors } = cluster({ outlier_detection: { consecutive_5xx: { value: 3 }, enforcing_success_rate: {}, base_ejection_time: { nanos: 200_000_000 } } });
    assert.deepEqual(errors, []);
    assert.deepEqual(c!.outlierDetection, {
      intervalMs: 10_000,
      baseEjectionTimeMs: 200,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 10,
      consecutive5xx: 3,
      enforcingConsecutive5xx: 100,
      consecutiveGatewayFailure: 5,
      enforcingConsecutiveGatewayFailure: 0,
      splitExternalLocalOriginErrors: false,
      consecutiveLocalOriginFailure: 5,
      enforcingConsecutiveLocalOriginFailure: 100,
    });
    assert.equal(c!.healthyPanicThreshold, 50, 'Envoy default panic threshold');
  });

  it('panic threshold and upstream connection options', () => {
    const { cluster: c, errors } = cluster({
      outlier_detection: { enforcing_success_rate: {} },
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
      common_http_protocol_options: { idle_timeout: { seconds: 5 }, max_requests_per_connection: { value: 10 } },
      upstream_connection_options: { tcp_keepalive: { keepalive_time: { value: 30 } } },
    });
    assert.deepEqual(errors, []);
    assert.equal(c!.healthyPanicThreshold, 0);
    assert.deepEqual(c!.connectionOptions, { idleTimeoutMs: 5000, maxRequestsPerConnection: 10, tcpKeepaliveTimeMs: 30_000 });
    assert.deepEqual(cluster({}).cluster!.connectionOptions, { idleTimeoutMs: 3_600_000, maxRequestsPerConnection: 0, tcpKeepaliveTimeMs: undefined });
  });

  const nacks: { name: string; extra: object; error: RegExp }[] = [
    { name: 'success-rate ejection left on (Envoy default)', extra: { outlier_detection: { consecutive_5xx: { value: 3 } } }, error: /outlier_detection\.enforcing_success_rate: success-rate ejection is not implemented/ },
    { name: 'failure-percentage ejection', extra: { outlier_detection: { enforcing_success_rate: {}, enforcing_failure_percentage: { value: 50 } } }, error: /outlier_detection\.enforcing_failure_percentage: not implemented/ },
    { name: 'unknown outlier field', extra: { outlier_detection: { enforcing_success_rate: {}, success_rate_minimum_hosts: { value: 3 } } }, error: /outlier_detection\.success_rate_minimum_hosts: not supported/ },
    { name: 'per-host thresholds', extra: { circuit_breakers: { per_host_thresholds: [{ max_connections: { value: 1 } }] } }, error: /circuit_breakers\.per_host_thresholds: not supported/ },
    { name: 'max_connection_pools', extra: { circuit_breakers: { thresholds: [{ max_connection_pools: { value: 1 } }] } }, error: /circuit_breakers\.thresholds\[0\]\.max_connection_pools: not supported/ },
    { name: 'retry budget above 100 %', extra: { circuit_breakers: { thresholds: [{ retry_budget: { budget_percent: { value: 120 } } }] } }, error: /retry_budget\.budget_percent: 120 is not a percentage/ },
    { name: 'keepalive probes', extra: { upstream_connection_options: { tcp_keepalive: { keepalive_probes: { value: 3 } } } }, error: /tcp_keepalive\.keepalive_probes: not supported/ },
    { name: 'max_connection_duration', extra: { common_http_protocol_options: { max_connection_duration: { seconds: 1 } } }, error: /common_http_protocol_options\.max_connection_duration: not supported/ },
    { name: 'panic threshold above 100', extra: { common_lb_config: { healthy_panic_threshold: { value: 101 } } }, error: /healthy_panic_threshold: 101 is not a percentage/ },
  ];
  for (const t of nacks) {
    it(`NACKs ${t.name}`, () => {
      const { errors } = cluster(t.extra);
      assert.ok(errors.some((e) => t.error.test(e)), errors.join('\n'));
    });
  }
});

describe('retry policy fields', () => {
  it('back-off, previous hosts and gRPC conditions', () => {
    const { retry: r, errors } = retry({
      retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
      num_retries: { value: 2 },
      retriable_status_codes: [503],
      retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
      host_selection_retry_max_attempts: 5,
      retry_back_off: { base_interval: { nanos: 10_000_000 } },
    });
    assert.deepEqual(errors, []);
    assert.equal(r!.numRetries, 2);
    assert.deepEqual(r!.on.grpcStatuses, [14, 1]);
    assert.equal(r!.on.refusedStream, true);
    assert.equal(r!.on.connectFailure, true);
    assert.equal(r!.avoidPreviousHosts, true);
    assert.equal(r!.hostSelectionMaxAttempts, 5);
    assert.deepEqual(r!.backOff, { baseMs: 10, maxMs: 100 }, 'max defaults to 10 × base');
  });

  it('Envoy defaults: 25 ms base back-off, no host predicate', () => {
    const { retry: r } = retry({ retry_on: '5xx' });
    assert.deepEqual(r!.backOff, { baseMs: 25, maxMs: 250 });
    assert.equal(r!.avoidPreviousHosts, false);
  });

  const nacks: { name: string; policy: object; error: RegExp }[] = [
    { name: 'another host predicate', policy: { retry_host_predicate: [{ name: 'envoy.retry_host_predicates.omit_canary_hosts' }] }, error: /retry_host_predicate\[0\]: retry host predicate "envoy.retry_host_predicates.omit_canary_hosts" is not supported/ },
    { name: 'retry priority', policy: { retry_priority: { name: 'envoy.retry_priorities.previous_priorities' } }, error: /retry_policy\.retry_priority: not supported/ },
    { name: 'rate-limited back-off', policy: { rate_limited_retry_back_off: { reset_headers: [{ name: 'retry-after' }] } }, error: /retry_policy\.rate_limited_retry_back_off: not supported/ },
    { name: 'max back-off below base', policy: { retry_back_off: { base_interval: { seconds: 1 }, max_interval: { nanos: 500_000_000 } } }, error: /max_interval: must not be less than base_interval/ },
  ];
  for (const t of nacks) {
    it(`NACKs ${t.name}`, () => {
      const { errors } = retry(t.policy);
      assert.ok(errors.some((e) => t.error.test(e)), errors.join('\n'));
    });
  }
});
