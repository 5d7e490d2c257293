// DestinationRule connectionPool / outlierDetection / retryBudget and VirtualService retries:
// the Envoy fields each Istio field becomes (table-driven), and the same output run through the
// proxy's own validator into the model the proxy acts on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny, TypeUrl } from '../../src/api/envoy.js';
import { translate } from '../../src/controlplane/translate/index.js';
import { decodeResources } from '../../src/proxy/xds/decode.js';
import type { Cluster, ForwardAction, RetryPolicy } from '../../src/proxy/xds/model.js';
import { configFrom, proxy, snapshot, yaml } from './fixtures.js';

const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';

type Doc = ReturnType<typeof yaml>;
const indent = (text: string, by: string) => text.replace(/^/gm, by);
/** A `reviews` resource of `kind` whose spec is `body` (YAML). */
const resource = (kind: string, body: string): Doc => yaml(`${kind}.yaml`, `apiVersion: networking.istio.io/v1\nkind: ${kind}\nmetadata: { name: reviews }\nspec:\n${indent(body, '  ')}\n`);
const dr = (trafficPolicy: string): Doc => resource('DestinationRule', `host: reviews\ntrafficPolicy:\n${indent(trafficPolicy, '  ')}`);
const vs = (retries: string): Doc => resource('VirtualService', `hosts: [reviews]\nhttp:\n- route: [{ destination: { host: reviews } }]\n  retries:\n${indent(retries, '    ')}`);

function outputFor(...docs: Doc[]) {
  return translate(snapshot(configFrom(...docs)), proxy('productpage', 'v1', 2));
}

function envoyCluster(...docs: Doc[]): Record<string, unknown> {
  return outputFor(...docs).cluster.find((c) => c.name === REVIEWS)!.body;
}

function envoyRetry(...docs: Doc[]): Record<string, unknown> | undefined {
  const rc = outputFor(...docs).route.find((r) => r.name === 'virtualOutbound')!.body as { virtual_hosts: { name: string; routes: { route?: { retry_policy?: object } }[]; retry_policy?: object }[] };
  const vh = rc.virtual_hosts.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
  return (vh.routes[0].route?.retry_policy ?? vh.retry_policy) as Record<string, unknown> | undefined;
}

/** The proxy's model of what the control plane sent (decoded and validated as a proxy would). */
function proxyModel(...docs: Doc[]): { cluster: Cluster; retry: RetryPolicy | undefined } {
  const out = outputFor(...docs);
  const clusters = decodeResources('cluster', out.cluster.map((c) => packAny(TypeUrl.cluster, c.body)));
  assert.ok(clusters.valid, `the proxy NACKs the clusters: ${!clusters.valid && clusters.errors.join('; ')}`);
  const routes = decodeResources('route', out.route.map((r) => packAny(TypeUrl.route, r.body)));
  assert.ok(routes.valid, `the proxy NACKs the routes: ${!routes.valid && routes.errors.join('; ')}`);
  const vh = routes.result.find((r) => r.name === 'virtualOutbound')!.model.virtualHosts.find((v) => v.name === 'reviews.default.svc.cluster.local:9080')!;
  return { cluster: clusters.result.find((c) => c.name === REVIEWS)!.model, retry: (vh.routes[0].action as ForwardAction).retry };
}

const UNLIMITED = { value: 4294967295 };
const unlimitedWithBudget = (percent: number) => ({
  max_connections: UNLIMITED,
  max_pending_requests: UNLIMITED,
  max_requests: UNLIMITED,
  max_retries: UNLIMITED,
  track_remaining: true,
  retry_budget: { budget_percent: { value: percent }, min_retry_concurrency: { value: 3 } },
});

