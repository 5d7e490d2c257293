// `weft install`: the default output as a golden file (UPDATE_GOLDEN=1 rewrites it), the CLI's
// errors, the CA flag, the control plane's container args run for real, the webhook's ORed opt-ins,
// and CRDs that follow the kind registry.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { parseAllDocuments } from 'yaml';
import { installOutput } from '../../src/cli/install.js';
import { loadCaRoot } from '../../src/install/ca-bundle.js';
import { configCrds, pluralOf } from '../../src/install/crds.js';
import { installation } from '../../src/install/install.js';
import type { InstallOptions, K8sObject } from '../../src/install/manifest.js';
import { repoRoot } from '../helpers/paths.js';
import { spawnWeft, waitFor, weftBin } from '../helpers/processes.js';

const weft = (...args: string[]) => spawnSync(process.execPath, [weftBin, ...args], { encoding: 'utf8' });
const tmpDir = (t: { after(fn: () => void): void }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-install-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
};
const OPTIONS: InstallOptions = { namespace: 'weft-system', image: 'weft:test', trustDomain: 'cluster.local', cni: false, skipCrds: false };

test('`weft install` prints the golden default manifests', () => {
  const r = weft('install');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /no --ca-dir: the injection webhook has no caBundle/);
  const file = path.join(repoRoot, 'test/install/golden/default.yaml');
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, r.stdout);
  assert.ok(fs.existsSync(file), `${file} missing: run UPDATE_GOLDEN=1 npm test`);
  assert.equal(r.stdout, fs.readFileSync(file, 'utf8'), 'weft install differs from its golden file (UPDATE_GOLDEN=1 npm test to accept)');
});

test('-o json is one List holding the same objects as the YAML', async () => {
  const yaml = await installOutput({ ...OPTIONS, output: 'yaml', cni: true }, () => {});
  const json = JSON.parse(await installOutput({ ...OPTIONS, output: 'json', cni: true }, () => {})) as { kind: string; items: unknown[] };
  assert.equal(json.kind, 'List');
  assert.deepEqual(json.items, parseAllDocuments(yaml).map((d) => d.toJS()).filter((o) => o !== null));
});

test('bad flags get an error naming the flag, exit code 2', () => {
  for (const [args, pattern] of [
    [['--namespace', 'Weft_System'], /WEFT_E_INSTALL_FLAG: --namespace: "Weft_System" is not a DNS label/],
    [['--image', ''], /WEFT_E_INSTALL_FLAG: --image/],
    [['--trust-domain', 'Bad Domain'], /WEFT_E_INSTALL_FLAG: --trust-domain/],
    [['-o', 'xml'], /argument 'xml' is invalid/],
  ] as const) {
    const r = weft('install', ...args);
    assert.notEqual(r.status, 0, `${args.join(' ')} fails`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stdout, '');
  }
});

test('--ca-dir: an empty dir gets a CA (the control plane\'s own code), whose root is the webhook caBundle; a readable key is refused', async (t) => {
  const dir = path.join(tmpDir(t), 'ca');
  const out = await installOutput({ ...OPTIONS, output: 'json', caDir: dir }, () => {});
  const root = fs.readFileSync(path.join(dir, 'root-cert.pem'), 'utf8');
  for (const f of ['ca-key.pem', 'ca-cert.pem', 'cert-chain.pem', 'token-signing-key.pem']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  const webhook = (JSON.parse(out) as { items: K8sObject[] }).items.find((o) => o.kind === 'MutatingWebhookConfiguration') as unknown as { webhooks: { clientConfig: { caBundle: string } }[] };
  assert.equal(webhook.webhooks.length, 3);
  for (const w of webhook.webhooks) assert.equal(Buffer.from(w.clientConfig.caBundle, 'base64').toString(), root);
  assert.equal(await loadCaRoot(dir, 'cluster.local', () => {}), root, 'a second run reads the same CA');
  assert.doesNotMatch(out, /PRIVATE KEY/, 'no key in the manifests');
  fs.chmodSync(path.join(dir, 'ca-key.pem'), 0o644);
  const r = weft('install', '--ca-dir', dir);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /WEFT_E_INSTALL_CA: --ca-dir .*ca-key\.pem: key file mode is 0644/);
});

