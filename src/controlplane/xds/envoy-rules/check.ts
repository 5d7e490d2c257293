// A generic checker of protoc-gen-validate's `validate.rules` over the reflected Envoy descriptors: it
// walks a decoded message field by field, applies each field's rules, enforces `(validate.required)`
// oneofs, and recurses into nested messages, repeated items, map values and `Any` (decoded by type URL
// from the same Root), as Envoy does when it loads a resource (MessageUtil::validate on each message).
// Every violation carries its field path. It never stops at the first.
import protobuf from 'protobufjs';
import { resourceRoot } from '../../../api/envoy.js';
import { shapeViolations } from './body-shape.js';
import { fieldRules, oneofRequired, toFieldRules, type FieldRules } from './field-rules.js';
import { boolRules, bytesRules, durationRules, enumRules, numberRules, stringRules, timestampRules, type Found } from './scalar-rules.js';

export interface Violation {
  /** `filter_chains[0].filters[0].typed_config.stat_prefix` */
  path: string;
  /** The rule kind broken: `string.min_len`, `oneof.required`, `any.type` (an Any the protos cannot decode). */
  rule: string;
  message: string;
}

const NUMERIC_RULES = ['const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'ignore_empty'];
/** Every rule of validate.proto, as `kind.rule`: what this checker enforces (docs/observability.md lists them). */
export const IMPLEMENTED_RULES: ReadonlySet<string> = new Set([
  ...['float', 'double', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64'].flatMap((k) => NUMERIC_RULES.map((r) => `${k}.${r}`)),
  'bool.const',
  ...['const', 'len', 'min_len', 'max_len', 'len_bytes', 'min_bytes', 'max_bytes', 'pattern', 'prefix', 'suffix', 'contains', 'not_contains', 'in', 'not_in', 'email', 'hostname', 'ip', 'ipv4', 'ipv6', 'uri', 'uri_ref', 'address', 'uuid', 'well_known_regex', 'strict', 'ignore_empty'].map((r) => `string.${r}`),
  ...['const', 'len', 'min_len', 'max_len', 'pattern', 'prefix', 'suffix', 'contains', 'in', 'not_in', 'ip', 'ipv4', 'ipv6', 'ignore_empty'].map((r) => `bytes.${r}`),
  ...['const', 'defined_only', 'in', 'not_in'].map((r) => `enum.${r}`),
  'message.required', 'message.skip',
  ...['min_items', 'max_items', 'unique', 'items', 'ignore_empty'].map((r) => `repeated.${r}`),
  ...['min_pairs', 'max_pairs', 'no_sparse', 'keys', 'values', 'ignore_empty'].map((r) => `map.${r}`),
  ...['required', 'in', 'not_in'].map((r) => `any.${r}`),
  ...['required', 'const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in'].map((r) => `duration.${r}`),
  ...['required', 'const', 'lt', 'lte', 'gt', 'gte', 'lt_now', 'gt_now', 'within'].map((r) => `timestamp.${r}`),
  'oneof.required',
]);

export const formatViolation = (v: Violation) => (v.path ? `${v.path}: ${v.message}` : v.message);

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));
const NUMERIC_KINDS = new Set(['float', 'double', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

interface Ctx {
  root: protobuf.Root;
  out: Violation[];
  now: number;
}

export interface CheckOptions {
  /** Where `Any` type URLs are looked up (default: the Root of src/api/envoy.ts). */
  root?: protobuf.Root;
  /** For timestamp `lt_now`/`gt_now`/`within` (ms since the epoch). */
  now?: number;
}

/** Checks a decoded message of `type` against every rule its descriptors (and nested ones) carry. */
export function checkMessage(type: protobuf.Type, message: protobuf.Message | Record<string, unknown>, opts: CheckOptions = {}): Violation[] {
  const ctx: Ctx = { root: opts.root ?? resourceRoot(), out: [], now: opts.now ?? Date.now() };
  walkMessage(ctx, type, message as Record<string, unknown>, '');
  return ctx.out;
}

/**
 * Checks a resource in the translators' form (proto field names, nested Any as `{'@type', ...}`) as
 * Envoy receives it: encoded to the wire and decoded back, so what protobufjs drops or defaults is
 * what gets checked; what encoding would drop (a key that is no field, an enum name that is no value)
 * is reported too (`shape.*`).
 */
export function checkResource(typeName: string, body: Record<string, unknown>, opts: CheckOptions = {}): Violation[] {
  const root = opts.root ?? resourceRoot();
  const type = root.lookupType(typeName.slice(typeName.lastIndexOf('/') + 1));
  const decoded = type.decode(type.encode(type.fromObject(body)).finish());
  return [...shapeViolations(root, type, body), ...checkMessage(type, decoded, { ...opts, root })];
}

const join = (path: string, name: string) => (path ? `${path}.${name}` : name);
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

function report(ctx: Ctx, path: string, found: Found): void {
  for (const [rule, message] of found) ctx.out.push({ path, rule, message });
}

function walkMessage(ctx: Ctx, type: protobuf.Type, msg: Record<string, unknown>, path: string): void {
  for (const oneof of type.oneofsArray) {
    if (oneofRequired(oneof) && !oneof.oneof.some((name) => isSet(type.fields[name], msg))) {
      ctx.out.push({ path: join(path, oneof.name), rule: 'oneof.required', message: `value is required: one of ${oneof.oneof.join(', ')}` });
    }
  }
  for (const field of type.fieldsArray) {
    const rules = fieldRules(field);
    const fieldPath = join(path, field.name);
    // A oneof member is checked only when it is the one set (PGV's switch on the oneof case).
    if (field.partOf && !isSet(field, msg)) continue;
    const value = msg[field.name];
    if (field.map) walkMap(ctx, field, (value ?? {}) as Record<string, unknown>, fieldPath, rules);
    else if (field.repeated) walkRepeated(ctx, field, (value ?? []) as unknown[], fieldPath, rules);
    else walkValue(ctx, field, value, isSet(field, msg), fieldPath, rules);
  }
}

/** Presence as Envoy sees it: a message field set, a scalar different from its default or on the wire. */
function isSet(field: protobuf.Field | undefined, msg: Record<string, unknown>): boolean {
  if (!field) return false;
  const v = msg[field.name];
  if (field.map) return !!v && Object.keys(v as object).length > 0;
  if (field.repeated) return Array.isArray(v) && v.length > 0;
  if (field.resolvedType instanceof protobuf.Type) return v !== null && v !== undefined;
  if (field.partOf) return own(msg, field.name) && v !== undefined && v !== null;
  return own(msg, field.name) && !isZero(v);
}

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === 0 || v === '' || v === false) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  if (typeof v === 'object' && 'low' in v && 'high' in v) return String(v) === '0';
  return false;
}