describe('DestinationRule → Envoy cluster fields', () => {
  const cases: { name: string; policy: string; want: Record<string, unknown> }[] = [
    {
      name: 'nothing set: Istio unlimited thresholds plus a 20 % retry budget',
      policy: 'loadBalancer: { simple: ROUND_ROBIN }',
      want: {
        circuit_breakers: { thresholds: [unlimitedWithBudget(20)] },
      },
    },
    {
      name: 'connectionPool: every field',
      policy: `connectionPool:
  tcp: { maxConnections: 1, connectTimeout: 250ms, tcpKeepalive: { time: 30s } }
  http: { http1MaxPendingRequests: 2, http2MaxRequests: 3, maxRetries: 4, maxRequestsPerConnection: 5, idleTimeout: 60s }`,
      want: {
        connect_timeout: { seconds: 0, nanos: 250_000_000 },
        circuit_breakers: {
          thresholds: [{ max_connections: { value: 1 }, max_pending_requests: { value: 2 }, max_requests: { value: 3 }, max_retries: { value: 4 }, track_remaining: true }],
        },
        common_http_protocol_options: { idle_timeout: { seconds: 60, nanos: 0 }, max_requests_per_connection: { value: 5 } },
        upstream_connection_options: { tcp_keepalive: { keepalive_time: { value: 30 } } },
      },
    },
    {
      name: 'retryBudget with Istio defaults',
      policy: 'retryBudget: { percent: 25 }',
      want: {
        circuit_breakers: { thresholds: [unlimitedWithBudget(25)] },
      },
    },
    {
      name: 'outlierDetection: consecutive errors, times, cap, panic threshold',
      policy: `outlierDetection: { consecutive5xxErrors: 3, consecutiveGatewayErrors: 2, interval: 1s, baseEjectionTime: 200ms, maxEjectionPercent: 50, minHealthPercent: 30 }`,
      want: {
        outlier_detection: {
          enforcing_success_rate: { value: 0 },
          consecutive_5xx: { value: 3 },
          enforcing_consecutive_5xx: { value: 100 },
          consecutive_gateway_failure: { value: 2 },
          enforcing_consecutive_gateway_failure: { value: 100 },
          interval: { seconds: 1, nanos: 0 },
          base_ejection_time: { seconds: 0, nanos: 200_000_000 },
          max_ejection_percent: { value: 50 },
        },
        common_lb_config: { healthy_panic_threshold: { value: 30 } },
      },
    },
    {
      name: 'deprecated consecutiveErrors: gateway errors only, as Istio translated it',
      policy: 'outlierDetection: { consecutiveErrors: 4 }',
      want: {
        outlier_detection: {
          enforcing_success_rate: { value: 0 },
          consecutive_gateway_failure: { value: 4 },
          enforcing_consecutive_gateway_failure: { value: 100 },
          enforcing_consecutive_5xx: { value: 0 },
        },
      },
    },
    {
      name: 'outlierDetection: local-origin failures counted apart; panic off by default',
      policy: 'outlierDetection: { consecutiveLocalOriginFailures: 2, splitExternalLocalOriginErrors: true }',
      want: {
        outlier_detection: {
          enforcing_success_rate: { value: 0 },
          split_external_local_origin_errors: true,
          consecutive_local_origin_failure: { value: 2 },
          enforcing_consecutive_local_origin_failure: { value: 100 },
          enforcing_local_origin_success_rate: { value: 0 },
        },
        common_lb_config: { healthy_panic_threshold: { value: 0 } },
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const body = envoyCluster(dr(c.policy));
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(body[k], v, k);
    });
  }
});

