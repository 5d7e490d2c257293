// Metric overrides in Istio's stats config (PluginConfig.metrics, what Telemetry metrics.overrides
// becomes): drop a metric, remove a label, set a label to a literal or a request header. Parsed
// through the real protobuf round trip, then applied to recorded outcomes and read back from the
// exposition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packAny, unpackAny } from '../../src/api/envoy.js';
import { ISTIO_STATS_TYPE_URL } from '../../src/api/mesh-names.js';
import { IstioMetrics, ISTIO_LABELS, type IstioLabels } from '../../src/proxy/telemetry/istio-metrics.js';
import { DEFAULT_STATS, statsPluginConfig } from '../../src/proxy/telemetry/stats-config.js';
import { Problems } from '../../src/proxy/xds/validate-common.js';
import { parseExposition } from '../helpers/prom-text.js';

function parse(metrics: object[]) {
  const raw = unpackAny(packAny(ISTIO_STATS_TYPE_URL, { metrics })) as Record<string, unknown>;
  const p = new Problems();
  const cfg = statsPluginConfig(raw, 'typed_config', p);
  return { cfg, errors: p.list };
}

const labels: IstioLabels = { ...(Object.fromEntries(ISTIO_LABELS.map((l) => [l, 'x'])) as IstioLabels), reporter: 'source', request_protocol: 'http', destination_app: 'reviews' };

test('no overrides: the defaults (same object, no key suffix)', () => {
  const { cfg, errors } = parse([]);
  assert.deepEqual(errors, []);
  assert.equal(cfg, DEFAULT_STATS);
});

test('drop, remove, literal and header dimensions apply per metric; later entries win', () => {
  const { cfg, errors } = parse([
    { name: 'request_bytes', drop: true },
    { name: 'requests_total', tags_to_remove: ['request_protocol'], dimensions: { destination_app: "'front'" } },
    { name: 'requests_total', dimensions: { source_app: "request.headers['x-team']" } },
    { tags_to_remove: ['destination_principal'] },
  ]);
  assert.deepEqual(errors, []);
  assert.ok(cfg.id);
  assert.deepEqual(cfg.headers, ['x-team']);
  const m = new IstioMetrics();
  const headers: Record<string, string> = { 'x-team': 'blue' };
  const s = m.request(`k|${cfg.id}|blue`, false, () => labels, cfg, (n) => headers[n]);
  s.requests.value += 3;
  s.requestBytes.count++;
  s.responseBytes.count++;
  const out: string[] = [];
  m.registry.render(out, false);
  const samples = parseExposition(out.join(''));
  const requests = samples.filter((x) => x.name === 'istio_requests_total');
  assert.equal(requests.length, 1);
  assert.equal(requests[0].value, 3);
  assert.equal(requests[0].labels.request_protocol, '', 'removed (an empty label is no label to Prometheus)');
  assert.equal(requests[0].labels.destination_principal, '', 'removed by the entry for every metric');
  assert.equal(requests[0].labels.destination_app, 'front');
  assert.equal(requests[0].labels.source_app, 'blue');
  assert.equal(samples.filter((x) => x.name.startsWith('istio_request_bytes')).length, 0, 'dropped: never exported');
  const resp = samples.find((x) => x.name === 'istio_response_bytes_count');
  assert.equal(resp?.labels.destination_app, 'reviews', 'response_bytes keeps its labels');
  assert.equal(resp?.labels.request_protocol, 'http');
  assert.equal(resp?.labels.destination_principal, '');
});

test('what the filter cannot do is a NACK naming the field', () => {
  const { errors } = parse([
    { name: 'my_metric' },
    { name: 'requests_total', dimensions: { request_host: 'request.host' } },
    { name: 'requests_total', dimensions: { destination_app: 'request.host' } },
    { tags_to_remove: ['nope'] },
    { name: 'requests_total', match: 'response.code == 200' },
  ]);
  assert.deepEqual(errors, [
    'typed_config.metrics[0].name: "my_metric" is not a standard metric (requests_total, request_duration_milliseconds, request_bytes, response_bytes, request_messages_total, response_messages_total, tcp_connections_opened_total, tcp_connections_closed_total, tcp_sent_bytes_total, tcp_received_bytes_total); custom metrics are not supported',
    'typed_config.metrics[1].dimensions.request_host: "request_host" is not a label of Istio\'s standard metrics: new dimensions are not supported',
    'typed_config.metrics[2].dimensions.destination_app: "request.host": supported are a quoted literal (\'v\') and request.headers[\'name\']',
    'typed_config.metrics[3].tags_to_remove[0]: "nope" is not a label of Istio\'s standard metrics',
    'typed_config.metrics[4].match: a match condition is not supported',
  ]);
});

test('every metric dropped (metrics off for a listener) is known up front, so nothing is recorded', () => {
  assert.equal(parse([{ name: '', drop: true }]).cfg.allDropped, true);
  assert.equal(parse([{ name: 'requests_total', drop: true }]).cfg.allDropped, false);
});