function walkRepeated(ctx: Ctx, field: protobuf.Field, items: unknown[], path: string, rules: FieldRules | undefined): void {
  const r = rules?.kind === 'repeated' ? rules.rules! : undefined;
  if (r && !(r.ignore_empty && items.length === 0)) {
    const found: Found = [];
    if (r.min_items !== undefined && items.length < Number(r.min_items)) found.push(['repeated.min_items', `value must contain at least ${r.min_items} item(s)`]);
    if (r.max_items !== undefined && items.length > Number(r.max_items)) found.push(['repeated.max_items', `value must contain no more than ${r.max_items} item(s)`]);
    if (r.unique) {
      const keys = items.map((i) => (i instanceof Uint8Array ? Buffer.from(i).toString('hex') : JSON.stringify(i)));
      if (new Set(keys).size !== keys.length) found.push(['repeated.unique', 'repeated value must contain unique items']);
    }
    report(ctx, path, found);
  }
  const itemRules = r ? toFieldRules(r.items) : undefined;
  items.forEach((item, i) => walkValue(ctx, field, item, true, `${path}[${i}]`, itemRules));
}

function walkMap(ctx: Ctx, field: protobuf.Field, map: Record<string, unknown>, path: string, rules: FieldRules | undefined): void {
  const r = rules?.kind === 'map' ? rules.rules! : undefined;
  const keys = Object.keys(map);
  if (r && !(r.ignore_empty && keys.length === 0)) {
    const found: Found = [];
    if (r.min_pairs !== undefined && keys.length < Number(r.min_pairs)) found.push(['map.min_pairs', `value must contain at least ${r.min_pairs} pair(s)`]);
    if (r.max_pairs !== undefined && keys.length > Number(r.max_pairs)) found.push(['map.max_pairs', `value must contain no more than ${r.max_pairs} pair(s)`]);
    report(ctx, path, found);
  }
  const keyRules = r ? toFieldRules(r.keys) : undefined;
  const valueRules = r ? toFieldRules(r.values) : undefined;
  const mapField = field as unknown as protobuf.MapField;
  for (const key of keys) {
    const keyPath = `${path}[${JSON.stringify(key)}]`;
    if (keyRules?.kind) {
      const keyValue = mapField.keyType === 'string' ? key : mapField.keyType === 'bool' ? key === 'true' : Number(key);
      report(ctx, `${keyPath} (key)`, leafRules(keyRules, keyValue, undefined));
    }
    const value = map[key];
    if (r?.no_sparse && field.resolvedType instanceof protobuf.Type && (value === null || value === undefined))
      ctx.out.push({ path: keyPath, rule: 'map.no_sparse', message: 'map values cannot be unset' });
    walkValue(ctx, field, value, value !== null && value !== undefined, keyPath, valueRules);
  }
}

