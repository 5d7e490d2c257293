// What encoding would lose before Envoy sees it: protobufjs' fromObject drops keys that are not fields
// of the message and turns an enum name it does not know into the default. A translator that misspells
// a field would ship config that silently does nothing; Envoy's own JSON/YAML loader rejects both.
// Deprecated fields Envoy takes with a warning, until a release disallows them by default.
import protobuf from 'protobufjs';
import type { Violation } from './check.js';

/** Every key of `body` (translators' form) that `type` has no field for, every unknown enum name, and
 * every deprecated field or enum value it sets. */
export function shapeViolations(root: protobuf.Root, type: protobuf.Type, body: unknown, path = ''): Violation[] {
  const out: Violation[] = [];
  walk(root, type, body, path, out);
  return out;
}

const join = (path: string, name: string) => (path ? `${path}.${name}` : name);

function walk(root: protobuf.Root, type: protobuf.Type, body: unknown, path: string, out: Violation[]): void {
  if (!body || typeof body !== 'object' || Array.isArray(body) || body instanceof Uint8Array) return;
  if (type.fullName === '.google.protobuf.Any') {
    const url = (body as Record<string, unknown>)['@type'];
    if (typeof url !== 'string') return; // already {type_url, value}
    const inner = root.lookup(url.slice(url.lastIndexOf('/') + 1));
    if (inner instanceof protobuf.Type) {
      const { '@type': _url, ...rest } = body as Record<string, unknown>;
      walk(root, inner, rest, path, out);
    }
    return;
  }
  if (type.fullName.startsWith('.google.protobuf.')) return; // Struct, Duration, wrappers: protobufjs' own shapes
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const field = type.fields[key];
    const fieldPath = join(path, key);
    if (!field) {
      if (value !== undefined) out.push({ path: fieldPath, rule: 'shape.unknown_field', message: `${type.fullName.slice(1)} has no field ${key}: encoding drops it` });
      continue;
    }
    if (value === undefined || value === null) continue;
    if (field.options?.deprecated)
      out.push({ path: fieldPath, rule: 'shape.deprecated', message: `${type.fullName.slice(1)}.${key} is deprecated: Envoy logs a warning and counts deprecated_feature_use (fatal once disallowed by default)` });
    const values: Array<[string, unknown]> = field.map
      ? Object.entries(value as Record<string, unknown>).map(([k, v]) => [`${fieldPath}[${JSON.stringify(k)}]`, v])
      : field.repeated && Array.isArray(value)
        ? value.map((v, i) => [`${fieldPath}[${i}]`, v])
        : [[fieldPath, value]];
    for (const [p, v] of values) {
      if (field.resolvedType instanceof protobuf.Type) walk(root, field.resolvedType, v, p, out);
      else if (field.resolvedType instanceof protobuf.Enum && typeof v === 'string') {
        const e = field.resolvedType;
        if (!(v in e.values)) out.push({ path: p, rule: 'shape.enum_name', message: `${JSON.stringify(v)} is not a value of ${e.fullName.slice(1)}: encoding turns it into the default` });
        else if (e.valuesOptions?.[v]?.deprecated) out.push({ path: p, rule: 'shape.deprecated', message: `${e.fullName.slice(1)}.${v} is a deprecated value` });
      }
    }
  }
}
