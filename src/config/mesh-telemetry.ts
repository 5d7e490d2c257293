// The telemetry part of the mesh config, in Istio's MeshConfig names: the extension providers
// (opentelemetry tracing, envoyFileAccessLog, envoyOtelAls, prometheus), the default providers, the
// classic access-log settings (accessLogFile / accessLogEncoding / accessLogFormat) and the
// default trace sampling (defaultConfig.tracing.sampling). Telemetry resources name these
// providers; src/controlplane/translate/telemetry-policy.ts resolves both per proxy.
import type { AccessLogFormat } from './telemetry-types.js';

export type ExtensionProvider =
  | { name: string; kind: 'opentelemetry'; service: string; port: number; http?: { path: string; timeoutMs: number; headers: Record<string, string> } }
  | { name: string; kind: 'envoyFileAccessLog'; path: string; format: AccessLogFormat }
  | { name: string; kind: 'envoyOtelAls'; service: string; port: number; logName: string; format: AccessLogFormat }
  | { name: string; kind: 'prometheus' };

export interface MeshTelemetry {
  extensionProviders: ExtensionProvider[];
  /** Providers used where no Telemetry resource names any (Istio: metrics → prometheus). */
  defaultProviders: { tracing: string[]; metrics: string[]; accessLogging: string[] };
  /** '' : no mesh-wide access log (Istio's default); `/dev/stdout` is the proxy's stdout. */
  accessLogFile: string;
  accessLogEncoding: 'TEXT' | 'JSON';
  /** '' : Istio's default format for the encoding. */
  accessLogFormat: string;
  /** false: no tracing anywhere, whatever the providers say (Istio's enableTracing). */
  enableTracing: boolean;
  /** defaultConfig.tracing.sampling: percent of requests traced when a Telemetry sets no rate. */
  tracingSampling: number;
}

/** Istio's built-in providers: `envoy` is the file access log the mesh's accessLog* settings
 * describe; `prometheus` the standard metrics. */
export const ENVOY_PROVIDER = 'envoy';
export const PROMETHEUS_PROVIDER = 'prometheus';

export const defaultMeshTelemetry: MeshTelemetry = Object.freeze({
  extensionProviders: [],
  defaultProviders: { tracing: [], metrics: [PROMETHEUS_PROVIDER], accessLogging: [] },
  accessLogFile: '',
  accessLogEncoding: 'TEXT',
  accessLogFormat: '',
  enableTracing: true,
  tracingSampling: 1,
});

export const MESH_TELEMETRY_FIELDS = ['extensionProviders', 'defaultProviders', 'accessLogFile', 'accessLogEncoding', 'accessLogFormat', 'enableTracing', 'defaultConfig'] as const;

type Report = (code: string, path: string, message: string) => void;
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const PROVIDER_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Read one MeshConfig field of the telemetry part into `t`; problems go to `err` with their path. */
export function readMeshTelemetryField(t: MeshTelemetry, key: (typeof MESH_TELEMETRY_FIELDS)[number], value: unknown, err: Report): void {
  switch (key) {
    case 'accessLogFile':
    case 'accessLogFormat':
      if (typeof value !== 'string') err('WEFT_E_TYPE', key, `must be a string, got ${JSON.stringify(value)}`);
      else t[key] = value;
      return;
    case 'accessLogEncoding':
      if (value !== 'TEXT' && value !== 'JSON') err('WEFT_E_INVALID_VALUE', key, `must be TEXT or JSON, got ${JSON.stringify(value)}`);
      else t.accessLogEncoding = value;
      return;
    case 'enableTracing':
      if (typeof value !== 'boolean') err('WEFT_E_TYPE', key, `must be true or false, got ${JSON.stringify(value)}`);
      else t.enableTracing = value;
      return;
    case 'defaultConfig':
      return readDefaultConfig(t, value, err);
    case 'defaultProviders':
      return readDefaultProviders(t, value, err);
    case 'extensionProviders':
      if (!Array.isArray(value)) return err('WEFT_E_TYPE', key, 'must be a list of providers');
      value.forEach((p, i) => {
        const provider = readProvider(p, `extensionProviders[${i}]`, err);
        if (!provider) return;
        if (t.extensionProviders.some((q) => q.name === provider.name)) err('WEFT_E_DUPLICATE_VALUE', `extensionProviders[${i}].name`, `provider ${JSON.stringify(provider.name)} is defined twice`);
        else t.extensionProviders.push(provider);
      });
      return;
  }
}

