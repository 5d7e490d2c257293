// The injection webhook over real HTTPS (the control plane's certificate from its CA, checked for the
// Service name the API server calls): every AdmissionReview in the Kubernetes fixtures and a review
// per Istio injection fixture, patched with the returned JSON Patch, equals `weft inject`'s output for
// the same Pod; what is no review, or a review the webhook cannot patch, gets a proper answer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applyPatch, type Operation } from 'rfc6902';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { injectManifest } from '../../src/inject/manifest.js';
import { defaultInjectOptions } from '../../src/inject/options.js';
import { findTemplates, getAt } from '../../src/inject/workloads.js';
import { startSecureControlPlane, type SecureControlPlane } from '../helpers/identity.js';
import { fixturesDir } from '../helpers/paths.js';
import { freePorts, spawnWeft, stopAll, waitFor, type Proc } from '../helpers/processes.js';
import { assertValidInjectedPod } from './pod-checks.js';

const SERVICE_NAME = 'weft-control-plane.weft-system.svc';
const MAX_BODY = 256 * 1024;
let cp: SecureControlPlane;

before(async () => {
  cp = await startSecureControlPlane({ webhook: { address: '127.0.0.1:0', inject: defaultInjectOptions, maxBodyBytes: MAX_BODY } });
});
after(async () => cp?.close());

interface Reply {
  status: number;
  text: string;
  json?: { apiVersion: string; kind: string; response: { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[]; status?: { code: number; message: string } } };
}

function post(body: string | Buffer, o: { port?: number; servername?: string; method?: string; path?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: o.port ?? cp.cp.webhookPort, method: o.method ?? 'POST', path: o.path ?? '/inject', ca: cp.rootPem, servername: o.servername ?? SERVICE_NAME, headers: { 'content-type': 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, text, json: res.headers['content-type'] === 'application/json' ? JSON.parse(text) : undefined });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const reviewOf = (pod: unknown, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', operation: 'CREATE', object: pod, ...over },
  });

/** What `weft inject` makes of the same Pod (JSON is YAML). */
function injectedByCli(pod: unknown): unknown {
  const r = injectManifest(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...(pod as object) }), 'pod.json', defaultInjectOptions);
  assert.deepEqual(r.errors, []);
  const { apiVersion: _a, kind: _k, ...rest } = parseYaml(r.output);
  return rest;
}

async function assertPatchedEqualsCli(pod: Record<string, unknown>, where: string): Promise<void> {
  const reply = await post(reviewOf(pod));
  assert.equal(reply.status, 200, `${where}: ${reply.text}`);
  const response = reply.json!.response;
  assert.equal(reply.json!.apiVersion, 'admission.k8s.io/v1');
  assert.equal(response.uid, 'u-1');
  assert.equal(response.allowed, true);
  assert.equal(response.patchType, 'JSONPatch');
  const patch = JSON.parse(Buffer.from(response.patch!, 'base64').toString()) as Operation[];
  const patched = structuredClone(pod);
  assert.deepEqual(applyPatch(patched, patch).filter(Boolean), [], `${where}: the patch applies cleanly`);
  const { apiVersion: _a, kind: _k, ...rest } = patched as Record<string, unknown>;
  assert.deepEqual(rest, injectedByCli(pod), `${where}: the patched Pod equals weft inject's output`);
  assertValidInjectedPod(patched as never, where);
}

test('every AdmissionReview fixture: the patched Pod equals weft inject of the same Pod', async () => {
  const dir = path.join(fixturesDir, 'kubernetes');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0, 'the review fixtures are there');
  for (const f of files) {
    const review = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const reply = await post(JSON.stringify(review));
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json!.response.uid, review.request.uid, 'the answer carries the review uid');
    const patch = JSON.parse(Buffer.from(reply.json!.response.patch!, 'base64').toString()) as Operation[];
    const pod = structuredClone(review.request.object);
    applyPatch(pod, patch);
    const { apiVersion: _a, kind: _k, ...patched } = pod;
    assert.deepEqual(patched, injectedByCli(review.request.object), `${f}: patched Pod equals weft inject's`);
    const proxy = pod.spec.initContainers.find((c: { name: string }) => c.name === 'weft-proxy');
    assert.equal(proxy.args[proxy.args.indexOf('--service') + 1], 'keymaker', 'the service from app.kubernetes.io/name');
    assert.deepEqual(pod.spec.initContainers.map((c: { name: string }) => c.name), ['weft-init', 'weft-proxy', 'ca-populator-original', 'madkub-init-original'], 'capture, then the proxy, then the app init containers');
  }
});

