// Kubernetes objects against Kubernetes' published OpenAPI schemas: kubernetes-models' validator for
// the object's apiVersion and kind (schemas of the Kubernetes API compiled with ajv; offline,
// installed by `npm ci`). Types, required fields and enums are checked; unknown fields are not.
import assert from 'node:assert/strict';

export interface K8sDocument {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
}

/** Throws with the field path when `obj` does not validate; fails when no schema exists for it. */
export async function validateWithKubernetesSchema(obj: K8sDocument): Promise<void> {
  const groupVersion = obj.apiVersion.includes('/') ? obj.apiVersion : 'v1';
  const mod = (await import(`kubernetes-models/${groupVersion}/${obj.kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  assert.ok(Model, `kubernetes-models has no ${obj.apiVersion} ${obj.kind}`);
  new Model(structuredClone(obj)).validate();
}
