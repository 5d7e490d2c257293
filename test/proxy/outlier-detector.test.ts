// The outlier detector on a fake clock: which results eject, for how long, and the caps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutlierDetector, type UpstreamResult } from '../../src/proxy/upstream/outlier-detector.js';
import type { OutlierDetection } from '../../src/proxy/xds/model.js';

const base: OutlierDetection = {
  intervalMs: 100,
  baseEjectionTimeMs: 1000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 100,
  consecutive5xx: 3,
  enforcingConsecutive5xx: 100,
  consecutiveGatewayFailure: 2,
  enforcingConsecutiveGatewayFailure: 0,
  splitExternalLocalOriginErrors: false,
  consecutiveLocalOriginFailure: 2,
  enforcingConsecutiveLocalOriginFailure: 100,
};

function setup(config: Partial<OutlierDetection> = {}, hosts = ['a', 'b', 'c', 'd']) {
  const clock = { t: 0 };
  let changes = 0;
  const d = new OutlierDetector({ ...base, ...config }, { now: () => clock.t, random: () => 0.5, onChange: () => changes++ });
  d.setHosts(hosts);
  const put = (host: string, r: UpstreamResult, times = 1) => {
    for (let i = 0; i < times; i++) d.putResult(host, r);
  };
  return { d, clock, put, changes: () => changes };
}

const http = (status: number): UpstreamResult => ({ kind: 'http', status });

describe('outlier detector', () => {
  it('ejects after consecutive 5xx; a success in between resets the streak', () => {
    const { d, put, changes } = setup();
    put('a', http(500), 2);
    put('a', http(200));
    put('a', http(500), 2);
    assert.equal(d.isEjected('a'), false);
    put('a', http(500));
    assert.equal(d.isEjected('a'), true);
    assert.equal(changes(), 1);
    assert.equal(d.stats.ejections_enforced_consecutive_5xx, 1);
    assert.equal(d.stats.ejections_active, 1);
  });

  it('ejection time is base × ejections, returned by the interval sweep, decaying while healthy', () => {
    const { d, put, clock } = setup();
    put('a', http(503), 3);
    clock.t = 999;
    d.sweep();
    assert.equal(d.isEjected('a'), true, 'not before base_ejection_time');
    clock.t = 1000;
    d.sweep();
    assert.equal(d.isEjected('a'), false);
    put('a', http(503), 3);
    const second = clock.t;
    clock.t = second + 1999;
    d.sweep();
    assert.equal(d.isEjected('a'), true, 'a second ejection lasts twice as long');
    clock.t = second + 2000;
    d.sweep();
    assert.equal(d.isEjected('a'), false);
    assert.deepEqual(d.view('a'), { ejected: false, ejections: 2 });
    // Healthy intervals bring the multiplier back down: 2 → 0 after two intervals.
    for (let i = 1; i <= 2; i++) {
      clock.t += 100;
      d.sweep();
    }
    put('a', http(503), 3);
    const third = clock.t;
    clock.t = third + 1000;
    d.sweep();
    assert.equal(d.isEjected('a'), false, 'back to one base ejection time');
    assert.equal(d.stats.ejections_returned_total, 3);
  });

  it('gateway failures are their own detector, enforced only when asked', () => {
    const off = setup();
    off.put('a', http(502), 2);
    assert.equal(off.d.isEjected('a'), false);
    assert.equal(off.d.stats.ejections_detected_consecutive_gateway_failure, 1, 'detected but not enforced');
    const on = setup({ enforcingConsecutiveGatewayFailure: 100 });
    on.put('a', http(504), 2);
    assert.equal(on.d.isEjected('a'), true);
    assert.equal(on.d.stats.ejections_enforced_consecutive_gateway_failure, 1);
  });

  it('local-origin failures: counted as 503 unless split, then by their own streak', () => {
    const mixed = setup();
    mixed.put('a', { kind: 'local_failure', failure: 'connect' }, 2);
    assert.equal(mixed.d.isEjected('a'), false, '2 < consecutive_5xx 3');
    mixed.put('a', { kind: 'local_failure', failure: 'timeout' });
    assert.equal(mixed.d.stats.ejections_enforced_consecutive_5xx, 1);
    const split = setup({ splitExternalLocalOriginErrors: true });
    split.put('a', { kind: 'local_failure', failure: 'reset' });
    split.put('a', { kind: 'connect_success' });
    split.put('a', { kind: 'local_failure', failure: 'reset' });
    split.put('a', http(500), 2);
    assert.equal(split.d.isEjected('a'), false, 'HTTP statuses do not feed the local-origin streak');
    split.put('a', { kind: 'local_failure', failure: 'connect' });
    assert.equal(split.d.isEjected('a'), true);
    assert.equal(split.d.stats.ejections_enforced_consecutive_local_origin_failure, 1);
  });

  it('max_ejection_percent caps ejections, but one host can always be ejected', () => {
    const { d, put } = setup({ maxEjectionPercent: 10 });
    put('a', http(500), 3);
    assert.equal(d.isEjected('a'), true, '0 % ejected < 10 %: one host goes');
    put('b', http(500), 3);
    assert.equal(d.isEjected('b'), false);
    assert.equal(d.stats.ejections_overflow, 1);
  });

  it('forgets hosts that leave the cluster', () => {
    const { d, put } = setup();
    put('a', http(500), 3);
    d.setHosts(['b']);
    assert.equal(d.stats.ejections_active, 0);
    assert.equal(d.isEjected('a'), false);
  });
});