/** Cross-field checks once every field is read: default providers must exist. */
export function checkMeshTelemetry(t: MeshTelemetry, err: Report): void {
  for (const kind of ['tracing', 'metrics', 'accessLogging'] as const) {
    t.defaultProviders[kind].forEach((name, i) => {
      if (!providerExists(t, name)) err('WEFT_E_INVALID_VALUE', `defaultProviders.${kind}[${i}]`, `names provider ${JSON.stringify(name)}, which extensionProviders does not define`);
    });
  }
}

export function providerExists(t: MeshTelemetry, name: string): boolean {
  return name === ENVOY_PROVIDER || name === PROMETHEUS_PROVIDER || t.extensionProviders.some((p) => p.name === name);
}

/** A provider by name, with the built-ins (`envoy`: the mesh's accessLog* file log; `prometheus`). */
export function findProvider(t: MeshTelemetry, name: string): ExtensionProvider | undefined {
  const own = t.extensionProviders.find((p) => p.name === name);
  if (own) return own;
  if (name === PROMETHEUS_PROVIDER) return { name, kind: 'prometheus' };
  if (name === ENVOY_PROVIDER) {
    const format: AccessLogFormat = t.accessLogEncoding === 'JSON' ? jsonLogFormat(t.accessLogFormat) : t.accessLogFormat ? { type: 'text', text: t.accessLogFormat } : { type: 'text' };
    return { name, kind: 'envoyFileAccessLog', path: t.accessLogFile || '/dev/stdout', format };
  }
  return undefined;
}

/** accessLogEncoding JSON: accessLogFormat is a JSON object of labels (Istio parses it as a Struct);
 * empty or not such an object, Istio's default JSON fields, as istiod falls back. */
function jsonLogFormat(text: string): AccessLogFormat {
  try {
    const v: unknown = text ? JSON.parse(text) : undefined;
    if (isObj(v) && Object.keys(v).length > 0 && Object.values(v).every((x) => typeof x === 'string')) return { type: 'json', labels: v as Record<string, string> };
  } catch {
    /* not JSON: the default fields */
  }
  return { type: 'json' };
}

function readDefaultConfig(t: MeshTelemetry, value: unknown, err: Report): void {
  if (!isObj(value)) return err('WEFT_E_TYPE', 'defaultConfig', 'must be a mapping of ProxyConfig fields');
  for (const [k, v] of Object.entries(value)) {
    if (k !== 'tracing') {
      err('WEFT_E_UNSUPPORTED', `defaultConfig.${k}`, 'is a ProxyConfig field Weft does not implement (only `tracing.sampling`)');
      continue;
    }
    if (!isObj(v)) {
      err('WEFT_E_TYPE', 'defaultConfig.tracing', 'must be a mapping with `sampling`');
      continue;
    }
    for (const [tk, tv] of Object.entries(v)) {
      if (tk !== 'sampling') err('WEFT_E_UNSUPPORTED', `defaultConfig.tracing.${tk}`, 'is not implemented: tracers are extensionProviders (opentelemetry); only `sampling` is read here');
      else if (typeof tv !== 'number' || !(tv >= 0 && tv <= 100)) err('WEFT_E_INVALID_VALUE', 'defaultConfig.tracing.sampling', `must be a percentage 0..100, got ${JSON.stringify(tv)}`);
      else t.tracingSampling = tv;
    }
  }
}

