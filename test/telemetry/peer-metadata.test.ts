// Weft's peer metadata carriers: the x-weft-peer header and the EDS endpoint workload value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalRevision, canonicalService, decodePeerHeader, encodePeerHeader, formatEndpointWorkload, parseEndpointWorkload, peerWorkload } from '../../src/api/peer-metadata.js';
import { destinationServiceOf } from '../../src/proxy/telemetry/telemetry.js';

const reviews = peerWorkload({ workload: 'reviews-v2', namespace: 'default', labels: { app: 'reviews', version: 'v2' } });

test('the header round-trips, values percent-encoded', () => {
  const odd = { ...reviews, app: 'a;b=c', cluster: 'east 1' };
  assert.equal(encodePeerHeader(reviews), 'w=reviews-v2;n=default;a=reviews;v=v2;c=Kubernetes');
  assert.deepEqual(decodePeerHeader(encodePeerHeader(odd)), odd);
});

test('a malformed, oversized or partial header names nobody; unknown fields are ignored', () => {
  for (const bad of ['', 'junk', 'w=x', 'n=default', 'w=%E0%A4%A;n=x', `w=${'a'.repeat(600)};n=x`]) assert.equal(decodePeerHeader(bad), undefined, bad);
  assert.deepEqual(decodePeerHeader('w=x;n=y;future=1'), { workload: 'x', namespace: 'y', app: 'x', version: 'latest', cluster: 'Kubernetes' });
});

test("Istio's canonical service and revision fallbacks", () => {
  assert.equal(canonicalService({ 'service.istio.io/canonical-name': 'c', app: 'a' }, 'w'), 'c');
  assert.equal(canonicalService({ 'app.kubernetes.io/name': 'k', app: 'a' }, 'w'), 'k');
  assert.equal(canonicalService({}, 'w'), 'w');
  assert.equal(canonicalRevision({ version: 'v1' }), 'v1');
  assert.equal(canonicalRevision({}), 'latest');
});

test("the EDS value is Istio's name;namespace;app;version;cluster", () => {
  assert.equal(formatEndpointWorkload(reviews), 'reviews-v2;default;reviews;v2;Kubernetes');
  assert.deepEqual(parseEndpointWorkload('reviews-v2;default;reviews;v2;Kubernetes'), reviews);
  assert.equal(parseEndpointWorkload('a;b;c'), undefined);
});

test('destination_service from an Istio cluster name, else the authority host', () => {
  assert.deepEqual(destinationServiceOf('outbound|9080|v1|reviews.default.svc.cluster.local', 'x'), { host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' });
  assert.deepEqual(destinationServiceOf('static-backend', 'api.example.com:8443'), { host: 'api.example.com', name: 'api.example.com', namespace: 'unknown' });
  assert.deepEqual(destinationServiceOf('', ''), { host: 'unknown', name: 'unknown', namespace: 'unknown' });
});
