// `weft install`'s output against Kubernetes' published OpenAPI schemas: each object through the
// kind's validator from kubernetes-models (schemas of the Kubernetes API, compiled with ajv; offline,
// installed by `npm ci`). kubectl cannot do this here: `--dry-run=client --validate` downloads the
// schemas from an API server. Those validators check types, required fields and enums but not unknown
// fields; the builders' `satisfies I<Kind>` types catch those at compile time. The CRDs must also be
// structural, and each one's openAPIV3Schema, with the API server's strict field validation (unknown
// fields refused, as `kubectl apply` asks by default), must accept every fixture of its kind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { KIND_ENTRIES } from '../../src/config/kinds.js';
import { Issues } from '../../src/config/validate/issues.js';
import { installation } from '../../src/install/install.js';
import type { K8sObject } from '../../src/install/manifest.js';
import { validateWithKubernetesSchema } from '../helpers/k8s-schema.js';
import { fixturesDir } from '../helpers/paths.js';

const ROOT_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const everything = installation({ namespace: 'weft-system', image: 'weft:test', caRootPem: ROOT_PEM, trustDomain: 'cluster.local', cni: true, skipCrds: false }).objects;

test('every object of `weft install --cni` validates against its Kubernetes schema', async () => {
  const kinds = new Set(everything.map((o) => o.kind));
  for (const k of ['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Service', 'MutatingWebhookConfiguration', 'ConfigMap', 'DaemonSet'])
    assert.ok(kinds.has(k), `the output has a ${k}`);
  for (const obj of everything) await validateWithKubernetesSchema(obj).catch((err: Error) => assert.fail(`${obj.kind} ${obj.metadata.name}: ${err.message}`));
});

test('the schema validator rejects what the API server would (it can fail)', async () => {
  const deployment = structuredClone(everything.find((o) => o.kind === 'Deployment')!) as K8sObject & { spec: { replicas: unknown; template: { spec: { containers: Record<string, unknown>[] } } } };
  deployment.spec.replicas = 'one';
  delete deployment.spec.template.spec.containers[0].name;
  await assert.rejects(validateWithKubernetesSchema(deployment), /spec\/replicas must be integer.*containers\/0 must have required property name/);
  const webhook = structuredClone(everything.find((o) => o.kind === 'MutatingWebhookConfiguration')!) as K8sObject & { webhooks: Record<string, unknown>[] };
  delete webhook.webhooks[0].sideEffects;
  await assert.rejects(validateWithKubernetesSchema(webhook), /sideEffects/);
  const crd = structuredClone(everything.find((o) => o.kind === 'CustomResourceDefinition')!) as K8sObject & { spec: { versions: Record<string, unknown>[] } };
  crd.spec.versions[0].served = 'yes';
  await assert.rejects(validateWithKubernetesSchema(crd), /served must be boolean/);
});

// ---- CRDs: structural, and accepting the real configs of their kind ----

type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; additionalProperties?: Schema | boolean };
const crds = everything.filter((o) => o.kind === 'CustomResourceDefinition') as (K8sObject & {
  spec: { group: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: Schema } }[] };
})[];
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/** The API server's structural-schema rules that a generator can break. */
function structuralProblems(s: Schema, at: string): string[] {
  const open = s['x-kubernetes-preserve-unknown-fields'] === true || s['x-kubernetes-int-or-string'] === true;
  const out: string[] = [];
  if (!open && !TYPES.has(s.type as string)) out.push(`${at}: type must be one of ${[...TYPES].join(', ')}`);
  if (s.properties && s.additionalProperties !== undefined) out.push(`${at}: properties and additionalProperties are mutually exclusive`);
  if (s.additionalProperties === false) out.push(`${at}: additionalProperties false is not allowed`);
  for (const k of ['$ref', 'definitions', 'anyOf', 'oneOf']) if (k in s) out.push(`${at}: ${k} not allowed here`);
  if (s.type === 'array' && !s.items) out.push(`${at}: an array needs items`);
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...structuralProblems(v, `${at}.properties.${k}`));
  if (s.items) out.push(...structuralProblems(s.items, `${at}.items`));
  if (typeof s.additionalProperties === 'object') out.push(...structuralProblems(s.additionalProperties, `${at}.additionalProperties`));
  return out;
}

/** The schema as strict field validation applies it: where a node lists properties and does not
 * preserve unknown fields, any other field is an error. */
