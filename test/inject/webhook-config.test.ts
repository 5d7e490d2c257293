// Which pods the API server sends to the webhook, by the MutatingWebhookConfiguration's selectors,
// evaluated here with the label-selector rules (all matchExpressions must hold).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mutatingWebhookConfiguration } from '../../src/inject/webhook-config.js';

type Req = { key: string; operator: string; values?: string[] };
const holds = (labels: Record<string, string>, r: Req) => {
  switch (r.operator) {
    case 'In':
      return r.key in labels && r.values!.includes(labels[r.key]);
    case 'NotIn':
      return !(r.key in labels) || !r.values!.includes(labels[r.key]);
    case 'Exists':
      return r.key in labels;
    case 'DoesNotExist':
      return !(r.key in labels);
  }
  throw new Error(`operator ${r.operator}`);
};

const config = mutatingWebhookConfiguration({ caBundlePem: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n', service: 'weft-control-plane', namespace: 'weft-system', port: 15017 });
const webhooks = config.webhooks as { name: string; namespaceSelector: { matchExpressions: Req[] }; objectSelector: { matchExpressions: Req[] }; failurePolicy: string; rules: unknown[]; clientConfig: { service: { path: string; port: number } } }[];
const calls = (ns: Record<string, string>, pod: Record<string, string>) =>
  webhooks.filter((w) => w.namespaceSelector.matchExpressions.every((r) => holds(ns, r)) && w.objectSelector.matchExpressions.every((r) => holds(pod, r))).length;

const cases: { name: string; ns: Record<string, string>; pod: Record<string, string>; want: number }[] = [
  { name: 'weft-injection=enabled namespace', ns: { 'weft-injection': 'enabled' }, pod: {}, want: 1 },
  { name: 'istio-injection=enabled namespace', ns: { 'istio-injection': 'enabled' }, pod: { app: 'a' }, want: 1 },
  { name: 'both namespace labels: called once', ns: { 'weft-injection': 'enabled', 'istio-injection': 'enabled' }, pod: {}, want: 1 },
  { name: 'enabled namespace, pod opts out', ns: { 'weft-injection': 'enabled' }, pod: { 'sidecar.istio.io/inject': 'false' }, want: 0 },
  { name: "enabled namespace, pod opts out with Weft's label", ns: { 'istio-injection': 'enabled' }, pod: { 'weft.dev/inject': 'false' }, want: 0 },
  { name: 'plain namespace, plain pod', ns: {}, pod: {}, want: 0 },
  { name: 'plain namespace, pod opts in', ns: {}, pod: { 'sidecar.istio.io/inject': 'true' }, want: 1 },
  { name: "plain namespace, pod opts in with Weft's label", ns: {}, pod: { 'weft.dev/inject': 'true' }, want: 1 },
  { name: 'plain namespace, pod opts in with both labels: called once', ns: {}, pod: { 'weft.dev/inject': 'true', 'sidecar.istio.io/inject': 'true' }, want: 1 },
  { name: 'disabled namespace wins over the pod', ns: { 'weft-injection': 'disabled' }, pod: { 'sidecar.istio.io/inject': 'true' }, want: 0 },
];
for (const c of cases) test(`webhook selectors: ${c.name}`, () => assert.equal(calls(c.ns, c.pod), c.want));

test('webhook entries: Pod CREATE only, POST /inject on 15017, failurePolicy Fail, v1 reviews', () => {
  for (const w of webhooks) {
    assert.deepEqual(w.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }]);
    assert.equal(w.failurePolicy, 'Fail');
    assert.deepEqual(w.clientConfig.service, { name: 'weft-control-plane', namespace: 'weft-system', path: '/inject', port: 15017 });
  }
  assert.equal(new Set(webhooks.map((w) => w.name)).size, webhooks.length, 'names unique');
});