test('a review per Istio injection fixture (their pod templates as Pods) patches to weft inject output', async () => {
  const dir = path.join(fixturesDir, 'istio/inject');
  let n = 0;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS())) {
      for (const t of findTemplates(doc)) {
        const template = getAt(doc, t.path) as { metadata?: Record<string, unknown>; spec: unknown };
        const pod = { metadata: { ...template.metadata, name: `${t.workloadName ?? 'pod'}-x1` }, spec: template.spec };
        if (f === 'hello-ignore.yaml') {
          const reply = await post(reviewOf(pod));
          assert.equal(reply.json!.response.allowed, true);
          assert.equal(reply.json!.response.patch, undefined, 'an opted-out pod is admitted unpatched');
          continue;
        }
        await assertPatchedEqualsCli(pod, `${f} ${t.resource}`);
        n++;
      }
    }
  }
  assert.ok(n >= 9, `${n} reviews`);
});

test('not a review: 400 with the reason; the server keeps answering', async () => {
  const cases: [string, RegExp][] = [
    ['{not json', /the body is not JSON/],
    ['[]', /not a JSON object/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }), /apiVersion is "admission.k8s.io\/v1beta1"/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /it has no request/],
    [JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { object: {} } }), /request\.uid is missing/],
  ];
  for (const [body, reason] of cases) {
    const r = await post(body);
    assert.equal(r.status, 400, body);
    assert.match(r.text, reason);
    assert.match(r.text, /WEFT_E_WEBHOOK_REVIEW/);
  }
  assert.equal((await post('', { method: 'GET' })).status, 405);
  assert.equal((await post('{}', { path: '/mutate' })).status, 404);
});