/** One value of `field` (a singular field, a repeated item or a map value) with the rules that apply to it. */
function walkValue(ctx: Ctx, field: protobuf.Field, value: unknown, present: boolean, path: string, rules: FieldRules | undefined): void {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    if (!present) {
      // `any.required` also sits on one non-Any field (ExtensionConfigSource.config_source): read as required.
      if (rules?.message?.required || rules?.rules?.required) ctx.out.push({ path, rule: `${rules.message?.required ? 'message' : rules.kind}.required`, message: 'value is required' });
      return;
    }
    if (rules?.message?.skip) return;
    walkMessageValue(ctx, t, value as Record<string, unknown>, path, rules);
    return;
  }
  if (!rules?.kind) return;
  if (rules.rules?.ignore_empty && isZero(value)) return;
  if (t instanceof protobuf.Enum) {
    if (rules.kind === 'enum') {
      const e = t;
      report(ctx, path, enumRules(rules.rules!, Number(value ?? 0), (n) => e.valuesById[n] !== undefined, (n) => e.valuesById[n] ?? String(n)));
    }
    return;
  }
  report(ctx, path, leafRules(rules, value ?? field.typeDefault, field.type));
}

function leafRules(rules: FieldRules, value: unknown, protoType: string | undefined): Found {
  const r = rules.rules ?? {};
  if (rules.kind === 'string') return stringRules(r, String(value ?? ''));
  if (rules.kind === 'bytes') return bytesRules(r, value instanceof Uint8Array ? value : protoType === 'bytes' ? new Uint8Array() : Buffer.from(String(value ?? '')));
  if (rules.kind === 'bool') return boolRules(r, Boolean(value));
  if (rules.kind && NUMERIC_KINDS.has(rules.kind)) return numberRules(rules.kind, r, value ?? 0);
  return [];
}

function walkMessageValue(ctx: Ctx, t: protobuf.Type, value: Record<string, unknown>, path: string, rules: FieldRules | undefined): void {
  const kind = rules?.kind;
  const r = rules?.rules ?? {};
  switch (t.fullName) {
    case '.google.protobuf.Duration':
      if (kind === 'duration') report(ctx, path, durationRules(withoutRequired(r), value));
      return;
    case '.google.protobuf.Timestamp':
      if (kind === 'timestamp') report(ctx, path, timestampRules(r, value, ctx.now));
      return;
    case '.google.protobuf.Any':
      walkAny(ctx, value as { type_url?: string; value?: Uint8Array }, path, kind === 'any' ? r : {});
      return;
  }
  if (WRAPPERS.has(t.fullName)) {
    // Scalar rules on a wrapper apply to the wrapped value when the wrapper is set.
    if (kind && kind !== 'message') {
      const inner = t.fields.value;
      if (!(r.ignore_empty && isZero(value.value))) report(ctx, path, leafRules(rules!, value.value ?? inner.typeDefault, inner.type));
    }
    return;
  }
  if (t.fullName.startsWith('.google.protobuf.')) return; // Struct, Empty, ...: no rules inside.
  walkMessage(ctx, t, value, path);
}

const withoutRequired = ({ required: _r, ...rest }: Record<string, unknown>) => rest;

function walkAny(ctx: Ctx, any: { type_url?: string; value?: Uint8Array }, path: string, r: Record<string, unknown>): void {
  const url = any.type_url ?? '';
  const inList = (r.in as string[] | undefined) ?? [];
  if (inList.length && !inList.includes(url)) ctx.out.push({ path, rule: 'any.in', message: `type URL must be in list [${inList.join(', ')}]` });
  if (((r.not_in as string[] | undefined) ?? []).includes(url)) ctx.out.push({ path, rule: 'any.not_in', message: `type URL must not be in list [${(r.not_in as string[]).join(', ')}]` });
  // Envoy unpacks an Any into the type its URL names and validates that message too.
  const name = url.slice(url.lastIndexOf('/') + 1);
  const inner = name ? ctx.root.lookup(name) : null;
  if (!(inner instanceof protobuf.Type)) {
    ctx.out.push({ path, rule: 'any.type', message: `type URL ${JSON.stringify(url)} names no message type Envoy's loaded protos define` });
    return;
  }
  let decoded: Record<string, unknown>;
  try {
    decoded = inner.decode(any.value ?? new Uint8Array()) as unknown as Record<string, unknown>;
  } catch (err) {
    ctx.out.push({ path, rule: 'any.decode', message: `cannot decode as ${name}: ${(err as Error).message}` });
    return;
  }
  walkMessageValue(ctx, inner, decoded, path, undefined);
}
