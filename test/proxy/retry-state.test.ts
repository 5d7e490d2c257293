// Retry decisions, back-off, host selection and the retry circuit breaker (max_retries and budget).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grpcStatusOf, RetryState, type AttemptOutcome } from '../../src/proxy/http/retry-state.js';
import { ClusterResources, type OverflowStats } from '../../src/proxy/upstream/circuit-breaker.js';
import type { CircuitBreakers, RetryOn, RetryPolicy } from '../../src/proxy/xds/model.js';
import { noRetryConditions } from '../../src/proxy/xds/validate-resilience.js';

function policy(on: Partial<RetryOn>, extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    on: { ...noRetryConditions(), ...on },
    numRetries: 2,
    perTryTimeoutMs: 0,
    retriableStatusCodes: [],
    backOff: { baseMs: 25, maxMs: 250 },
    avoidPreviousHosts: false,
    hostSelectionMaxAttempts: 1,
    ...extra,
  };
}

const limits = (extra: Partial<CircuitBreakers> = {}): CircuitBreakers => ({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, retryBudget: undefined, ...extra });
const newStats = (): OverflowStats => ({ upstream_cx_overflow: 0, upstream_rq_pending_overflow: 0, upstream_rq_retry_overflow: 0 });
const retryStats = () => ({ upstream_rq_retry: 0, upstream_rq_retry_success: 0, upstream_rq_retry_limit_exceeded: 0 });
const status = (s: number, grpc?: number): AttemptOutcome => ({ kind: 'response', status: s, grpcStatus: grpc });

describe('retry state', () => {
  const cases: { name: string; on: Partial<RetryOn>; codes?: number[]; outcome: AttemptOutcome; want: 'retry' | 'no' }[] = [
    { name: '5xx retries 500', on: { status5xx: true }, outcome: status(500), want: 'retry' },
    { name: '5xx retries a reset', on: { status5xx: true }, outcome: { kind: 'failure', failure: 'reset' }, want: 'retry' },
    { name: 'gateway-error skips 500', on: { gatewayError: true }, outcome: status(500), want: 'no' },
    { name: 'gateway-error retries 504', on: { gatewayError: true }, outcome: status(504), want: 'retry' },
    { name: 'connect-failure retries connect', on: { connectFailure: true }, outcome: { kind: 'failure', failure: 'connect' }, want: 'retry' },
    { name: 'connect-failure skips a reset', on: { connectFailure: true }, outcome: { kind: 'failure', failure: 'reset' }, want: 'no' },
    { name: 'retriable-4xx is 409 only', on: { retriable4xx: true }, outcome: status(404), want: 'no' },
    { name: 'retriable-status-codes', on: { retriableStatusCodes: true }, codes: [418], outcome: status(418), want: 'retry' },
    { name: 'codes without the condition', on: {}, codes: [503], outcome: status(503), want: 'no' },
    { name: 'gRPC unavailable from grpc-status', on: { grpcStatuses: [14] }, outcome: status(200, 14), want: 'retry' },
    { name: 'gRPC other status', on: { grpcStatuses: [14] }, outcome: status(200, 2), want: 'no' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rs = new RetryState(policy(c.on, { retriableStatusCodes: c.codes ?? [] }), new ClusterResources(limits(), newStats()), retryStats(), () => 0.5);
      assert.equal(rs.decide(c.outcome), c.want);
    });
  }

  it('stops after num_retries, counting retries, limit exceeded and success after a retry', () => {
    const stats = retryStats();
    const rs = new RetryState(policy({ status5xx: true }), new ClusterResources(limits(), newStats()), stats, () => 0.5);
    assert.deepEqual([rs.decide(status(503)), rs.decide(status(503)), rs.decide(status(503))], ['retry', 'retry', 'exhausted']);
    const ok = new RetryState(policy({ status5xx: true }), new ClusterResources(limits(), newStats()), stats, () => 0.5);
    assert.deepEqual([ok.decide(status(503)), ok.decide(status(200))], ['retry', 'no']);
    assert.deepEqual(stats, { upstream_rq_retry: 3, upstream_rq_retry_success: 1, upstream_rq_retry_limit_exceeded: 1 });
  });

  it('jittered exponential back-off: windows base, 2·base, 4·base … capped', () => {
    const rs = new RetryState(policy({ status5xx: true }, { backOff: { baseMs: 25, maxMs: 60 } }), new ClusterResources(limits(), newStats()), retryStats(), () => 0.999);
    assert.deepEqual([rs.backOffMs(), rs.backOffMs(), rs.backOffMs(), rs.backOffMs()], [24, 49, 59, 59]);
  });

  it('previous hosts: picks again until an untried host, up to the attempts allowed', () => {
    const order = ['a', 'a', 'a', 'b'];
    const pick = () => order.shift();
    const rs = new RetryState(policy({ status5xx: true }, { avoidPreviousHosts: true, hostSelectionMaxAttempts: 5 }), new ClusterResources(limits(), newStats()), retryStats(), Math.random);
    assert.equal(rs.selectHost(pick, undefined), 'a');
    assert.equal(rs.selectHost(pick, 'a'), 'b');
    const stubborn = new RetryState(policy({}, { avoidPreviousHosts: true, hostSelectionMaxAttempts: 2 }), new ClusterResources(limits(), newStats()), retryStats(), Math.random);
    stubborn.selectHost(() => 'x', undefined);
    let picks = 0;
    assert.equal(stubborn.selectHost(() => (picks++, 'x'), 'x'), 'x', 'the last pick stands');
    assert.equal(picks, 2);
  });

  it('max_retries caps concurrent retries across requests; release frees the slot', () => {
    const stats = newStats();
    const res = new ClusterResources(limits({ maxRetries: 1 }), stats);
    const a = new RetryState(policy({ status5xx: true }), res, retryStats(), () => 0);
    const b = new RetryState(policy({ status5xx: true }), res, retryStats(), () => 0);
    assert.equal(a.decide(status(503)), 'retry');
    assert.equal(b.decide(status(503)), 'overflow');
    assert.equal(stats.upstream_rq_retry_overflow, 1);
    a.release();
    assert.equal(b.decide(status(503)), 'retry');
  });

  it('retry budget: a share of active + pending requests, never below min_retry_concurrency', () => {
    const res = new ClusterResources(limits({ retryBudget: { percent: 20, minConcurrency: 3 } }), newStats());
    assert.equal(res.maxRetries(), 3);
    for (let i = 0; i < 40; i++) res.requests.tryAcquire();
    for (let i = 0; i < 10; i++) res.pending.tryAcquire();
    assert.equal(res.maxRetries(), 10, '20 % of 50');
  });

  it('grpc-status parsing', () => {
    assert.equal(grpcStatusOf('14'), 14);
    assert.equal(grpcStatusOf(undefined), undefined);
    assert.equal(grpcStatusOf('x'), undefined);
  });
});
