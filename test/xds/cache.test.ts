// The cache re-encodes only the parts whose inputs changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSnapshot } from '../../src/controlplane/model/snapshot.js';
import { XdsCache } from '../../src/controlplane/xds/cache.js';
import { bookinfoProxies, configFrom, fixture, proxy, ratingsForReviewsOnly } from '../translate/fixtures.js';

const DR = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
const snap = (config: ReturnType<typeof configFrom>, proxies = bookinfoProxies()) => buildSnapshot({ config, proxies, domain: 'cluster.local' });

test('cache: a VirtualService edit re-encodes RDS only; an endpoint change EDS only', () => {
  const cache = new XdsCache();
  const client = proxy('productpage', 'v1', 2);
  cache.setSnapshot(snap(configFrom(DR)));
  const first = cache.resourcesFor(client, 'sotw');
  const afterFirst = cache.encodeCount;

  cache.setSnapshot(snap(configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-reviews-90-10.yaml'))));
  const vsEdit = cache.resourcesFor(client, 'sotw');
  assert.equal(cache.encodeCount - afterFirst, 1, 'one part re-encoded');
  assert.notEqual(vsEdit.route.version, first.route.version);
  assert.equal(vsEdit.cluster.version, first.cluster.version);
  assert.equal(vsEdit.endpoint.version, first.endpoint.version);

  const before = cache.encodeCount;
  cache.setSnapshot(snap(configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-reviews-90-10.yaml')), [...bookinfoProxies(), proxy('reviews', 'v2', 8)]));
  const epChange = cache.resourcesFor(client, 'sotw');
  assert.equal(cache.encodeCount - before, 1, 'one part re-encoded');
  assert.notEqual(epChange.endpoint.version, vsEdit.endpoint.version);
  assert.equal(epChange.route.version, vsEdit.route.version);
  assert.equal(epChange.cluster.version, vsEdit.cluster.version);
});

test('cache: proxies of one namespace share outbound parts', () => {
  const cache = new XdsCache();
  cache.setSnapshot(snap(configFrom(DR)));
  const a = cache.resourcesFor(proxy('productpage', 'v1', 2), 'sotw');
  const b = cache.resourcesFor(proxy('reviews', 'v1', 4), 'sotw');
  assert.equal(a.endpoint.parts[0], b.endpoint.parts[0], 'same EDS object, encoded once');
  assert.notEqual(a.listener.version, b.listener.version, 'listeners are per proxy');
});

test('cache: client labels split the route cache only when a sourceLabels match reads them', () => {
  const cache = new XdsCache();
  cache.setSnapshot(snap(configFrom(DR)));
  const a = cache.resourcesFor(proxy('productpage', 'v1', 2), 'sotw');
  const b = cache.resourcesFor(proxy('details', 'v1', 3), 'sotw');
  assert.equal(a.route.parts[0], b.route.parts[0], 'different app labels, one route part');
  // A header match reads no client label: still one route part for every client.
  cache.setSnapshot(snap(configFrom(DR, fixture('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml'), fixture('istio/bookinfo/networking/virtual-service-all-v1.yaml'))));
  const e = cache.resourcesFor(proxy('productpage', 'v1', 2), 'sotw');
  const f = cache.resourcesFor(proxy('reviews', 'v1', 4), 'sotw');
  assert.notEqual(e.route.version, a.route.version, 'the new VirtualServices are in this snapshot');
  assert.equal(e.route.parts[0], f.route.parts[0], 'a header match does not split the route cache');
  const withSource = configFrom(DR, ratingsForReviewsOnly);
  cache.setSnapshot(snap(withSource));
  const c = cache.resourcesFor(proxy('productpage', 'v1', 2), 'sotw');
  const d = cache.resourcesFor(proxy('reviews', 'v1', 4), 'sotw');
  assert.notEqual(c.route.version, d.route.version, 'app=reviews sees another ratings route');
});