describe('VirtualService retries → Envoy retry_policy', () => {
  const previousHosts = { retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }], host_selection_retry_max_attempts: 5 };
  const cases: { name: string; retries?: string; want: Record<string, unknown> | undefined }[] = [
    {
      name: 'none: Istio default on the virtual host',
      want: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: { value: 2 }, retriable_status_codes: [503], ...previousHosts },
    },
    {
      name: 'attempts only: the default conditions',
      retries: 'attempts: 3',
      want: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: { value: 3 }, retriable_status_codes: [503], ...previousHosts },
    },
    {
      name: 'retryOn with status codes, gRPC conditions, perTryTimeout, backoff',
      retries: 'attempts: 4\nretryOn: 5xx,deadline-exceeded,429\nperTryTimeout: 2s\nbackoff: 50ms',
      want: {
        retry_on: '5xx,deadline-exceeded,retriable-status-codes',
        num_retries: { value: 4 },
        retriable_status_codes: [429],
        ...previousHosts,
        per_try_timeout: { seconds: 2, nanos: 0 },
        retry_back_off: { base_interval: { seconds: 0, nanos: 50_000_000 } },
      },
    },
    {
      name: 'retryIgnorePreviousHosts: false drops the host predicate',
      retries: 'attempts: 2\nretryIgnorePreviousHosts: false',
      want: { retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', num_retries: { value: 2 }, retriable_status_codes: [503] },
    },
    { name: 'attempts 0 turns retries off', retries: 'attempts: 0', want: { num_retries: { value: 0 } } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const docs = c.retries === undefined ? [] : [vs(c.retries)];
      assert.deepEqual(envoyRetry(...docs), c.want);
    });
  }

  it('consistent hashing: retries stay on the hashed host (no previous-hosts predicate)', () => {
    const hashed = dr('loadBalancer: { consistentHash: { httpHeaderName: x-user } }');
    assert.equal(envoyRetry(hashed)?.retry_host_predicate, undefined, 'the default');
    assert.equal(envoyRetry(hashed, vs('attempts: 3'))?.retry_host_predicate, undefined, 'a route of its own');
    assert.equal(envoyRetry(hashed, vs('attempts: 3'))?.num_retries !== undefined, true);
  });
});

describe('control plane → proxy: the translated resilience config is what the proxy runs', () => {
  it('a DestinationRule and retries become the proxy model without a NACK', () => {
    const { cluster, retry } = proxyModel(
      dr(`connectionPool:
  tcp: { maxConnections: 10, tcpKeepalive: { time: 60s } }
  http: { http1MaxPendingRequests: 5, maxRequestsPerConnection: 100, idleTimeout: 30s }
outlierDetection: { consecutive5xxErrors: 3, interval: 100ms, baseEjectionTime: 200ms, maxEjectionPercent: 100 }
retryBudget: { percent: 10, minRetryConcurrency: 2 }`),
      vs('attempts: 3\nretryOn: gateway-error,unavailable,503\nperTryTimeout: 1s'),
    );
    assert.deepEqual(cluster.circuitBreakers, { maxConnections: 10, maxPendingRequests: 5, maxRequests: 4294967295, maxRetries: 4294967295, retryBudget: { percent: 10, minConcurrency: 2 } });
    assert.deepEqual(cluster.connectionOptions, { idleTimeoutMs: 30_000, maxRequestsPerConnection: 100, tcpKeepaliveTimeMs: 60_000 });
    assert.equal(cluster.outlierDetection?.consecutive5xx, 3);
    assert.equal(cluster.outlierDetection?.baseEjectionTimeMs, 200);
    assert.equal(cluster.outlierDetection?.intervalMs, 100);
    assert.equal(cluster.outlierDetection?.maxEjectionPercent, 100);
    assert.equal(cluster.healthyPanicThreshold, 0, "Istio's minHealthPercent default: no panic");
    assert.equal(retry?.numRetries, 3);
    assert.equal(retry?.on.gatewayError, true);
    assert.deepEqual(retry?.on.grpcStatuses, [14]);
    assert.deepEqual(retry?.retriableStatusCodes, [503]);
    assert.equal(retry?.avoidPreviousHosts, true);
    assert.equal(retry?.hostSelectionMaxAttempts, 5);
    assert.deepEqual(retry?.backOff, { baseMs: 25, maxMs: 250 }, "Envoy's default back-off");
  });
});
