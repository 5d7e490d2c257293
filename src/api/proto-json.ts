// Proto3's JSON mapping (what Envoy reads from a YAML or JSON bootstrap: durations as "1s", wrappers
// as bare values, Struct as plain JSON, Any as {"@type", ...}) into protobufjs' object form, by the
// message's descriptors, so a file meant for Envoy can be encoded and checked like any resource.
import protobuf from 'protobufjs';
import { toStruct, type Json } from './envoy.js';

const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));

/** "1.5s" → {seconds: 1, nanos: 500000000}; anything else is left for fromObject to refuse. */
function duration(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(v);
  if (!m) return v;
  const sign = m[1] ? -1 : 1;
  return { seconds: sign * Number(m[2]), nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
}

/** `json` (proto3 JSON mapping, proto field names) as protobufjs' fromObject takes it for `type`. */
export function fromProtoJson(type: protobuf.Type, json: unknown): unknown {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return json;
  switch (type.fullName) {
    case '.google.protobuf.Struct':
      return toStruct(json as Record<string, Json>);
    case '.google.protobuf.Any': {
      const { '@type': url, ...rest } = json as Record<string, unknown>;
      const inner = typeof url === 'string' ? type.root.lookup(url.slice(url.lastIndexOf('/') + 1)) : null;
      return inner instanceof protobuf.Type ? { '@type': url, ...(fromProtoJson(inner, rest) as object) } : json;
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const field = type.fields[key];
    out[key] = field ? fieldValue(field, value) : value;
  }
  return out;
}

function fieldValue(field: protobuf.Field, value: unknown): unknown {
  const one = (v: unknown) => {
    const t = field.resolvedType;
    if (!(t instanceof protobuf.Type)) return v;
    if (t.fullName === '.google.protobuf.Duration') return duration(v);
    if (WRAPPERS.has(t.fullName)) return v !== null && typeof v === 'object' ? v : { value: v };
    return fromProtoJson(t, v);
  };
  if (field.map && value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v)]));
  if (field.repeated && Array.isArray(value)) return value.map(one);
  return one(value);
}
