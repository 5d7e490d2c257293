// config.core.v3.SubstitutionFormatString → a line formatter compiled once per config: a text
// template (text_format_source inline_string, or the deprecated text_format / FileAccessLog.format)
// or a JSON object (json_format, with typed values: a value that is one numeric operator stays a
// number, a missing one is null). Lines end with a newline: Envoy's default format has one, JSON
// lines get one, a custom text format keeps exactly what it says.
import { fromStruct, type StructWire } from '../../../api/envoy.js';
import { has, isObj, join, list, obj, str, type Problems, type Raw } from '../../xds/validate-common.js';
import type { LogInput } from './log-input.js';
import { parseFormat, renderText, type FieldGetter, type FormatPart } from './operators.js';

export interface LineFormatter {
  readonly kind: 'text' | 'json';
  format(i: LogInput): string;
}

/** Envoy's default access-log format (used when a logger names none). */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

export const REQ_WITHOUT_QUERY_TYPE_URL = 'type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery';

export function textFormatter(format: string, path: string, p: Problems, omitEmpty = false): LineFormatter {
  const parts = parseFormat(format, path, p);
  return { kind: 'text', format: (i) => renderText(parts, i, omitEmpty) };
}

/** SubstitutionFormatString fields implemented (the rest are NACKed). */
const IMPLEMENTED = new Set(['text_format', 'text_format_source', 'json_format', 'omit_empty_values', 'formatters']);

export function substitutionFormat(raw: Raw, path: string, p: Problems): LineFormatter {
  for (const k of Object.keys(raw)) if (!IMPLEMENTED.has(k) && raw[k] !== undefined && raw[k] !== null && raw[k] !== '') p.add(join(path, k), 'not supported');
  // Istio adds the req_without_query formatter when a format uses %REQ_WITHOUT_QUERY%; it is built in here.
  list(raw.formatters).forEach((f, i) => {
    const type = str(obj(obj(f).typed_config)['@type']) || str(obj(obj(f).typed_config).type_url);
    if (type !== REQ_WITHOUT_QUERY_TYPE_URL) p.add(`${join(path, 'formatters')}[${i}]`, `formatter extension ${type || '(none)'} is not supported (only req_without_query)`);
  });
  const omitEmpty = raw.omit_empty_values === true;
  if (has(raw, 'json_format')) return jsonFormatter(structObject(raw.json_format), join(path, 'json_format'), p, omitEmpty);
  if (has(raw, 'text_format_source')) {
    const src = obj(raw.text_format_source);
    if (typeof src.inline_string !== 'string') {
      p.add(join(path, 'text_format_source'), `only inline_string is supported (fields: ${Object.keys(src).join(', ') || 'none'})`);
      return textFormatter(ENVOY_DEFAULT_FORMAT, path, p);
    }
    return textFormatter(src.inline_string, join(path, 'text_format_source.inline_string'), p, omitEmpty);
  }
  if (typeof raw.text_format === 'string') return textFormatter(raw.text_format, join(path, 'text_format'), p, omitEmpty);
  p.add(path, 'one of text_format_source, json_format is required');
  return textFormatter(ENVOY_DEFAULT_FORMAT, path, p);
}

/** A decoded google.protobuf.Struct ({fields: {k: {stringValue}}}) as the plain object it stands for. */
export function structObject(v: unknown): Raw {
  return fromStruct(obj(v) as unknown as StructWire);
}

/** A JSON value template: literal JSON, a string template, a single typed operator, or an object. */
type JsonValue = { kind: 'literal'; json: string } | { kind: 'template'; parts: FormatPart[] } | { kind: 'single'; get: FieldGetter } | { kind: 'object'; fields: Array<[string, JsonValue]> };

/** The json_format Struct (decoded as a plain object), compiled once. */
export function jsonFormatter(struct: Raw, path: string, p: Problems, omitEmpty = false): LineFormatter {
  const root = jsonValue(struct, path, p);
  return { kind: 'json', format: (i) => `${renderJson(root, i, omitEmpty) ?? '{}'}\n` };
}

function jsonValue(v: unknown, path: string, p: Problems): JsonValue {
  if (typeof v === 'string') {
    const parts = parseFormat(v, path, p);
    if (parts.length === 1 && typeof parts[0] === 'function') return { kind: 'single', get: parts[0] };
    return { kind: 'template', parts };
  }
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return { kind: 'literal', json: JSON.stringify(v) };
  if (isObj(v)) return { kind: 'object', fields: Object.keys(v).map((k) => [`${JSON.stringify(k)}:`, jsonValue(v[k], join(path, k), p)]) };
  p.add(path, 'lists are not supported in json_format');
  return { kind: 'literal', json: 'null' };
}

/** undefined: the value is empty and omit_empty_values drops it. */
function renderJson(v: JsonValue, i: LogInput, omitEmpty: boolean): string | undefined {
  switch (v.kind) {
    case 'literal':
      return v.json;
    case 'single': {
      const x = v.get(i);
      if (x === undefined || x === '') return omitEmpty ? undefined : x === '' ? '""' : 'null';
      return typeof x === 'number' ? String(x) : JSON.stringify(x);
    }
    case 'template': {
      const s = renderText(v.parts, i, omitEmpty);
      return omitEmpty && s === '' ? undefined : JSON.stringify(s);
    }
    case 'object': {
      let out = '{';
      let first = true;
      for (const [key, value] of v.fields) {
        const r = renderJson(value, i, omitEmpty);
        if (r === undefined) continue;
        out += (first ? '' : ',') + key + r;
        first = false;
      }
      return out + '}';
    }
  }
}