function readDefaultProviders(t: MeshTelemetry, value: unknown, err: Report): void {
  if (!isObj(value)) return err('WEFT_E_TYPE', 'defaultProviders', 'must be a mapping with tracing, metrics, accessLogging');
  // Per key: a list the block sets replaces the default, an omitted one keeps it (so adding a tracing
  // default does not switch off Istio's default `prometheus` metrics).
  const next = { ...t.defaultProviders };
  for (const [k, v] of Object.entries(value)) {
    if (k !== 'tracing' && k !== 'metrics' && k !== 'accessLogging') {
      err('WEFT_E_UNKNOWN_FIELD', `defaultProviders.${k}`, 'is not a field of DefaultProviders (tracing, metrics, accessLogging)');
      continue;
    }
    if (!Array.isArray(v) || v.some((n) => typeof n !== 'string')) err('WEFT_E_TYPE', `defaultProviders.${k}`, 'must be a list of provider names');
    else next[k] = v as string[];
  }
  t.defaultProviders = next;
}

const PROVIDER_KINDS = ['opentelemetry', 'envoyFileAccessLog', 'envoyOtelAls', 'prometheus'] as const;

function readProvider(raw: unknown, at: string, err: Report): ExtensionProvider | undefined {
  if (!isObj(raw)) return void err('WEFT_E_TYPE', at, 'must be a mapping with `name` and one provider');
  const name = raw.name;
  let ok = true;
  if (typeof name !== 'string' || !PROVIDER_NAME.test(name)) {
    err('WEFT_E_INVALID_VALUE', `${at}.name`, `must be a provider name, got ${JSON.stringify(name)}`);
    ok = false;
  } else if (name === ENVOY_PROVIDER || name === PROMETHEUS_PROVIDER) {
    // Istio lets a user redefine `prometheus`; Weft keeps the built-ins fixed so `envoy` always means the accessLog* settings.
    if (!(name === PROMETHEUS_PROVIDER && isObj(raw.prometheus))) {
      err('WEFT_E_CONFLICT', `${at}.name`, `${JSON.stringify(name)} is a built-in provider's name`);
      ok = false;
    }
  }
  const kinds = Object.keys(raw).filter((k) => k !== 'name');
  const unknown = kinds.filter((k) => !(PROVIDER_KINDS as readonly string[]).includes(k));
  for (const k of unknown) err('WEFT_E_UNSUPPORTED', `${at}.${k}`, `is a provider Weft does not implement (${PROVIDER_KINDS.join(', ')})`);
  const known = kinds.filter((k) => (PROVIDER_KINDS as readonly string[]).includes(k));
  if (known.length + unknown.length !== 1) {
    if (unknown.length === 0) err('WEFT_E_REQUIRED_FIELD', at, `must set exactly one of ${PROVIDER_KINDS.join(', ')}`);
    return undefined;
  }
  if (!ok || unknown.length) return undefined;
  const kind = known[0] as (typeof PROVIDER_KINDS)[number];
  const body = raw[kind];
  const p = `${at}.${kind}`;
  if (!isObj(body)) return void err('WEFT_E_TYPE', p, 'must be a mapping');
  const before = { n: 0 };
  const e: Report = (c, path, m) => {
    before.n++;
    err(c, path, m);
  };
  const allow = (fieldsKnown: readonly string[]) => {
    for (const k of Object.keys(body)) if (!fieldsKnown.includes(k)) e('WEFT_E_UNSUPPORTED', `${p}.${k}`, `is not implemented (fields: ${fieldsKnown.join(', ')})`);
  };
  switch (kind) {
    case 'prometheus':
      allow([]);
      return before.n ? undefined : { name: name as string, kind };
    case 'opentelemetry': {
      allow(['service', 'port', 'http']);
      const target = serviceAndPort(body, p, e);
      let http: { path: string; timeoutMs: number; headers: Record<string, string> } | undefined;
      if (body.http !== undefined) {
        if (!isObj(body.http)) e('WEFT_E_TYPE', `${p}.http`, 'must be a mapping (path, timeout, headers)');
        else http = readOtelHttp(body.http, `${p}.http`, e);
      }
      if (before.n || !target) return undefined;
      return { name: name as string, kind, ...target, ...(http ? { http } : {}) };
    }
    case 'envoyFileAccessLog': {
      allow(['path', 'logFormat']);
      const path = body.path ?? '/dev/stdout';
      if (typeof path !== 'string' || path === '') e('WEFT_E_INVALID_VALUE', `${p}.path`, `must be a file path, got ${JSON.stringify(path)}`);
      const format = readLogFormat(body.logFormat, `${p}.logFormat`, e);
      return before.n || !format ? undefined : { name: name as string, kind, path: path as string, format };
    }
    case 'envoyOtelAls': {
      allow(['service', 'port', 'logName', 'logFormat']);
      const target = serviceAndPort(body, p, e);
      const logName = body.logName ?? 'otel_envoy_accesslog';
      if (typeof logName !== 'string') e('WEFT_E_TYPE', `${p}.logName`, 'must be a string');
      const format = readLogFormat(body.logFormat, `${p}.logFormat`, e);
      return before.n || !target || !format ? undefined : { name: name as string, kind, ...target, logName: logName as string, format };
    }
  }
}

