// One Kubernetes-style object: envelope (apiVersion, kind, metadata) and dispatch to the kind's spec
// validator. Kinds Weft does not handle yet become SkippedResource, never errors.
import { kindEntry } from '../kinds.js';
import type { MeshResource, Meta, Origin, SkippedResource } from '../types.js';
import { isDns1123Label, isDns1123Subdomain, validateLabels } from './common.js';
import { fields, isObj } from './fields.js';
import { describeValue, type Issues } from './issues.js';

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'] as const;

export type ResourceOutcome =
  | { type: 'resource'; resource: MeshResource; identity: string }
  | { type: 'skipped'; skipped: SkippedResource; identity: string }
  /** identity is "Kind namespace/name" when the envelope was readable far enough to know it. */
  | { type: 'invalid'; identity?: string };

export const resourceIdentity = (kind: string, namespace: string, name: string): string => `${kind} ${namespace}/${name}`;

/** Validates one object (a YAML document or an item of a `kind: List`). Problems go to `issues`. */
export function validateResource(issues: Issues, value: unknown, origin: Origin): ResourceOutcome {
  if (!isObj(value)) {
    issues.add('WEFT_E_NOT_A_RESOURCE', [], `a resource must be a mapping with apiVersion, kind and metadata, got ${describeValue(value)}`);
    return { type: 'invalid' };
  }
  const kind = value.kind;
  const apiVersion = value.apiVersion;
  const metadata = isObj(value.metadata) ? value.metadata : undefined;
  const name = metadata?.name;
  const namespace = typeof metadata?.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default';

  if (typeof kind !== 'string' || kind === '') {
    issues.add(kind === undefined || kind === null || kind === '' ? 'WEFT_E_REQUIRED_FIELD' : 'WEFT_E_TYPE', ['kind'], kind ? `must be a string, got ${describeValue(kind)}` : 'is required');
    return { type: 'invalid' };
  }
  const identity = typeof name === 'string' && name !== '' ? resourceIdentity(kind, namespace, name) : undefined;
  const group = typeof apiVersion === 'string' && apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : undefined;
  // A mesh kind with another group (say a CRD of the same name elsewhere) is not ours; one with no
  // group at all is most likely a broken Istio resource, so it is validated and reported. Kubernetes'
  // core group is the empty one: `apiVersion: v1`.
  const entry = kindEntry(kind, group ?? (typeof apiVersion === 'string' && apiVersion !== '' ? '' : undefined));
  const handled = entry !== undefined && (group === entry.group || group === undefined);

  if (!handled) {
    // Not ours (yet): report it by name. Kinds from docs often omit apiVersion (SMI examples do), so
    // only the name is required to list it.
    if (identity === undefined) {
      issues.add('WEFT_E_REQUIRED_FIELD', ['metadata', 'name'], 'is required');
      return { type: 'invalid' };
    }
    const skipped: SkippedResource = { apiVersion: typeof apiVersion === 'string' ? apiVersion : '', kind, name: name as string, namespace, origin };
    return { type: 'skipped', skipped, identity };
  }

  const before = issues.size;
  const top = fields(issues, value, [], TOP_FIELDS);
  const noVersion = apiVersion === undefined || apiVersion === null || apiVersion === '';
  if (noVersion) {
    // A kind that may omit it (SMI's examples do) is read as its preferred version.
    if (!entry.apiVersionOptional) issues.add('WEFT_E_REQUIRED_FIELD', ['apiVersion'], `is required (${entry.group}/${entry.versions[0]})`);
  } else if (typeof apiVersion !== 'string') {
    issues.add('WEFT_E_TYPE', ['apiVersion'], `must be a string, got ${describeValue(apiVersion)}`);
  } else if (entry.group === '' ? !entry.versions.includes(apiVersion) : group === undefined || !entry.versions.includes(apiVersion.slice(group.length + 1))) {
    issues.add('WEFT_E_API_VERSION', ['apiVersion'], `${kind} is served as ${entry.versions.map((v) => (entry.group ? `${entry.group}/${v}` : v)).join(', ')}, got ${JSON.stringify(apiVersion)}`);
  }
  const meta = top ? readMetadata(issues, top.raw('metadata')) : undefined;

  const specRaw = top?.raw('spec');
  let spec: unknown;
  if (specRaw === undefined) {
    issues.add('WEFT_E_REQUIRED_FIELD', ['spec'], 'is required');
  } else {
    spec = entry.validate(issues, specRaw, ['spec']);
  }
  if (issues.size !== before || !meta || spec === undefined || identity === undefined) return { type: 'invalid', identity };
  // The spec validators return the spec type matching `kind`, so this pairing is sound.
  const version = noVersion ? (entry.group === '' ? entry.versions[0]! : `${entry.group}/${entry.versions[0]}`) : (apiVersion as string);
  const resource = { kind: entry.kind, apiVersion: version, metadata: meta, spec, origin } as MeshResource;
  return { type: 'resource', resource, identity };
}

/** ObjectMeta: name and namespace are checked; other Kubernetes bookkeeping fields are ignored. */
function readMetadata(issues: Issues, v: unknown): Meta | undefined {
  if (v === undefined) {
    issues.add('WEFT_E_REQUIRED_FIELD', ['metadata'], 'is required');
    return undefined;
  }
  if (!isObj(v)) {
    issues.add('WEFT_E_TYPE', ['metadata'], `must be an object, got ${describeValue(v)}`);
    return undefined;
  }
  const keys = Object.keys(v);
  const f = fields(issues, v, ['metadata'], keys); // ObjectMeta is open: uid, resourceVersion, ...
  if (!f) return undefined;
  const before = issues.size;
  const name = f.str('name', { required: true });
  if (name !== undefined && !isDns1123Subdomain(name)) {
    issues.add('WEFT_E_INVALID_VALUE', f.at('name'), `invalid name ${JSON.stringify(name)} (lowercase letters, digits, '-' and '.')`);
  }
  const namespace = f.str('namespace') || 'default';
  if (!isDns1123Label(namespace)) issues.add('WEFT_E_INVALID_VALUE', f.at('namespace'), `invalid namespace ${JSON.stringify(namespace)}`);
  const labels = f.strMap('labels') ?? {};
  validateLabels(issues, labels, f.at('labels'));
  const annotations = f.strMap('annotations') ?? {};
  if (issues.size !== before || name === undefined) return undefined;
  return { name, namespace, labels, annotations };
}
