// `weft inject`: every Istio injection fixture and the bookinfo platform manifests inject cleanly, the
// output validates and matches its golden file (UPDATE_GOLDEN=1 npm test rewrites them), injecting
// twice equals injecting once, and documents that are no workload pass through unchanged.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { injectManifest } from '../../src/inject/manifest.js';
import { defaultInjectOptions, type InjectOptions } from '../../src/inject/options.js';
import { fixturesDir, repoRoot } from '../helpers/paths.js';
import { weftBin } from '../helpers/processes.js';
import { validateWithKubernetesSchema } from '../helpers/k8s-schema.js';
import { assertValidInjectedPod, templatesOf } from './pod-checks.js';

const goldenDir = path.join(repoRoot, 'test/inject/golden');
const injectDir = path.join(fixturesDir, 'istio/inject');
const platformDir = path.join(fixturesDir, 'istio/bookinfo/platform');
const inputs = [
  ...fs.readdirSync(injectDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(injectDir, f)),
  ...fs.readdirSync(platformDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(platformDir, f)),
];
const variants: Record<string, Partial<InjectOptions>> = {
  '': {},
  '.no-native': { nativeSidecar: false },
  '.cni': { cni: true },
};
const OPTED_OUT = new Set(['hello-ignore.yaml']);
/** Versioned Services only: nothing to inject, all passes through. */
const NO_WORKLOADS = new Set(['bookinfo-versions.yaml']);

function inject(text: string, file: string, o: Partial<InjectOptions> = {}): string {
  const r = injectManifest(text, file, { ...defaultInjectOptions, ...o });
  assert.deepEqual(r.errors, [], `${file} injects without errors`);
  return r.output;
}

test('the fixtures are there (a missing directory must not pass as nothing to check)', () => {
  assert.ok(inputs.length >= 11, `found ${inputs.length} inputs`);
});

for (const file of inputs) {
  const base = path.basename(file, '.yaml');
  for (const [suffix, o] of Object.entries(variants)) {
    // Variants for the files whose shape they change; every file gets the default.
    if (suffix !== '' && !['hello', 'job', 'cronjob', 'hello-probes', 'traffic-annotations'].includes(base)) continue;
    test(`inject ${base}${suffix}: validates, matches its golden file, and injecting again changes nothing`, async () => {
      const text = fs.readFileSync(file, 'utf8');
      const got = inject(text, file, o);
      const golden = path.join(goldenDir, `${base}${suffix}.yaml`);
      if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(golden, got);
      assert.ok(fs.existsSync(golden), `${golden} missing: run UPDATE_GOLDEN=1 npm test`);
      assert.equal(got, fs.readFileSync(golden, 'utf8'), `${base}${suffix} differs from its golden file (UPDATE_GOLDEN=1 npm test to accept)`);
      assert.equal(inject(got, golden, o), got, 'idempotent: the injected output injected again is the same text');

      const before = parseAllDocuments(text).map((d) => d.toJS()).filter((d) => d !== null);
      const after = parseAllDocuments(got).map((d) => d.toJS()).filter((d) => d !== null);
      assert.equal(after.length, before.length, 'same number of documents');
      let injected = 0;
      for (const [i, doc] of after.entries()) {
        const pods = templatesOf(doc);
        if (pods.length === 0 || OPTED_OUT.has(path.basename(file))) {
          assert.deepEqual(doc, before[i], `document ${i + 1} (no workload, or opted out) passes through unchanged`);
          continue;
        }
        // The whole injected object against its Kubernetes schema (each item of a List).
        for (const obj of doc.kind === 'List' ? doc.items : [doc])
          await validateWithKubernetesSchema(obj).catch((err: Error) => assert.fail(`${base} document ${i + 1} ${obj.kind}: ${err.message}`));
        for (const [j, pod] of pods.entries()) {
          assertValidInjectedPod(pod, `${base} document ${i + 1} template ${j + 1}`);
          // The app's own containers are all still there, in their order.
          const appNames = templatesOf(before[i])[j].spec.containers.map((c) => c.name);
          assert.deepEqual(pod.spec.containers.map((c) => c.name).filter((n) => n !== 'weft-proxy'), appNames);
          injected++;
        }
      }
      assert.equal(injected > 0, !OPTED_OUT.has(path.basename(file)) && !NO_WORKLOADS.has(path.basename(file)), 'injected exactly where there are workloads that do not opt out');
    });
  }
}

