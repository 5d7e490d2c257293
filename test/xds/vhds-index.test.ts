// VHDS name resolution: `<route configuration>/<host>` → virtual host, with Envoy's domain matching.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualHostIndex, type VhdsResolution } from '../../src/controlplane/xds/vhds-index.js';

const index = new VirtualHostIndex('virtualOutbound', [
  { name: 'virtualOutbound/reviews.default.svc.cluster.local:9080', domains: ['reviews', 'reviews:9080', 'reviews.default.svc.cluster.local:9080'] },
  { name: 'virtualOutbound/wild-suffix', domains: ['*.example.com'] },
  { name: 'virtualOutbound/longer-suffix', domains: ['*.api.example.com'] },
  { name: 'virtualOutbound/wild-prefix', domains: ['legacy.*'] },
  { name: 'virtualOutbound/catch-all', domains: ['*'] },
]);
const noCatchAll = new VirtualHostIndex('virtualOutbound', [{ name: 'virtualOutbound/a', domains: ['a'] }]);

const cases: Array<{ name: string; requested: string; want: VhdsResolution; idx?: VirtualHostIndex }> = [
  { name: 'exact host', requested: 'virtualOutbound/reviews:9080', want: { kind: 'resource', name: 'virtualOutbound/reviews.default.svc.cluster.local:9080' } },
  { name: 'host is case-insensitive', requested: 'virtualOutbound/Reviews:9080', want: { kind: 'resource', name: 'virtualOutbound/reviews.default.svc.cluster.local:9080' } },
  { name: 'the resource name itself', requested: 'virtualOutbound/wild-prefix', want: { kind: 'resource', name: 'virtualOutbound/wild-prefix' } },
  { name: 'suffix wildcard', requested: 'virtualOutbound/www.example.com', want: { kind: 'resource', name: 'virtualOutbound/wild-suffix' } },
  { name: 'longest suffix wins', requested: 'virtualOutbound/v1.api.example.com', want: { kind: 'resource', name: 'virtualOutbound/longer-suffix' } },
  { name: 'a wildcard stands for at least one character', requested: 'virtualOutbound/.example.com', want: { kind: 'resource', name: 'virtualOutbound/catch-all' } },
  { name: 'prefix wildcard after suffixes', requested: 'virtualOutbound/legacy.internal', want: { kind: 'resource', name: 'virtualOutbound/wild-prefix' } },
  { name: '* catches the rest', requested: 'virtualOutbound/nosuch', want: { kind: 'resource', name: 'virtualOutbound/catch-all' } },
  { name: 'missing without a catch-all', requested: 'virtualOutbound/nosuch', want: { kind: 'missing' }, idx: noCatchAll },
  { name: 'another route configuration', requested: 'other/a', want: { kind: 'missing' }, idx: noCatchAll },
  { name: 'no host at all', requested: 'virtualOutbound/', want: { kind: 'missing' }, idx: noCatchAll },
  { name: 'the route configuration alone is a namespace', requested: 'virtualOutbound', want: { kind: 'namespace' } },
];

for (const c of cases) test(`vhds resolve: ${c.name}`, () => assert.deepEqual((c.idx ?? index).resolve(c.requested), c.want));

test('vhds resolve: route configuration names may contain slashes; the host is after the last one', () => {
  const nested = new VirtualHostIndex('ns/routes', [{ name: 'ns/routes/a', domains: ['a.local'] }]);
  assert.deepEqual(nested.resolve('ns/routes/a.local'), { kind: 'resource', name: 'ns/routes/a' });
  assert.deepEqual(nested.resolve('ns/other/a.local'), { kind: 'missing' });
});
