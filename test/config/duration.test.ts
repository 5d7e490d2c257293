import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDurationMs, parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  const valid: Array<[string, number]> = [
    ['1s', 1000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['0.25s', 250],
    ['.5s', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m0.5s', 60_500],
    ['1.1s', 1100],
    ['1000000ns', 1],
    ['2000us', 2],
    ['2000µs', 2],
    ['7s', 7000],
    [' 10s ', 10_000],
  ];
  for (const [input, ms] of valid) it(`${JSON.stringify(input)} → ${ms}ms`, () => assert.deepEqual(parseDuration(input), { ok: true, ms }));

  const invalid: Array<[string, RegExp]> = [
    ['', /must be a duration/],
    ['10', /at least 1ms|must be a duration/],
    ['1', /must be a duration/],
    ['s', /must be a duration/],
    ['1d', /must be a duration/],
    ['1 s', /must be a duration/],
    ['1s2', /must be a duration/],
    ['-1s', /negative/],
    ['0s', /at least 1ms/],
    ['0', /at least 1ms/],
    ['500us', /at least 1ms/],
    ['1.0005s', /millisecond precision/],
  ];
  for (const [input, error] of invalid) {
    it(`${JSON.stringify(input)} is rejected`, () => {
      const r = parseDuration(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.message, error);
    });
  }

  it('allowZero admits 0s', () => {
    assert.deepEqual(parseDuration('0s', { allowZero: true }), { ok: true, ms: 0 });
    assert.deepEqual(parseDuration('0', { allowZero: true }), { ok: true, ms: 0 });
  });
});

describe('formatDurationMs', () => {
  const cases: Array<[number, string]> = [
    [1500, '1500ms'],
    [7000, '7s'],
    [120_000, '2m'],
    [3_600_000, '1h'],
    [0, '0s'],
  ];
  for (const [ms, want] of cases) it(`${ms} → ${want}`, () => assert.equal(formatDurationMs(ms), want));
});