test('reviews the webhook does not patch get an AdmissionReview answer with the reason', async () => {
  const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a' }] } };
  const deployment = await post(reviewOf({}, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }));
  assert.equal(deployment.json!.response.allowed, true);
  assert.match(deployment.json!.response.warnings![0], /only Pods are injected, not apps\/v1\/Deployment/);
  const update = await post(reviewOf(pod, { operation: 'UPDATE' }));
  assert.deepEqual(update.json!.response, { uid: 'u-1', allowed: true }, 'UPDATE: admitted unchanged');
  const noObject = await post(reviewOf(undefined));
  assert.equal(noObject.json!.response.allowed, false);
  assert.equal(noObject.json!.response.status!.code, 400);
  const badAnnotation = await post(reviewOf({ ...pod, metadata: { name: 'p', annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': 'many' } } }));
  assert.equal(badAnnotation.json!.response.allowed, false);
  assert.match(badAnnotation.json!.response.status!.message, /pod default\/p: metadata\.annotations\['traffic\.sidecar\.istio\.io\/excludeOutboundPorts'\]: "many" is not a port/);
  const optOut = await post(reviewOf({ ...pod, metadata: { name: 'p', labels: { 'sidecar.istio.io/inject': 'false' } } }));
  assert.deepEqual(optOut.json!.response, { uid: 'u-1', allowed: true });
});

test('an oversized body gets 413, and the webhook answers the next review', async () => {
  const big = reviewOf({ metadata: { name: 'p', annotations: { filler: 'x'.repeat(MAX_BODY) } }, spec: { containers: [{ name: 'a', image: 'a' }] } });
  const r = await post(big).catch((err: Error) => ({ status: -1, text: err.message }));
  // The server answers 413 and closes; a client still writing may see the reset instead.
  assert.ok(r.status === 413 || /ECONNRESET|EPIPE|socket hang up/.test(r.text), `413 or a reset, got ${r.status} ${r.text}`);
  if (r.status === 413) assert.match(r.text, /over the webhook's limit of 262144 bytes/);
  const next = await post(reviewOf({ metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a' }] } }));
  assert.equal(next.json!.response.allowed, true);
});

test('TLS: the certificate is issued by the mesh CA for the Service name; another name is refused', async () => {
  const ok = await post(reviewOf({ metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a' }] } }), { servername: 'weft-control-plane.weft-system.svc.cluster.local' });
  assert.equal(ok.status, 200);
  await assert.rejects(post('{}', { servername: 'evil.example.com' }), /does not match certificate's altnames|ERR_TLS_CERT_ALTNAME_INVALID/);
});

test('weft control-plane --webhook-port serves it; --inject-cni and --no-inject-native-sidecar reach the mutation', async () => {
  const procs: Proc[] = [];
  const dir = fs.mkdtempSync(path.join(cp.dir, 'cli-'));
  try {
    const [xds, secure, monitor, webhook] = await freePorts(4);
    fs.mkdirSync(path.join(dir, 'config'));
    procs.push(
      spawnWeft('control-plane', [
        'control-plane', '--config-dir', path.join(dir, 'config'), '--ca-dir', path.join(dir, 'ca'), '--xds-address', `127.0.0.1:${xds}`, '--secure-xds-port', String(secure),
        '--monitor-address', `127.0.0.1:${monitor}`, '--webhook-port', String(webhook), '--inject-cni', '--no-inject-native-sidecar',
      ]),
    );
    await waitFor('the webhook', async () => /serving the injection webhook on https:\/\/127\.0\.0\.1:\d+\/inject/.test(procs[0].output()), 15_000, procs);
    const root = fs.readFileSync(path.join(dir, 'ca', 'root-cert.pem'), 'utf8');
    const reply = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: webhook, method: 'POST', path: '/inject', ca: root, servername: SERVICE_NAME }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(reviewOf({ metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a' }] } }));
    });
    const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a' }] } };
    applyPatch(pod, JSON.parse(Buffer.from(JSON.parse(reply).response.patch, 'base64').toString()));
    const spec = pod.spec as { containers: { name: string }[]; initContainers?: unknown[] };
    assert.deepEqual(spec.containers.map((c) => c.name), ['weft-proxy', 'a'], 'a plain sidecar, first');
    assert.equal(spec.initContainers, undefined, 'CNI: no capture init container');
    // No --inject-ca-root-configmap: the pod carries the CA's root, mounted where --ca-root-file reads it.
    const meta = pod.metadata as { annotations?: Record<string, string> };
    assert.equal(meta.annotations?.['weft.dev/ca-root'], root);
    const volume = (pod.spec as unknown as { volumes: { name: string; downwardAPI?: unknown }[] }).volumes.find((v) => v.name === 'weft-ca-root');
    assert.deepEqual(volume?.downwardAPI, { items: [{ path: 'root-cert.pem', fieldRef: { fieldPath: "metadata.annotations['weft.dev/ca-root']" } }] });
    const cli = injectManifest(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a' }] } }), 'p.json', {
      ...defaultInjectOptions,
      nativeSidecar: false,
      cni: true,
      caRoot: { pem: root },
    });
    const { apiVersion: _a, kind: _k, ...fromCli } = parseYaml(cli.output);
    assert.deepEqual(pod, fromCli, 'the same as weft inject --ca-root-file --cni --no-native-sidecar');
  } finally {
    await stopAll(procs);
  }
});

test("every request counts in the control plane's sidecar_injection_* metrics, by how it ended", async () => {
  const metric = async (name: string, type?: string) => {
    const text = await (await fetch(`http://127.0.0.1:${cp.cp.monitorPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(type ? `${name}{type="${type}"} ` : `${name} `));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const names = [['sidecar_injection_requests_total'], ['sidecar_injection_success_total'], ['sidecar_injection_skip_total'], ['sidecar_injection_failure_total', 'denied'], ['sidecar_injection_failure_total', 'malformed']] as const;
  const before = await Promise.all(names.map(([n, t]) => metric(n, t)));
  const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'a' }] } };
  assert.ok((await post(reviewOf(pod))).json!.response.patch, 'injected');
  await post(reviewOf({ ...pod, metadata: { name: 'p', labels: { 'sidecar.istio.io/inject': 'false' } } }));
  await post(reviewOf({ ...pod, metadata: { name: 'p', annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': 'many' } } }));
  assert.equal((await post('{not json')).status, 400);
  const after = await Promise.all(names.map(([n, t]) => metric(n, t)));
  assert.deepEqual(after.map((v, i) => v - before[i]!), [4, 1, 1, 1, 1]);
});