test("the Deployment's container args start the real control plane (paths and ports mapped to this machine)", async (t) => {
  const dir = tmpDir(t);
  const caDir = path.join(dir, 'ca');
  await loadCaRoot(caDir, 'cluster.local', () => {});
  fs.mkdirSync(path.join(dir, 'sa'));
  fs.writeFileSync(path.join(dir, 'sa/ca.crt'), '-----BEGIN CERTIFICATE-----\n');
  fs.writeFileSync(path.join(dir, 'sa/token'), 'token');
  const deployment = installation(OPTIONS).objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { command: string[]; args: string[] }[] } } } };
  const { command, args } = deployment.spec.template.spec.containers[0];
  assert.deepEqual(command, ['weft']);
  const local = args.map((a) =>
    a
      .replace('/etc/weft/config', path.join(dir, 'config'))
      .replace('/etc/weft/ca', caDir)
      .replace('/var/run/secrets/kubernetes.io/serviceaccount', path.join(dir, 'sa'))
      .replace(/0\.0\.0\.0:\d+/, '127.0.0.1:0')
      .replace(/^--secure-xds-port=\d+$/, '--secure-xds-port=0'),
  );
  assert.equal(local.filter((a, i) => a !== args[i]).length, 7, 'only paths and listen ports were mapped');
  const cp = spawnWeft('control-plane', local);
  t.after(() => cp.stop());
  const securePort = await waitFor('the control plane serving xDS over mTLS', async () => Number(/serving xDS over mTLS and the CA on 127\.0\.0\.1:(\d+)/.exec(cp.output())?.[1]), 20_000, [cp]);
  assert.equal(cp.child.exitCode, null, cp.output());
  // What proxies and the API server do: verify the serving certificate by the Service's name against the CA root.
  const root = fs.readFileSync(path.join(caDir, 'root-cert.pem'), 'utf8');
  for (const servername of ['weft-control-plane.weft-system.svc', 'weft-control-plane.weft-system.svc.cluster.local']) {
    const verified = await new Promise<boolean>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: securePort, servername, ca: root, ALPNProtocols: ['h2'] }, () => {
        resolve(socket.authorized);
        socket.destroy();
      });
      socket.once('error', reject);
    });
    assert.ok(verified, `the serving certificate verifies as ${servername}`);
  }
});

// ---- the webhook's opt-ins: a webhook's selectors AND, so each OR branch is its own webhook ----

type Requirement = { key: string; operator: 'In' | 'NotIn' | 'DoesNotExist' | 'Exists'; values?: string[] };
const matches = (reqs: Requirement[], labels: Record<string, string>) =>
  reqs.every((r) => {
    const v = labels[r.key];
    if (r.operator === 'In') return v !== undefined && r.values!.includes(v);
    if (r.operator === 'NotIn') return v === undefined || !r.values!.includes(v);
    if (r.operator === 'Exists') return v !== undefined;
    return v === undefined;
  });

