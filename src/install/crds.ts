// One CustomResourceDefinition per config kind in the registry (src/config/kinds.ts), so a kind
// added there is installed with no change here. Every served version shares one schema and the
// first is stored (Istio's CRDs do the same: the versions differ in name only, no conversion).
import type { ICustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import type { IJSONSchemaProps } from 'kubernetes-models/apiextensions.k8s.io/v1/JSONSchemaProps';
import { KIND_ENTRIES } from '../config/kinds.js';
import type { FieldShape, SpecShape } from '../config/spec-shape.js';
import { partOf, type K8sObject } from './manifest.js';

/** Groups whose CRDs users install from their upstream project (one owner per CRD in a cluster):
 * `weft install` leaves them out and says which to apply. */
export const UPSTREAM_CRD_GROUPS: Readonly<Record<string, string>> = {
  'gateway.networking.k8s.io': "Gateway API: apply the project's standard-channel CRDs (standard-install.yaml of a Gateway API release); Weft reads HTTPRoute from them",
};

export interface CrdKind {
  group: string;
  versions: readonly string[];
  kind: string;
  specFields?: SpecShape;
  shortNames?: readonly string[];
}

export interface CrdSet {
  crds: K8sObject[];
  /** One line per group left to its upstream CRDs. */
  notes: string[];
}

export function configCrds(kinds: readonly CrdKind[] = KIND_ENTRIES): CrdSet {
  const crds: K8sObject[] = [];
  const upstream = new Map<string, string[]>();
  for (const k of kinds) {
    if (Object.hasOwn(UPSTREAM_CRD_GROUPS, k.group)) upstream.set(k.group, [...(upstream.get(k.group) ?? []), k.kind]);
    else crds.push(crdOf(k));
  }
  const notes = [...upstream].map(([group, ks]) => `${group} (${ks.join(', ')}) CRDs not included: ${UPSTREAM_CRD_GROUPS[group]}`);
  return { crds, notes };
}

/** Kubernetes' plural of a kind: lower case, "y" after a consonant → "ies", s/x/ch/sh → "es". */
export function pluralOf(kind: string): string {
  const k = kind.toLowerCase();
  if (/[^aeiou]y$/.test(k)) return `${k.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(k)) return `${k}es`;
  return `${k}s`;
}

function crdOf(k: CrdKind): K8sObject {
  const plural = pluralOf(k.kind);
  const schema = {
    openAPIV3Schema: {
      type: 'object',
      description: `${k.kind} (${k.group}), as Weft reads it. Fields below the spec's top level are checked by the control plane (weft analyze).`,
      required: ['spec'],
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object' },
        spec: specSchema(k.specFields),
        status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${k.group}`, labels: partOf('weft-crds') },
    spec: {
      group: k.group,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural,
        singular: k.kind.toLowerCase(),
        ...(k.shortNames?.length ? { shortNames: [...k.shortNames] } : {}),
        categories: ['weft', k.group.replaceAll('.', '-')],
      },
      scope: 'Namespaced',
      versions: k.versions.map((name, i) => ({ name, served: true, storage: i === 0, schema, subresources: { status: {} } })),
    },
  } satisfies ICustomResourceDefinition;
}

const OPEN_OBJECT = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } as const;

function specSchema(shape: SpecShape | undefined): IJSONSchemaProps {
  if (!shape) return { ...OPEN_OBJECT };
  return { type: 'object', properties: Object.fromEntries(Object.entries(shape).map(([field, s]) => [field, fieldSchema(s)])) };
}

function fieldSchema(shape: FieldShape): IJSONSchemaProps {
  switch (shape) {
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return { type: shape };
    case 'strings':
      return { type: 'array', items: { type: 'string' } };
    case 'object':
      return { ...OPEN_OBJECT };
    case 'objects':
      return { type: 'array', items: { ...OPEN_OBJECT } };
    case 'stringMap':
      return { type: 'object', additionalProperties: { type: 'string' } };
    case 'integerMap':
      return { type: 'object', additionalProperties: { type: 'integer' } };
  }
}
