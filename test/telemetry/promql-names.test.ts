// The PromQL name extractor the dashboard test relies on: it must find every metric and label a
// query names and nothing that is a function, keyword, string, number, range or template variable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { promqlNames, tokenize, unwrapTemplating } from '../helpers/promql-names.js';

interface Case {
  name: string;
  expr: string;
  metrics: string[];
  selector?: Record<string, string[]>;
  grouping?: string[];
}

const cases: Case[] = [
  { name: 'a bare metric', expr: 'up', metrics: ['up'], selector: { up: [] } },
  {
    name: 'selector labels attach to their metric; values and ranges are ignored',
    expr: 'sum(rate(istio_requests_total{reporter=~"source|waypoint",response_code!~"5.."}[$__rate_interval]))',
    metrics: ['istio_requests_total'],
    selector: { istio_requests_total: ['reporter', 'response_code'] },
  },
  {
    name: 'by before and after the argument',
    expr: 'sum by (destination_workload, destination_service) (rate(a_total[5m])) / sum(b_total) by (le)',
    metrics: ['a_total', 'b_total'],
    grouping: ['destination_workload', 'destination_service', 'le'],
  },
  { name: 'without', expr: 'sum without (instance) (x)', metrics: ['x'], grouping: ['instance'] },
  {
    name: 'template variables are values, also inside strings and as [[var]]',
    expr: 'sum(m{destination_service=~"$service", source_workload="${wl}"}[[interval]])',
    metrics: ['m'],
    selector: { m: ['destination_service', 'source_workload'] },
  },
  {
    name: 'keywords, bool, or, vector(), numbers with exponents and durations are not metrics',
    expr: 'round(sum(irate(a[1m])), 0.001) >bool 10 or vector(0) and on (pod) b offset 5m + 1e3',
    metrics: ['a', 'b'],
    grouping: ['pod'],
  },
  {
    name: 'label_join strings are not labels; the histogram bucket name is the metric',
    expr: 'label_join(histogram_quantile(0.99, sum(irate(istio_request_duration_milliseconds_bucket{reporter="source"}[1m])) by (le)), "x_var", ".", "destination_workload")',
    metrics: ['istio_request_duration_milliseconds_bucket'],
    selector: { istio_request_duration_milliseconds_bucket: ['reporter'] },
    grouping: ['le'],
  },
  {
    name: 'an empty selector and a selector without a metric name',
    expr: 'sum(pilot_xds_push_time_bucket{}[1m]) + count({job="x"})',
    metrics: ['pilot_xds_push_time_bucket'],
    selector: { pilot_xds_push_time_bucket: [] },
  },
  { name: 'escaped quotes inside a value', expr: 'm{a="x\\"}y"}', metrics: ['m'], selector: { m: ['a'] } },
  { name: 'group_left with its label list', expr: 'a * on (x) group_left (y) b', metrics: ['a', 'b'], grouping: ['x', 'y'] },
  { name: 'colons in recording-rule names', expr: 'job:rate5m:sum', metrics: ['job:rate5m:sum'] },
];

for (const c of cases) {
  test(`promqlNames: ${c.name}`, () => {
    const got = promqlNames(c.expr);
    assert.deepEqual([...got.metrics].sort(), [...c.metrics].sort());
    for (const [m, labels] of Object.entries(c.selector ?? {})) assert.deepEqual([...(got.selectorLabels.get(m) ?? [])].sort(), [...labels].sort(), `selector labels of ${m}`);
    assert.deepEqual([...got.groupingLabels].sort(), [...(c.grouping ?? [])].sort());
  });
}

test('tokenize: an unterminated string or range is an error, not a silent guess', () => {
  assert.throws(() => tokenize('m{a="x}'), /unterminated string/);
  assert.throws(() => tokenize('rate(m[5m)'), /unterminated \[/);
});

test("unwrapTemplating: Grafana's query_result and label_values become PromQL", () => {
  assert.equal(unwrapTemplating('query_result(sum(a) by (b))'), 'sum(a) by (b)');
  assert.deepEqual([...promqlNames(unwrapTemplating('label_values(istio_requests_total{reporter="source"}, destination_service)')).groupingLabels], ['destination_service']);
  assert.equal(unwrapTemplating('sum(x)'), 'sum(x)');
});
