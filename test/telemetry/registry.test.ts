// The hand-written registry's exposition: Prometheus text 0.0.4 and OpenMetrics 1.0 as a real
// parser reads them (cumulative buckets, +Inf, _sum/_count, escaping, counter family names).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricRegistry, observe, wantsOpenMetrics } from '../../src/proxy/telemetry/registry.js';
import { parseExposition, sumOf } from '../helpers/prom-text.js';

function render(r: MetricRegistry, openMetrics = false): string {
  const out: string[] = [];
  r.render(out, openMetrics);
  return out.join('');
}

test('counters: one line per child, label values escaped, children cached by key', () => {
  const r = new MetricRegistry();
  const c = r.counter('x_total', 'help', ['a', 'b']);
  c.child('k1', ['v"1', 'line\nbreak\\']).value += 2;
  c.child('k1', ['ignored', 'ignored']).value++;
  c.child('k2', ['v2', '']).value++;
  assert.equal(c.size, 2);
  const text = render(r);
  assert.match(text, /^# HELP x_total help\n# TYPE x_total counter\n/);
  const samples = parseExposition(text);
  assert.deepEqual(samples.map((s) => [s.labels.a, s.labels.b, s.value]), [['v"1', 'line\nbreak\\', 3], ['v2', '', 1]]);
});

test('histograms: cumulative buckets with le last, +Inf equal to the count, sum of observations', () => {
  const r = new MetricRegistry();
  const h = r.histogram('d_ms', 'd', ['r'], [1, 5, 10]);
  const child = h.child('k', ['x']);
  for (const v of [0.5, 1, 3, 5, 7, 100]) observe(h, child, v);
  const s = parseExposition(render(r));
  const bucket = (le: string) => sumOf(s, 'd_ms_bucket', { r: 'x', le });
  assert.deepEqual([bucket('1'), bucket('5'), bucket('10'), bucket('+Inf')], [2, 4, 5, 6]);
  assert.equal(sumOf(s, 'd_ms_count', { r: 'x' }), 6);
  assert.equal(sumOf(s, 'd_ms_sum', { r: 'x' }), 116.5);
});

test('OpenMetrics: a counter family is named without _total, its samples keep it', () => {
  const r = new MetricRegistry();
  r.counter('req_total', 'h', []).child('', []).value = 1;
  r.gauge('g', 'h', []).child('', []).value = 2;
  const text = render(r, true);
  assert.match(text, /# TYPE req counter\nreq_total 1\n/);
  assert.match(text, /# TYPE g gauge\ng 2\n/);
  assert.ok(wantsOpenMetrics('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'));
  assert.ok(!wantsOpenMetrics('text/plain'));
  assert.ok(!wantsOpenMetrics(undefined));
});

test('families without children are left out; a name registered twice is a programming error', () => {
  const r = new MetricRegistry();
  r.counter('empty_total', 'h', ['a']);
  assert.equal(render(r), '');
  assert.throws(() => r.counter('empty_total', 'h', []), /registered twice/);
});
