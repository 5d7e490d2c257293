// `weft describe`: answers from a bookinfo snapshot (routes traced through the proxy's own route table),
// their text as golden files (UPDATE_GOLDEN=1 rewrites them), and the binary offline on files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { describeService, type ServiceDescription } from '../../src/controlplane/describe/describe-service.js';
import { describeWorkload } from '../../src/controlplane/describe/describe-workload.js';
import type { TraceRequest } from '../../src/controlplane/describe/route-trace.js';
import { renderServiceDescription, renderWorkloadDescription } from '../../src/cli/describe-render.js';
import { bookinfoProxies, capturedBookinfoProxies, configFrom, fixture, ratingsForReviewsOnly, snapshot, yaml } from '../translate/fixtures.js';
import { fixturesDir, repoRoot } from '../helpers/paths.js';

const NET = 'istio/bookinfo/networking';
const DR = fixture(`${NET}/destination-rule-all.yaml`);
const JASON = fixture(`${NET}/virtual-service-reviews-jason-v2-v3.yaml`);
const POLICY = yaml('policy.yaml', `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: reviews-strict }
spec:
  selector: { matchLabels: { app: reviews } }
  mtls: { mode: STRICT }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-from-productpage }
spec:
  selector: { matchLabels: { app: reviews } }
  rules: [{ from: [{ source: { principals: [cluster.local/ns/default/sa/bookinfo-productpage] } }] }]
`);
const productpage = bookinfoProxies()[0];

function describe(docs: Array<{ file: string; text: string }>, name: string, request?: TraceRequest, from = productpage): ServiceDescription {
  const r = describeService(snapshot(configFrom(...docs)), name, 'default', { client: from, ...(request ? { request } : {}) });
  assert.ok(r.ok, !r.ok ? r.error : '');
  return r.description;
}

function golden(name: string, text: string): void {
  const file = path.join(repoRoot, 'test/cli/golden', name);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, text);
  assert.ok(fs.existsSync(file), `${file} missing: run UPDATE_GOLDEN=1 npm test`);
  assert.equal(text, fs.readFileSync(file, 'utf8'), `${name} differs from its golden file (UPDATE_GOLDEN=1 to accept)`);
}

test('describe service reviews --header end-user=jason: rule 0, subset v2, the v2 endpoint', () => {
  const d = describe([DR, JASON, POLICY], 'reviews', { path: '/reviews/0', headers: { 'end-user': 'jason' } });
  assert.equal(d.route?.virtualService, 'default/reviews');
  assert.equal(d.route?.rule, 0);
  assert.equal(d.route?.match, 0);
  assert.deepEqual(d.route?.destinations.map((x) => [x.subset, x.percent, x.endpoints]), [['v2', 100, ['127.0.0.5:15006']]]);
  assert.deepEqual(d.policies.map((p) => [p.workloads.length, p.mtls.mode, p.authorization.map((a) => a.name)]), [[3, 'STRICT', ['default/reviews-from-productpage']]]);
  assert.deepEqual(d.destinationRules.find((x) => x.name === 'default/reviews')?.subsets.map((s) => `${s.name}=${s.endpoints.join()}`), ['v1=127.0.0.4:15006', 'v2=127.0.0.5:15006', 'v3=127.0.0.6:15006']);
  golden('describe-service-reviews-jason.txt', renderServiceDescription(d));
});

test('describe service: anyone else takes rule 1 (v3), after rule 0 did not match', () => {
  const d = describe([DR, JASON], 'reviews.default', { path: '/reviews/0', headers: { 'end-user': 'mallory' } });
  assert.equal(d.route?.rule, 1);
  assert.equal(d.route?.match, undefined);
  assert.deepEqual(d.route?.notMatched.map((n) => n.route), ['default/reviews.http[0].match[0]']);
  assert.deepEqual(d.route?.destinations.map((x) => x.subset), ['v3']);
});

test('describe service: a weighted split shows both destinations with their shares', () => {
  const d = describe([DR, fixture(`${NET}/virtual-service-reviews-90-10.yaml`)], 'reviews', { path: '/' });
  assert.deepEqual(d.route?.destinations.map((x) => `${x.subset} ${x.percent}%`), ['v1 90%', 'v2 10%']);
});

