// Config validation of the resilience fields: DestinationRule connectionPool, outlierDetection and
// retryBudget, VirtualService retries. Errors name the field; what the proxy cannot do is
// WEFT_E_UNSUPPORTED rather than silently dropped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DestinationRule, VirtualService } from '../../src/config/types.js';
import { assertHasError, onlyResource, parseSpec, type WantError } from './helpers.js';

const dr = (trafficPolicy: Record<string, unknown>) => ({ host: 'reviews', trafficPolicy });
const vs = (retries: Record<string, unknown>) => ({ hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }], retries }] });

describe('resilience config: what is read', () => {
  it('retryBudget, tcpKeepalive time and local-origin outlier settings', () => {
    const d = onlyResource(
      parseSpec(
        'DestinationRule',
        dr({
          retryBudget: { percent: 12.5, minRetryConcurrency: 4 },
          connectionPool: { tcp: { tcpKeepalive: { time: '30s' } } },
          outlierDetection: { consecutiveLocalOriginFailures: 2, splitExternalLocalOriginErrors: true },
        }),
      ),
    ) as DestinationRule;
    const tp = d.spec.trafficPolicy!;
    assert.deepEqual(tp.retryBudget, { percent: 12.5, minRetryConcurrency: 4 });
    assert.deepEqual(tp.connectionPool?.tcp?.tcpKeepalive, { timeMs: 30_000 });
    assert.equal(tp.outlierDetection?.consecutiveLocalOriginFailures, 2);
    assert.equal(tp.outlierDetection?.splitExternalLocalOriginErrors, true);
  });

  it('retries: backoff and retryIgnorePreviousHosts', () => {
    const v = onlyResource(parseSpec('VirtualService', vs({ attempts: 2, backoff: '50ms', retryIgnorePreviousHosts: false }))) as VirtualService;
    assert.deepEqual(v.spec.http[0].retries, { attempts: 2, backoffMs: 50, retryIgnorePreviousHosts: false });
  });
});

describe('resilience config: errors name the field', () => {
  const cases: Array<{ name: string; kind: string; spec: unknown; error: WantError }> = [
    { name: 'retry budget over 100 %', kind: 'DestinationRule', spec: dr({ retryBudget: { percent: 120 } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.trafficPolicy.retryBudget.percent', message: /got 120/ } },
    { name: 'retry budget unknown field', kind: 'DestinationRule', spec: dr({ retryBudget: { budget: 1 } }), error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.trafficPolicy.retryBudget.budget', message: /./ } },
    { name: 'keepalive probes', kind: 'DestinationRule', spec: dr({ connectionPool: { tcp: { tcpKeepalive: { probes: 3 } } } }), error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probes', message: /only time/ } },
    { name: 'max connection duration', kind: 'DestinationRule', spec: dr({ connectionPool: { tcp: { maxConnectionDuration: '1h' } } }), error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration', message: /not supported/ } },
    { name: 'HTTP/2 max concurrent streams out of range', kind: 'DestinationRule', spec: dr({ connectionPool: { http: { maxConcurrentStreams: -1 } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.trafficPolicy.connectionPool.http.maxConcurrentStreams', message: /.+/ } },
    { name: 'retry in remote localities', kind: 'VirtualService', spec: vs({ attempts: 2, retryRemoteLocalities: true }), error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.http[0].retries.retryRemoteLocalities', message: /remote localities/ } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assertHasError(parseSpec(c.kind, c.spec), c.error);
    });
  }
});