function serviceAndPort(body: Obj, p: string, e: Report): { service: string; port: number } | undefined {
  const { service, port } = body;
  let ok = true;
  if (typeof service !== 'string' || service === '') {
    e('WEFT_E_REQUIRED_FIELD', `${p}.service`, 'must name the collector: a service host name (e.g. otel-collector.observability.svc.cluster.local) or an address');
    ok = false;
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    e('WEFT_E_INVALID_VALUE', `${p}.port`, `must be a port number 1..65535, got ${JSON.stringify(port)}`);
    ok = false;
  }
  return ok ? { service: service as string, port: port as number } : undefined;
}

function readOtelHttp(h: Obj, p: string, e: Report): { path: string; timeoutMs: number; headers: Record<string, string> } | undefined {
  let path = '/v1/traces';
  let timeoutMs = 10_000;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (k === 'path') {
      if (typeof v !== 'string' || !v.startsWith('/')) e('WEFT_E_INVALID_VALUE', `${p}.path`, `must be a path starting with "/", got ${JSON.stringify(v)}`);
      else path = v;
    } else if (k === 'timeout') {
      const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v) : null;
      if (!m) e('WEFT_E_DURATION', `${p}.timeout`, `must be a duration such as 10s, got ${JSON.stringify(v)}`);
      else timeoutMs = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
    } else if (k === 'headers') {
      // Istio: a list of {name, value} (or envName); Weft takes literal values.
      if (!Array.isArray(v)) e('WEFT_E_TYPE', `${p}.headers`, 'must be a list of {name, value}');
      else
        v.forEach((hv, i) => {
          if (!isObj(hv) || typeof hv.name !== 'string' || typeof hv.value !== 'string') e('WEFT_E_TYPE', `${p}.headers[${i}]`, 'must be {name, value} with string values');
          else headers[hv.name.toLowerCase()] = hv.value;
        });
    } else e('WEFT_E_UNSUPPORTED', `${p}.${k}`, 'is not implemented (path, timeout, headers)');
  }
  return { path, timeoutMs, headers };
}

function readLogFormat(raw: unknown, p: string, e: Report): AccessLogFormat | undefined {
  if (raw === undefined) return { type: 'text' };
  if (!isObj(raw)) return void e('WEFT_E_TYPE', p, 'must be a mapping with `text` or `labels`');
  const keys = Object.keys(raw);
  if (keys.length !== 1 || (keys[0] !== 'text' && keys[0] !== 'labels')) return void e('WEFT_E_INVALID_VALUE', p, 'must set exactly one of text, labels');
  if (keys[0] === 'text') {
    if (typeof raw.text !== 'string') return void e('WEFT_E_TYPE', `${p}.text`, 'must be an Envoy format string');
    return { type: 'text', text: raw.text };
  }
  const labels = raw.labels;
  if (!isObj(labels) || Object.values(labels).some((v) => typeof v !== 'string')) return void e('WEFT_E_TYPE', `${p}.labels`, 'must map field names to Envoy format strings');
  return { type: 'json', labels: labels as Record<string, string> };
}