test('bookinfo: each of the Deployments gets a sidecar; Services and ServiceAccounts pass through', () => {
  const file = path.join(platformDir, 'bookinfo.yaml');
  const docs = parseAllDocuments(inject(fs.readFileSync(file, 'utf8'), file)).map((d) => d.toJS());
  const deployments = docs.filter((d) => d?.kind === 'Deployment');
  assert.equal(deployments.length, 6);
  for (const d of deployments) {
    const proxy = d.spec.template.spec.initContainers.find((c: { name: string }) => c.name === 'weft-proxy');
    const args: string[] = proxy.args;
    assert.equal(args[args.indexOf('--service') + 1], d.spec.template.metadata.labels.app, `${d.metadata.name}: the proxy registers under the app label`);
    assert.match(args[args.indexOf('--labels') + 1], new RegExp(`version=${d.spec.template.metadata.labels.version}`));
    assert.equal(args[args.indexOf('--app-port') + 1], '9080');
  }
});

test('comments, key order and quoting outside what changed are kept', () => {
  const file = path.join(injectDir, 'traffic-annotations.yaml');
  const got = inject(fs.readFileSync(file, 'utf8'), file);
  assert.match(got, /# We set 4 CPUs here and concurrency=0 below\. Expect concurrency to be set to 4\./);
  assert.match(got, /traffic\.sidecar\.istio\.io\/includeInboundPorts: "1,2,3"/);
  assert.ok(got.indexOf('replicas: 7') < got.indexOf('selector:'), 'key order kept');
  const bookinfo = path.join(platformDir, 'bookinfo.yaml');
  assert.match(inject(fs.readFileSync(bookinfo, 'utf8'), bookinfo), /^# Copyright Istio Authors/);
});

test('traffic annotations become the weft iptables flags; proxy config and resources are honoured', () => {
  const file = path.join(injectDir, 'traffic-annotations.yaml');
  const pod = parseYaml(inject(fs.readFileSync(file, 'utf8'), file)).spec.template;
  const init = pod.spec.initContainers.find((c: { name: string }) => c.name === 'weft-init');
  const flag = (args: string[], name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  assert.deepEqual(init.command, ['weft']);
  assert.equal(init.args[0], 'iptables');
  assert.equal(flag(init.args, '--include-inbound-ports'), '1,2,3');
  assert.equal(flag(init.args, '--exclude-inbound-ports'), '15090,15021,15020,4,5,6');
  assert.equal(flag(init.args, '--exclude-outbound-ports'), '7,8,9');
  assert.equal(flag(init.args, '--include-outbound-cidrs'), '127.0.0.1/24,10.96.0.1/24');
  assert.equal(flag(init.args, '--exclude-outbound-cidrs'), '10.96.0.2/24,10.96.0.3/24');
  assert.equal(flag(init.args, '--proxy-uid'), '1337');
  const proxy = pod.spec.initContainers.find((c: { name: string }) => c.name === 'weft-proxy');
  assert.equal(flag(proxy.args, '--xds-address'), 'foo:123', 'proxy.istio.io/config discoveryAddress');
  assert.equal(flag(proxy.args, '--mode'), 'transparent');
  assert.equal(proxy.resources.requests.cpu, '4000m', 'sidecar.istio.io/proxyCPU');
  assert.equal(proxy.resources.limits.cpu, '4000m', 'the limit rises with a request above the default limit');
  assert.deepEqual(proxy.env.find((e: { name: string }) => e.name === 'FOO'), { name: 'FOO', value: 'bar' }, 'proxyMetadata becomes the proxy env');
});

test('probes: httpGet (named and numbered ports) go through the status port; exec probes stay; the proxy gets the originals', () => {
  const file = path.join(injectDir, 'hello-probes.yaml');
  const pod = parseYaml(inject(fs.readFileSync(file, 'utf8'), file)).spec.template;
  const [hello, world] = pod.spec.containers;
  assert.deepEqual(hello.livenessProbe, { httpGet: { path: '/app-health/hello/livez', port: 15020, scheme: 'HTTP' } });
  assert.deepEqual(hello.readinessProbe, { httpGet: { path: '/app-health/hello/readyz', port: 15020, scheme: 'HTTP' } });
  assert.deepEqual(world.readinessProbe, { exec: { command: ['cat', '/tmp/healthy'] } });
  assert.deepEqual(hello.lifecycle.preStop, { httpGet: { port: 91 } }, 'lifecycle hooks are not probes');
  const proxy = pod.spec.initContainers.find((c: { name: string }) => c.name === 'weft-proxy');
  const probers = JSON.parse(proxy.env.find((e: { name: string }) => e.name === 'ISTIO_KUBE_APP_PROBERS').value);
  assert.deepEqual(probers, {
    '/app-health/hello/livez': { httpGet: { path: '/', port: 80, scheme: 'HTTP' }, timeoutSeconds: 1 },
    '/app-health/hello/readyz': { httpGet: { path: '/', port: 3333, scheme: 'HTTP' }, timeoutSeconds: 1 },
    '/app-health/world/livez': { httpGet: { path: '/', port: 90, scheme: 'HTTP' }, timeoutSeconds: 1 },
  });
});

test('--no-native-sidecar: the proxy is the first container and holds the app until ready; native: an init container with restartPolicy Always', () => {
  const file = path.join(injectDir, 'job.yaml');
  const text = fs.readFileSync(file, 'utf8');
  const plain = parseYaml(inject(text, file, { nativeSidecar: false })).spec.template.spec;
  assert.equal(plain.containers[0].name, 'weft-proxy');
  assert.equal(plain.containers[0].restartPolicy, undefined);
  assert.deepEqual(plain.containers[0].lifecycle.postStart.exec.command.slice(0, 4), ['weft', 'wait', '--url', 'http://127.0.0.1:15020/healthz/ready']);
  assert.deepEqual(plain.initContainers.map((c: { name: string }) => c.name), ['weft-init']);
  const native = parseYaml(inject(text, file)).spec.template.spec;
  assert.deepEqual(native.initContainers.map((c: { name: string }) => c.name), ['weft-init', 'weft-proxy']);
  assert.equal(native.initContainers[1].restartPolicy, 'Always');
  assert.equal(native.initContainers[1].startupProbe.httpGet.path, '/healthz/ready');
  const cni = parseYaml(inject(text, file, { cni: true })).spec.template.spec;
  assert.deepEqual(cni.initContainers.map((c: { name: string }) => c.name), ['weft-proxy'], 'CNI mode: no capture init container');
});

const bad = (annotations: Record<string, string>) => `apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: ns1
  annotations: ${JSON.stringify(annotations)}
spec:
  containers:
  - name: app
    image: app
`;
const errorCases: { name: string; input: string; error: RegExp }[] = [
  { name: 'a port list with a word', input: bad({ 'traffic.sidecar.istio.io/excludeOutboundPorts': '80,http' }), error: /x\.yaml: document 1 \(line 1\): Pod ns1\/p: metadata\.annotations\['traffic\.sidecar\.istio\.io\/excludeOutboundPorts'\]: "http" is not a port \(1-65535\) \[WEFT_E_INJECT_ANNOTATION\]/ },
  { name: 'a port out of range', input: bad({ 'traffic.weft.dev/includeInboundPorts': '70000' }), error: /traffic\.weft\.dev\/includeInboundPorts'\]: "70000" is not a port \(1-65535\) or '\*'/ },
  { name: 'a CIDR with a prefix too long', input: bad({ 'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.0.0.0/33' }), error: /excludeOutboundIPRanges'\]: "10\.0\.0\.0\/33" is not a CIDR/ },
  { name: 'an interface name too long', input: bad({ 'traffic.sidecar.istio.io/excludeInterfaces': 'averyveryverylongname0' }), error: /excludeInterfaces'\]: "averyveryverylongname0" is not an interface name/ },
  { name: 'a bad quantity', input: bad({ 'sidecar.istio.io/proxyMemory': 'lots' }), error: /proxyMemory'\]: must be a Kubernetes quantity/ },
  { name: 'inject neither true nor false', input: bad({ 'sidecar.istio.io/inject': 'yes' }), error: /sidecar\.istio\.io\/inject'\]: must be "true" or "false"/ },
  { name: 'proxy config not YAML', input: bad({ 'proxy.istio.io/config': 'a: [' }), error: /proxy\.istio\.io\/config'\]: is not YAML/ },
  { name: 'a proxy config field Weft does not implement', input: bad({ 'proxy.istio.io/config': 'tracing: {}' }), error: /proxy\.istio\.io\/config'\]\.tracing: is a ProxyConfig field Weft does not implement/ },
  { name: 'a limit below the request', input: bad({ 'sidecar.istio.io/proxyCPU': '3', 'sidecar.istio.io/proxyCPULimit': '1' }), error: /spec\.initContainers\[1\]\.resources\.requests\.cpu: 3 is above its limit 1 \[WEFT_E_INJECT_OUTPUT\]/ },
  { name: 'a Deployment without template', input: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n', error: /Deployment d: spec\.template: the pod template must be a mapping with metadata and spec \[WEFT_E_INJECT_WORKLOAD\]/ },
  { name: 'a probe naming a port the container lacks', input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: a, livenessProbe: {httpGet: {port: web}}}\n', error: /spec\.containers\[0\]\.livenessProbe\.httpGet\.port: names port "web", which container a does not declare/ },
  { name: 'a port the sidecar takes', input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: a, ports: [{containerPort: 15020}]}\n', error: /port 15020\/TCP is also spec\.initContainers\[1\]\.ports\[0\].*WEFT_E_INJECT_OUTPUT/ },
  { name: 'not YAML', input: 'kind: Pod\n  x: [\n', error: /x\.yaml: document 1 \(line \d\): .*WEFT_E_INJECT_INPUT/ },
];
for (const c of errorCases)
  test(`error: ${c.name}`, () => {
    const r = injectManifest(c.input, 'x.yaml', defaultInjectOptions);
    assert.ok(r.errors.length > 0, 'refused');
    assert.match(r.errors.map((e) => e.message).join('\n'), c.error);
  });

test('opt-out by label or annotation, host network and an Istio-injected pod are left as they are', () => {
  const pods = [
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {sidecar.istio.io/inject: "false"}}\nspec: {containers: [{name: a, image: a}]}\n',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {weft.dev/inject: "false"}}\nspec: {containers: [{name: a, image: a}]}\n',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: true, containers: [{name: a, image: a}]}\n',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: a}, {name: istio-proxy, image: istio}]}\n',
  ];
  for (const p of pods) {
    const r = injectManifest(p, 'p.yaml', defaultInjectOptions);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(parseYaml(r.output), parseYaml(p));
    assert.match(r.report[0], /not injected/);
  }
});

test('--ca-root-file: the root travels in the pod (annotation, downward-API volume) instead of a ConfigMap', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-inject-'));
  try {
    const root = path.join(dir, 'root-cert.pem');
    fs.writeFileSync(root, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const out = execFileSync(process.execPath, [weftBin, 'inject', '-f', path.join(injectDir, 'hello.yaml'), '--ca-root-file', root], { encoding: 'utf8' });
    const pod = parseYaml(out).spec.template;
    assert.equal(pod.metadata.annotations['weft.dev/ca-root'], fs.readFileSync(root, 'utf8'));
    const volume = pod.spec.volumes.find((v: { name: string }) => v.name === 'weft-ca-root');
    assert.deepEqual(volume.downwardAPI.items, [{ path: 'root-cert.pem', fieldRef: { fieldPath: "metadata.annotations['weft.dev/ca-root']" } }]);
    assert.equal(inject(out, 'again.yaml', { caRoot: { pem: fs.readFileSync(root, 'utf8') } }), out, 'injecting again changes nothing');
    fs.writeFileSync(root, 'not a certificate');
    const bad = spawnSync(process.execPath, [weftBin, 'inject', '-f', path.join(injectDir, 'hello.yaml'), '--ca-root-file', root], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--ca-root-file: .* holds no PEM certificate/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('JSON in (kubectl get -o json, a List), JSON out, injected as the YAML would be', () => {
  const file = path.join(injectDir, 'hello.yaml');
  const yamlText = fs.readFileSync(file, 'utf8');
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [parseYaml(yamlText)] }, null, 2);
  const out = inject(list, 'hello.json');
  const parsed = JSON.parse(out);
  assert.deepEqual(parsed.items[0], parseYaml(inject(yamlText, file)));
});

test('YAML anchors: a selector aliased to the template labels stays as it was; an alias to another document is an input error', () => {
  const shared = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  selector:\n    matchLabels: &l\n      app: a\n  template:\n    metadata:\n      labels: *l\n    spec:\n      containers:\n        - {name: a, image: a}\n';
  const d = parseYaml(inject(shared, 'shared.yaml'));
  assert.deepEqual(d.spec.selector, { matchLabels: { app: 'a' } }, 'the selector (immutable in a Deployment) is not changed through the anchor');
  assert.equal(d.spec.template.metadata.labels['security.istio.io/tlsMode'], 'istio');
  assertValidInjectedPod(d.spec.template, 'shared.yaml');
  const across = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: &l {app: a}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: *l}\nspec: {containers: [{name: a, image: a}]}\n';
  const r = injectManifest(across, 'across.yaml', defaultInjectOptions);
  assert.match(r.errors.map((e) => e.message).join('\n'), /across\.yaml: document 2 \(line \d+\): .*alias.*\[WEFT_E_INJECT_INPUT\]/i);
});

test('the CLI: -f FILE and - (stdin) give the same output; a bad file exits 1 with the error and no output', () => {
  const file = path.join(injectDir, 'hello.yaml');
  const fromFile = execFileSync(process.execPath, [weftBin, 'inject', '-f', file], { encoding: 'utf8' });
  const fromStdin = execFileSync(process.execPath, [weftBin, 'inject', '-f', '-'], { encoding: 'utf8', input: fs.readFileSync(file) });
  assert.equal(fromStdin, fromFile.replace(file, '<stdin>'));
  assert.equal(fromFile, fs.readFileSync(path.join(goldenDir, 'hello.yaml'), 'utf8'));
  const failed = spawnSync(process.execPath, [weftBin, 'inject', '-f', '-'], { encoding: 'utf8', input: bad({ 'sidecar.istio.io/inject': 'maybe' }) });
  assert.equal(failed.status, 1);
  assert.equal(failed.stdout, '');
  assert.match(failed.stderr, /<stdin>: document 1 .*Pod ns1\/p: metadata\.annotations\['sidecar\.istio\.io\/inject'\]: must be "true" or "false"/);
  const missing = spawnSync(process.execPath, [weftBin, 'inject', '-f', '/nonexistent.yaml'], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /\/nonexistent\.yaml: ENOENT/);
});

test('DNS capture is refused while the proxy serves no DNS (the pod would lose name resolution)', () => {
  const r = injectManifest(bad({ 'proxy.istio.io/config': 'proxyMetadata:\n  ISTIO_META_DNS_CAPTURE: "true"\n' }), 'dns.yaml', defaultInjectOptions);
  assert.match(r.errors.map((e) => e.message).join('\n'), /proxy\.istio\.io\/config'\]\.proxyMetadata\.ISTIO_META_DNS_CAPTURE: asks for DNS capture, but the Weft proxy serves no DNS yet/);
});