test('injection: weft-injection=enabled OR istio-injection=enabled OR the pod label, one webhook call per pod', () => {
  const config = installation(OPTIONS).objects.find((o) => o.kind === 'MutatingWebhookConfiguration') as unknown as {
    webhooks: { name: string; namespaceSelector: { matchExpressions: Requirement[] }; objectSelector: { matchExpressions: Requirement[] }; clientConfig: { service: { path: string; port: number } } }[];
  };
  const calls = (ns: Record<string, string>, pod: Record<string, string>) =>
    config.webhooks.filter((w) => matches(w.namespaceSelector.matchExpressions, ns) && matches(w.objectSelector.matchExpressions, pod)).map((w) => w.name.split('.')[0]);
  const cases: { ns: Record<string, string>; pod: Record<string, string>; want: string[] }[] = [
    { ns: { 'weft-injection': 'enabled' }, pod: {}, want: ['namespace'] },
    { ns: { 'istio-injection': 'enabled' }, pod: {}, want: ['istio-namespace'] },
    { ns: { 'weft-injection': 'enabled', 'istio-injection': 'enabled' }, pod: {}, want: ['namespace'] },
    { ns: { 'weft-injection': 'enabled' }, pod: { 'sidecar.istio.io/inject': 'false' }, want: [] },
    { ns: { 'istio-injection': 'enabled' }, pod: { 'sidecar.istio.io/inject': 'false' }, want: [] },
    { ns: {}, pod: { 'sidecar.istio.io/inject': 'true' }, want: ['object'] },
    { ns: {}, pod: {}, want: [] },
    { ns: { 'weft-injection': 'disabled' }, pod: { 'sidecar.istio.io/inject': 'true' }, want: [] },
    { ns: { 'weft-injection': 'disabled', 'istio-injection': 'enabled' }, pod: {}, want: [] },
  ];
  for (const c of cases) assert.deepEqual(calls(c.ns, c.pod), c.want, `namespace ${JSON.stringify(c.ns)}, pod ${JSON.stringify(c.pod)}`);
  for (const w of config.webhooks) assert.deepEqual(w.clientConfig.service, { name: 'weft-control-plane', namespace: 'weft-system', path: '/inject', port: 15017 });
});

// ---- CRDs follow the registry ----

test('a kind added to the registry gets its CRD; a Gateway API kind is left to the upstream CRDs with a note', () => {
  const set = configCrds([
    { group: 'split.smi-spec.io', versions: ['v1alpha4', 'v1alpha3'], kind: 'TrafficSplit' },
    { group: 'gateway.networking.k8s.io', versions: ['v1'], kind: 'HTTPRoute' },
    { group: 'telemetry.istio.io', versions: ['v1'], kind: 'Telemetry', specFields: { selector: 'object', metrics: 'objects' } },
  ]);
  assert.deepEqual(set.crds.map((c) => c.metadata.name), ['trafficsplits.split.smi-spec.io', 'telemetries.telemetry.istio.io']);
  const split = set.crds[0] as unknown as { spec: { versions: { name: string; storage: boolean; schema: { openAPIV3Schema: { properties: { spec: unknown } } } }[] } };
  assert.deepEqual(split.spec.versions.map((v) => [v.name, v.storage]), [['v1alpha4', true], ['v1alpha3', false]]);
  assert.deepEqual(split.spec.versions[0].schema.openAPIV3Schema.properties.spec, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, 'no specFields: spec stays open');
  assert.equal(set.notes.length, 1);
  assert.match(set.notes[0], /^gateway\.networking\.k8s\.io \(HTTPRoute\) CRDs not included/);
  assert.equal(installation({ ...OPTIONS, skipCrds: true }).objects.filter((o) => o.kind === 'CustomResourceDefinition').length, 0);
});

test("plurals follow Kubernetes' rule", () => {
  const cases = { VirtualService: 'virtualservices', AuthorizationPolicy: 'authorizationpolicies', ServiceEntry: 'serviceentries', Gateway: 'gateways', Telemetry: 'telemetries', HTTPRouteGroup: 'httproutegroups', Mesh: 'meshes', Address: 'addresses' };
  for (const [kind, plural] of Object.entries(cases)) assert.equal(pluralOf(kind), plural, kind);
});

test('--namespace reaches every reference to the control plane', async () => {
  const out = await installOutput({ ...OPTIONS, namespace: 'mesh', output: 'json', cni: true }, () => {});
  const items = (JSON.parse(out) as { items: K8sObject[] }).items;
  assert.doesNotMatch(out, /weft-system/);
  const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration']);
  for (const o of items) assert.equal(o.metadata.namespace, clusterScoped.has(o.kind) ? undefined : 'mesh', `${o.kind} ${o.metadata.name}`);
  assert.equal(items[0].metadata.name, 'mesh');
  assert.match(out, /--serving-dns-names=weft-control-plane\.mesh\.svc,weft-control-plane\.mesh\.svc\.cluster\.local/);
  const binding = items.find((o) => o.kind === 'ClusterRoleBinding') as unknown as { subjects: { namespace: string }[] };
  assert.equal(binding.subjects[0].namespace, 'mesh');
});
