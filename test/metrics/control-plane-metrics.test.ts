// The control plane's /metrics under istiod's names, from a real ControlPlane (CA on) with real gRPC
// peers: connected proxies by version, pushes and config sizes by type, NACKs, push triggers,
// convergence, config events and validation results per resource, and CSR outcomes. Each count is
// asserted exactly against what the test did.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { TypeUrl, type DiscoveryRequestWire, type DiscoveryResponseWire } from '../../src/api/envoy.js';
import { WEFT_VERSION } from '../../src/api/version.js';
import { TokenAuthority } from '../../src/controlplane/ca/tokens.js';
import { newWorkloadKey } from '../../src/proxy/identity/csr.js';
import { bearer, createCertificate, startSecureControlPlane, tlsTo, type SecureControlPlane } from '../helpers/identity.js';
import { waitFor } from '../helpers/processes.js';
import { openAdsCall, sidecarNode } from '../xds/loopback-ads.js';

let env: SecureControlPlane;
before(async () => {
  env = await startSecureControlPlane({ insecureRegistration: true });
});
after(() => env.close());

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(accept?: string): Promise<{ type: string; text: string; samples: Sample[] }> {
  const res = await fetch(`http://127.0.0.1:${env.cp.monitorPort}/metrics`, { headers: accept ? { accept } : {} });
  assert.equal(res.status, 200);
  const text = await res.text();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { type: res.headers.get('content-type') ?? '', text, samples };
}

/** The sum of a metric's samples whose labels include `labels`. */
async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  const { samples } = await scrape();
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

function connect(id: string, version: string) {
  const c = openAdsCall<Partial<DiscoveryRequestWire>, DiscoveryResponseWire>(`127.0.0.1:${env.cp.xdsPort}`, 'StreamAggregatedResources');
  const node = { ...sidecarNode(id, 'reviews', 'v1', '127.0.1.9'), user_agent_version: version };
  return { ...c, send: (typeUrl: string, extra: object = {}) => c.write({ node, type_url: typeUrl, version_info: '', resource_names: [], response_nonce: '', ...extra }) };
}

