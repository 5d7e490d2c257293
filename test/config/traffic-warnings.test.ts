// weft analyze's traffic checks, table-driven: each check with config that trips it and config that
// does not, offline (files only) and against a registry (the bookinfo workloads as connected proxies).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSnapshot } from '../../src/controlplane/model/snapshot.js';
import { inventoryOf, trafficWarnings } from '../../src/config/traffic-warnings.js';
import { bookinfoProxies, configFrom, fixture, yaml } from '../translate/fixtures.js';

const DR_ALL = fixture('istio/bookinfo/networking/destination-rule-all.yaml');
const DR_REVIEWS = fixture('istio/bookinfo/networking/destination-rule-reviews.yaml');
const vs = (host: string, dest: string) =>
  yaml('vs.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${host.split('.')[0]}-vs }
spec:
  hosts: [${host}]
  http:
  - route: [{ destination: ${dest} }]
`);
const dr = (name: string, host: string, subsets = '[]', ns = 'default') =>
  yaml(`${name}.yaml`, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: ${ns} }
spec:
  host: ${host}
  subsets: ${subsets}
`);
const SE = yaml('se.yaml', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext }
spec:
  hosts: [api.example.com]
  ports: [{ number: 443, name: tls, protocol: TLS }]
  location: MESH_EXTERNAL
  resolution: DNS
`);

type Case = { name: string; docs: Array<{ file: string; text: string }>; registry: boolean; want: string[] };
const cases: Case[] = [
  // Route to a host that does not exist (IST0101).
  { name: 'host: bookinfo route to a registered service', docs: [DR_REVIEWS, fixture('istio/bookinfo/networking/virtual-service-reviews-v3.yaml')], registry: true, want: [] },
  { name: 'host: a typo, with the registry, is an error', docs: [vs('reviews', '{ host: reveiws }')], registry: true, want: ['error WEFT_E_HOST_NOT_FOUND VirtualService default/reviews-vs spec.http[0].route[0].destination.host IST0101'] },
  { name: 'host: an external host without a ServiceEntry, offline, is a warning', docs: [vs('api.example.org', '{ host: api.example.org }')], registry: false, want: ['warning WEFT_E_HOST_NOT_FOUND VirtualService default/api-vs spec.http[0].route[0].destination.host IST0101'] },
  { name: 'host: an external host with its ServiceEntry', docs: [SE, vs('api.example.com', '{ host: api.example.com }')], registry: false, want: [] },
  { name: 'host: a cluster name offline is not decidable (no finding)', docs: [vs('reviews', '{ host: reveiws }')], registry: false, want: [] },
  // Route to an undefined subset (IST0101, an error).
  { name: 'subset: defined', docs: [DR_REVIEWS, vs('reviews', '{ host: reviews, subset: v2 }')], registry: true, want: [] },
  { name: 'subset: not in the DestinationRule', docs: [DR_ALL, vs('reviews', '{ host: reviews, subset: v4 }')], registry: false, want: ['error WEFT_E_SUBSET_NOT_FOUND VirtualService default/reviews-vs spec.http[0].route[0].destination.subset IST0101'] },
  { name: 'subset: no DestinationRule at all, with the registry', docs: [vs('reviews', '{ host: reviews, subset: v1 }')], registry: true, want: ['error WEFT_E_SUBSET_NOT_FOUND VirtualService default/reviews-vs spec.http[0].route[0].destination.subset IST0101'] },
  { name: 'subset: no DestinationRule in the files, offline (it may be elsewhere)', docs: [vs('reviews', '{ host: reviews, subset: v1 }')], registry: false, want: [] },
  // DestinationRule without workloads (IST0174 / IST0173).
  { name: 'DR: the reviews subsets all select workloads', docs: [DR_REVIEWS], registry: true, want: [] },
  {
    name: "DR: bookinfo's destination-rule-all names versions the six workloads do not run",
    docs: [DR_ALL],
    registry: true,
    want: ['ratings spec.subsets[1]', 'ratings spec.subsets[2]', 'ratings spec.subsets[3]', 'details spec.subsets[1]'].map((r) => `warning WEFT_E_DR_NO_WORKLOADS DestinationRule default/${r}.labels IST0173`),
  },
  { name: 'DR: unknown host', docs: [dr('typo', 'reveiws')], registry: true, want: ['warning WEFT_E_DR_HOST_UNKNOWN DestinationRule default/typo spec.host IST0174'] },
  { name: 'DR: a subset selecting no endpoint', docs: [dr('r', 'reviews', '[{ name: v9, labels: { version: v9 } }]')], registry: true, want: ['warning WEFT_E_DR_NO_WORKLOADS DestinationRule default/r spec.subsets[0].labels IST0173'] },
  { name: 'DR: a ServiceEntry host with workloads offline', docs: [SE, dr('ext', 'api.example.com')], registry: false, want: [] },
  // Conflicting DestinationRules for one host.
  { name: 'conflict: two rules, one namespace, one host', docs: [dr('a', 'reviews'), dr('b', 'reviews.default.svc.cluster.local')], registry: true, want: ['warning WEFT_E_DR_CONFLICT DestinationRule default/b spec.host -'] },
  { name: 'conflict: same host in different namespaces is Istio\'s lookup path, not a conflict', docs: [dr('a', 'reviews.default.svc.cluster.local'), dr('b', 'reviews.default.svc.cluster.local', '[]', 'other')], registry: true, want: [] },
  // Unreachable rule after a catch-all (IST0131).
  { name: 'unreachable: the bookinfo fault sample has a rule after a catch-all', docs: [fixture('istio/bookinfo/networking/fault-injection-details-v1.yaml')], registry: true, want: ['warning WEFT_E_RULE_UNREACHABLE VirtualService default/details spec.http[1] IST0131'] },
  { name: 'unreachable: jason then everyone is fine', docs: [DR_REVIEWS, fixture('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml')], registry: true, want: [] },
];

for (const c of cases)
  test(`traffic warnings: ${c.name}`, () => {
    const snap = buildSnapshot({ config: configFrom(...c.docs), proxies: c.registry ? bookinfoProxies() : [], domain: 'cluster.local' });
    const got = trafficWarnings(snap, inventoryOf(snap, c.registry)).map((w) => `${w.level} ${w.code} ${w.resource} ${w.path} ${w.istio?.split(' ')[0] ?? '-'}`);
    assert.deepEqual(got, c.want);
  });

test('traffic warnings: each names the file and the document', () => {
  const snap = buildSnapshot({ config: configFrom(DR_ALL, vs('reviews', '{ host: reviews, subset: v4 }')), proxies: [], domain: 'cluster.local' });
  const [w] = trafficWarnings(snap, inventoryOf(snap, false));
  assert.equal(w.file, 'vs.yaml');
  assert.equal(w.document, 0);
  assert.match(w.message, /"reviews\.default\.svc\.cluster\.local\+v4" \(DestinationRule default\/reviews defines v1, v2, v3\)/);
});