test('describe service: a sourceLabels rule is left out of the client table it does not fit, and said so', () => {
  const fromReviews = describe([DR, ratingsForReviewsOnly], 'ratings', { path: '/' }, bookinfoProxies()[2]);
  assert.equal(fromReviews.route?.rule, 0);
  const fromProductpage = describe([DR, ratingsForReviewsOnly], 'ratings', { path: '/' });
  assert.equal(fromProductpage.route?.rule, 1);
  assert.ok(fromProductpage.route?.notes.some((n) => n.startsWith('http[0] is not in this client')), fromProductpage.route?.notes.join('\n'));
});

test('describe service: a rule after a catch-all is a warning; no VirtualService means the default route', () => {
  const d = describe([fixture(`${NET}/fault-injection-details-v1.yaml`)], 'details', { path: '/details/0' });
  assert.deepEqual(d.warnings.map((w) => `${w.resource} ${w.path}`), ['VirtualService default/details spec.http[1]']);
  assert.equal(d.route?.rule, 0);
  const plain = describe([], 'ratings', { path: '/' });
  assert.equal(plain.route?.route, 'default');
  assert.deepEqual(plain.route?.destinations.map((x) => x.endpoints), [['127.0.0.7:15006']]);
});

test('describe workload reviews-v2: its subset, its inbound policies, the rules it uses outbound', () => {
  const snap = snapshot(configFrom(DR, JASON, POLICY));
  const d = describeWorkload(snap, bookinfoProxies()[3]);
  assert.deepEqual(d.inbound.subsets, ['default/reviews/v2']);
  assert.equal(d.inbound.policies.mtls.mode, 'STRICT');
  assert.ok(d.outbound.some((o) => o.service === 'reviews.default.svc.cluster.local' && o.virtualService === 'default/reviews'));
  golden('describe-workload-reviews-v2.txt', renderWorkloadDescription(d));
});

test('weft describe --config-dir: offline on files, says there is no registry, still traces the rule', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-describe-'));
  try {
    for (const f of ['destination-rule-all.yaml', 'virtual-service-reviews-jason-v2-v3.yaml']) fs.copyFileSync(path.join(fixturesDir, NET, f), path.join(dir, f));
    const weft = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin/weft.js'), 'describe', ...args], { encoding: 'utf8' });
    const text = weft('service', 'reviews', '--config-dir', dir, '--port', '9080', '--path', '/reviews/0', '--header', 'end-user=jason');
    assert.equal(text.status, 0, text.stderr);
    golden('describe-service-reviews-offline.txt', text.stdout.replaceAll(dir, '<dir>'));
    const json = weft('service', 'reviews', '--config-dir', dir, '--header', 'end-user=jason', '-o', 'json');
    const d = JSON.parse(json.stdout) as ServiceDescription;
    assert.equal(d.registry, false);
    assert.deepEqual([d.route?.rule, d.route?.destinations[0].subset], [0, 'v2']);
    const missing = weft('service', 'nosuch', '--config-dir', dir);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no service nosuch in namespace default \(offline/);
    const workload = weft('workload', 'reviews-v1', '--config-dir', dir);
    assert.equal(workload.status, 1);
    assert.match(workload.stderr, /no registry; describe workload needs the running control plane/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('describe service: analyze findings about the rules shown (an undefined subset is an error)', () => {
  const d = describe([DR, yaml('v4.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews, subset: v4 } }]
`)], 'reviews', { path: '/' });
  assert.deepEqual(d.warnings.map((w) => `${w.resource} ${w.path}`), ['VirtualService default/reviews spec.http[0].route[0].destination.subset']);
  assert.match(d.warnings[0].message, /^error: .*\[WEFT_E_SUBSET_NOT_FOUND; IST0101 ReferencedResourceNotFound\]$/);
  assert.ok(d.route?.notes.some((n) => /outbound\|9080\|v4\|reviews.* does not exist for this client: requests get 503 \(NC\)/.test(n)), d.route?.notes.join('\n'));
});

test('describe service --from a captured proxy: its per-port route table decides', () => {
  const captured = capturedBookinfoProxies();
  const snap = snapshot(configFrom(DR, JASON), captured);
  const r = describeService(snap, 'reviews', 'default', { client: captured[0], request: { path: '/', headers: { 'end-user': 'jason' } } });
  assert.ok(r.ok);
  assert.equal(r.description.route?.rule, 0);
  assert.deepEqual(r.description.route?.destinations.map((x) => x.endpoints), [['127.0.0.5:9080']]);
});