const VS = (host: string) =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: default}\nspec:\n  hosts: [${host}]\n  http:\n  - route:\n    - destination: {host: ${host}}\n`;

test('build info, runtime metrics and the CA expiry gauges are exposed, in text 0.0.4 and OpenMetrics', async () => {
  const text = await scrape();
  assert.match(text.type, /^text\/plain; version=0\.0\.4/);
  assert.ok(text.samples.some((s) => s.name === 'istio_build' && s.labels.component === 'pilot' && s.labels.tag === WEFT_VERSION && s.value === 1));
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) assert.ok(text.samples.some((s) => s.name === name), name);
  const ca = env.cp['meshCa']!.describe();
  assert.equal(await value('citadel_server_root_cert_expiry_timestamp'), Math.floor(Date.parse(ca.roots[0]!.not_after) / 1000));
  assert.equal(await value('citadel_server_cert_chain_expiry_timestamp'), Math.floor(Date.parse(ca.signing.not_after) / 1000));
  const open = await scrape('application/openmetrics-text; version=1.0.0');
  assert.match(open.type, /^application\/openmetrics-text/);
  assert.match(open.text, /# EOF\n?$/);
});

test("OpenMetrics keeps the text format's sample names (a Prometheus asking for it stores what Istio's dashboards query), and leaves later text scrapes alone", async () => {
  const open = await scrape('application/openmetrics-text; version=1.0.0');
  // A counter named without _total is `unknown` under its own name, not renamed to name_total.
  assert.match(open.text, /^# TYPE pilot_total_xds_rejects unknown$/m);
  assert.match(open.text, /^pilot_total_xds_rejects\{type="cds"\} \d+$/m);
  assert.doesNotMatch(open.text, /pilot_total_xds_rejects_total/);
  // One named with _total is a counter family of the name without it, its samples unchanged.
  assert.match(open.text, /^# TYPE sidecar_injection_requests counter$/m);
  assert.match(open.text, /^# HELP sidecar_injection_requests /m);
  assert.match(open.text, /^sidecar_injection_requests_total \d+$/m);
  const text = await scrape();
  assert.ok(text.samples.some((s) => s.name === 'sidecar_injection_requests_total'), 'text names unchanged after an OpenMetrics scrape');
  assert.ok(text.samples.some((s) => s.name === 'pilot_total_xds_rejects'));
});

test('labelled counters whose label values are known start at 0, so a dashboard shows 0 rather than no data', async () => {
  const { samples } = await scrape();
  const types = (name: string) => samples.filter((s) => s.name === name).map((s) => s.labels.type).sort();
  assert.deepEqual(types('pilot_total_xds_rejects'), ['cds', 'eds', 'lds', 'rds', 'sds', 'vhds']);
  assert.deepEqual(types('pilot_push_triggers'), ['config', 'endpoint', 'secret']);
  assert.deepEqual(types('sidecar_injection_failure_total'), ['denied', 'internal', 'malformed']);
});

test('a connected proxy counts in pilot_xds by its version; pushes and sizes by type; a NACK in pilot_total_xds_rejects', async () => {
  const c = connect('sidecar~127.0.1.9~reviews-m.default~default.svc.cluster.local', '9.8.7');
  try {
    const pushesBefore = await value('pilot_xds_pushes', { type: 'cds' });
    const sizesBefore = await value('pilot_xds_config_size_bytes_count', { type: 'cds' });
    c.send(TypeUrl.cluster);
    const r = await c.next(5000);
    assert.equal(await value('pilot_xds', { version: '9.8.7' }), 1);
    // Its registration may cause a second CDS push: every CDS response it gets is one push, one size.
    await waitFor('one push counted per CDS response received', async () => (await value('pilot_xds_pushes', { type: 'cds' })) === pushesBefore + 1 + c.pending(), 5000);
    assert.equal(await value('pilot_xds_config_size_bytes_count', { type: 'cds' }), sizesBefore + 1 + c.pending());
    let last = r;
    while (c.pending()) last = await c.next();
    await waitFor('push time observed', async () => (await value('pilot_xds_push_time_count', { type: 'cds' })) >= 1, 5000);
    const rejects = await value('pilot_total_xds_rejects', { type: 'cds' });
    c.send(TypeUrl.cluster, { version_info: '', response_nonce: last.nonce, error_detail: { code: 3, message: 'refused by the test' } });
    await waitFor('NACK counted', async () => (await value('pilot_total_xds_rejects', { type: 'cds' })) === rejects + 1, 5000);
  } finally {
    c.close();
  }
  await waitFor('proxy gone from pilot_xds', async () => (await value('pilot_xds', { version: '9.8.7' })) === 0, 5000);
});

test('config changes count as events and validations per resource, trigger pushes and converge', async () => {
  const file = path.join(env.dir, 'config', 'vs.yaml');
  const c = connect('sidecar~127.0.1.9~reviews-c.default~default.svc.cluster.local', WEFT_VERSION);
  try {
    c.send(TypeUrl.cluster);
    await c.next(5000);
    const triggers = await value('pilot_push_triggers', { type: 'config' });
    const converged = await value('pilot_proxy_convergence_time_count');
    const event = (e: string) => value('pilot_k8s_cfg_events', { type: 'VirtualService', event: e });
    const passed = () => value('galley_validation_passed', { group: 'networking.istio.io', version: 'v1', resource: 'VirtualService' });

    fs.writeFileSync(file, VS('reviews'));
    await waitFor('add counted', async () => (await event('add')) === 1, 10_000);
    assert.equal(await passed(), 1);
    assert.ok((await value('pilot_push_triggers', { type: 'config' })) > triggers);
    // The proxy is pushed the new config; its convergence time is observed once that push is written.
    await waitFor('convergence observed', async () => (await value('pilot_proxy_convergence_time_count')) > converged, 10_000);

    fs.writeFileSync(file, VS('ratings'));
    await waitFor('update counted', async () => (await event('update')) === 1, 10_000);
    assert.equal(await passed(), 2);

    fs.writeFileSync(file, VS('ratings').replace('hosts: [ratings]', 'hosts: [ratings]\n  gateways: 7'));
    await waitFor('failed validation counted', async () => (await value('galley_validation_failed', { resource: 'VirtualService' })) === 1, 10_000);
    const failed = (await scrape()).samples.find((s) => s.name === 'galley_validation_failed');
    assert.match(failed!.labels.reason!, /^WEFT_E_/);

    fs.rmSync(file);
    await waitFor('delete counted', async () => (await event('delete')) === 1, 10_000);
  } finally {
    c.close();
  }
});

test('every CSR counts once, and by its outcome', async () => {
  const key = await newWorkloadKey('spiffe://cluster.local/ns/default/sa/m');
  const token = await TokenAuthority.open(env.caDir, 'cluster.local').create({ namespace: 'default', serviceAccount: 'm', ttlMs: 3600_000 });
  const before = { csr: await value('citadel_server_csr_count'), ok: await value('citadel_server_success_cert_issuance_count'), auth: await value('citadel_server_authentication_failure_count') };
  assert.equal((await createCertificate(env.address, tlsTo(env.rootPem), bearer(token), key.csrPem)).ok, true);
  assert.equal((await createCertificate(env.address, tlsTo(env.rootPem), bearer(undefined), key.csrPem)).ok, false);
  const other = await newWorkloadKey('spiffe://cluster.local/ns/default/sa/other');
  assert.equal((await createCertificate(env.address, tlsTo(env.rootPem), bearer(token), other.csrPem)).ok, false);
  assert.equal(await value('citadel_server_csr_count'), before.csr + 3);
  assert.equal(await value('citadel_server_success_cert_issuance_count'), before.ok + 1);
  assert.equal(await value('citadel_server_authentication_failure_count'), before.auth + 1);
  assert.equal(await value('citadel_server_id_extraction_err_count'), 1);
});