function strict(s: Schema): Schema {
  const out: Schema = { ...s };
  if (s.properties) {
    out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, strict(v)]));
    if (s['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  }
  if (s.items) out.items = strict(s.items);
  if (typeof s.additionalProperties === 'object') out.additionalProperties = strict(s.additionalProperties);
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addKeyword('x-kubernetes-preserve-unknown-fields');
const crdValidators = new Map<string, ValidateFunction>();
for (const crd of crds) crdValidators.set(`${crd.spec.group}/${crd.spec.names.kind}`, ajv.compile(strict(crd.spec.versions[0].schema.openAPIV3Schema)));

test('one structural CRD per registry kind, every registry version served, the first stored', () => {
  assert.deepEqual(crds.map((c) => `${c.spec.group}/${c.spec.names.kind}`), KIND_ENTRIES.map((e) => `${e.group}/${e.kind}`));
  for (const crd of crds) {
    const entry = KIND_ENTRIES.find((e) => e.kind === crd.spec.names.kind)!;
    assert.equal(crd.metadata.name, `${crd.spec.names.plural}.${crd.spec.group}`);
    assert.deepEqual(crd.spec.versions.map((v) => [v.name, v.served, v.storage]), entry.versions.map((v, i) => [v, true, i === 0]));
    for (const v of crd.spec.versions) assert.deepEqual(structuralProblems(v.schema.openAPIV3Schema, `${crd.metadata.name} ${v.name}`), []);
  }
});

function fixtureDocs(): { file: string; obj: Record<string, unknown> }[] {
  const out: { file: string; obj: Record<string, unknown> }[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(e.name))
        for (const doc of parseAllDocuments(fs.readFileSync(p, 'utf8'))) {
          const obj = doc.toJS() as unknown;
          if (obj && typeof obj === 'object') out.push({ file: path.relative(fixturesDir, p), obj: obj as Record<string, unknown> });
        }
    }
  };
  walk(fixturesDir);
  return out;
}

test("each CRD's schema accepts every fixture of its kind (strict field validation)", (t) => {
  const checked = new Map<string, number>();
  for (const { file, obj } of fixtureDocs()) {
    const group = typeof obj.apiVersion === 'string' ? obj.apiVersion.split('/')[0] : '';
    const key = `${group}/${String(obj.kind)}`;
    const validate = crdValidators.get(key);
    if (!validate) continue;
    assert.ok(validate(obj), `${file}: ${String(obj.kind)} ${(obj.metadata as { name?: string })?.name}: ${ajv.errorsText(validate.errors)}`);
    checked.set(key, (checked.get(key) ?? 0) + 1);
  }
  t.diagnostic(`fixtures checked: ${[...checked].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  for (const kind of ['networking.istio.io/VirtualService', 'networking.istio.io/DestinationRule', 'security.istio.io/PeerAuthentication', 'security.istio.io/AuthorizationPolicy'])
    assert.ok((checked.get(kind) ?? 0) > 0, `fixtures of ${kind} were checked (${JSON.stringify([...checked])})`);
});

test("a CRD's schema refuses an unknown or mistyped spec field, as the validator does", () => {
  const vs = crdValidators.get('networking.istio.io/VirtualService')!;
  const base = { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'r' }, spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] } };
  assert.ok(vs(base), ajv.errorsText(vs.errors));
  assert.equal(vs({ ...base, spec: { ...base.spec, htpp: [] } }), false);
  assert.match(ajv.errorsText(vs.errors), /additional properties/);
  assert.equal(vs({ ...base, spec: { ...base.spec, hosts: 'reviews' } }), false);
  assert.equal(vs({ ...base, spec: undefined }), false);
  const we = crdValidators.get('networking.istio.io/WorkloadEntry')!;
  assert.ok(we({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'w' }, spec: { address: '198.18.0.1', ports: { http: 9080 }, labels: { app: 'x' } } }));
  assert.equal(we({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'w' }, spec: { address: '198.18.0.1', ports: { http: '9080' } } }), false);
});

test('the CRD schema and the kind validator agree on each top-level spec field: a wrong JSON type is refused by both', () => {
  const wrong: Record<string, unknown> = { string: 5, strings: 'x', integer: 'x', number: 'x', boolean: 'x', object: 'x', objects: 'x', stringMap: 'x', integerMap: 'x' };
  let fieldsChecked = 0;
  for (const entry of KIND_ENTRIES) {
    if (!entry.specFields) continue;
    const validate = crdValidators.get(`${entry.group}/${entry.kind}`)!;
    for (const [field, shape] of Object.entries(entry.specFields)) {
      const spec = { [field]: wrong[shape] };
      assert.equal(validate({ apiVersion: `${entry.group}/${entry.versions[0]}`, kind: entry.kind, metadata: { name: 'x' }, spec }), false, `CRD ${entry.kind}: spec.${field} = ${JSON.stringify(spec[field])}`);
      const issues = new Issues();
      entry.validate(issues, spec, ['spec']);
      assert.ok(
        issues.list.some((i) => i.path[1] === field && i.path.length >= 2),
        `validator ${entry.kind}: spec.${field} = ${JSON.stringify(spec[field])} is refused at that field (${JSON.stringify(issues.list)})`,
      );
      fieldsChecked++;
    }
  }
  assert.ok(fieldsChecked > 30, `${fieldsChecked} fields checked`);
});
