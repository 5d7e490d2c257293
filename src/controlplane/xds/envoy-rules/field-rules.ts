// protoc-gen-validate's annotations as protobufjs keeps them: `(validate.rules)` on a field (a FieldRules
// object: at most one type kind such as `string` or `repeated`, plus `message`) and `(validate.required)`
// on a oneof. Read once per descriptor and cached, so a check walks plain objects.
import protobuf from 'protobufjs';

/** One kind's rules (`{min_len: 1, well_known_regex: 'HTTP_HEADER_NAME', strict: false}`), as parsed. */
export type KindRules = Record<string, unknown>;

/** validate.FieldRules: the `message` rules and the one type kind that is set. */
export interface FieldRules {
  message?: { required?: boolean; skip?: boolean };
  kind?: string;
  rules?: KindRules;
}

/** The type kinds of FieldRules' `type` oneof (validate.proto), in its field order. */
export const RULE_KINDS = [
  'float', 'double', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64',
  'bool', 'string', 'bytes', 'enum', 'repeated', 'map', 'any', 'duration', 'timestamp',
] as const;
const KIND_SET = new Set<string>(RULE_KINDS);

/** Normalises a parsed FieldRules object (protobufjs keeps text-format values as written; keys in any case). */
export function toFieldRules(raw: unknown): FieldRules | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const out: FieldRules = {};
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const k = key.toLowerCase();
    if (k === 'message') out.message = value as FieldRules['message'];
    else if (KIND_SET.has(k)) {
      out.kind = k;
      out.rules = (value && typeof value === 'object' ? value : {}) as KindRules;
    }
  }
  return out.kind || out.message ? out : undefined;
}

const fieldCache = new WeakMap<protobuf.Field, FieldRules | null>();
/** The field's `(validate.rules)`, or undefined when it has none. */
export function fieldRules(field: protobuf.Field): FieldRules | undefined {
  let cached = fieldCache.get(field);
  if (cached === undefined) {
    cached = null;
    for (const opt of parsedOptions(field)) {
      const raw = opt['(validate.rules)'];
      if (raw !== undefined) cached = merge(cached, toFieldRules(raw));
    }
    fieldCache.set(field, cached);
  }
  return cached ?? undefined;
}

// A field may carry `(validate.rules).message.required` and `(validate.rules).duration.gt` as two options.
function merge(a: FieldRules | null, b: FieldRules | undefined): FieldRules | null {
  if (!b) return a;
  if (!a) return b;
  return { message: { ...a.message, ...b.message }, kind: b.kind ?? a.kind, rules: b.kind && a.kind === b.kind ? { ...a.rules, ...b.rules } : (b.rules ?? a.rules) };
}

// protobufjs types parsedOptions loosely; at run time it is a list of `{ '(option.name)': value }`.
const parsedOptions = (o: protobuf.ReflectionObject): Array<Record<string, unknown>> => (o.parsedOptions as unknown as Array<Record<string, unknown>> | undefined) ?? [];

/** Whether the oneof carries `option (validate.required) = true`: exactly one member must be set. */
export function oneofRequired(oneof: protobuf.OneOf): boolean {
  if (oneof.options?.['(validate.required)'] === true) return true;
  return parsedOptions(oneof).some((o) => o['(validate.required)'] === true);
}

/** A rule's list value: text format allows `in: [1, 2]` and a lone `not_in: 6`. */
export function listOf(v: unknown): unknown[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * Every rule kind the annotations in `root` use, counted (`string.min_len`, `repeated.items.string.in`,
 * `oneof.required`, `message.required`): what the checker must implement to cover these protos.
 */
export function ruleInventory(root: protobuf.NamespaceBase, only?: (type: protobuf.Type) => boolean): Map<string, number> {
  const counts = new Map<string, number>();
  const bump = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  const countRules = (prefix: string, r: FieldRules) => {
    if (r.message?.required) bump(`${prefix}message.required`);
    if (r.message?.skip) bump(`${prefix}message.skip`);
    if (!r.kind) return;
    for (const [name, value] of Object.entries(r.rules ?? {})) {
      const nested = (r.kind === 'repeated' && name === 'items') || (r.kind === 'map' && (name === 'keys' || name === 'values'));
      const inner = nested ? toFieldRules(value) : undefined;
      if (inner) countRules(`${prefix}${r.kind}.${name}.`, inner);
      else bump(`${prefix}${r.kind}.${name}`);
    }
  };
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type && (!only || only(child))) {
        for (const f of child.fieldsArray) {
          const r = fieldRules(f);
          if (r) countRules('', r);
        }
        for (const o of child.oneofsArray) if (oneofRequired(o)) bump('oneof.required');
      }
      if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) visit(child);
    }
  };
  visit(root);
  return counts;
}
