// Telemetry (telemetry.istio.io): tracing, metrics and access logging for the mesh (root
// namespace), a namespace, or the workloads a selector picks. Provider names are checked against
// the mesh config when a proxy's policy is resolved (the validator does not see the mesh config).
import { ISTIO_METRIC_SELECTORS, type CustomTag, type IstioMetricSelector, type TagOverride, type TelemetryAccessLogging, type TelemetryMetrics, type TelemetryMetricsOverride, type TelemetrySpec, type TelemetryTracing, type WorkloadMode } from '../telemetry-types.js';
import { ISTIO_LABELS } from '../../api/istio-labels.js';
import { specFieldNames, type SpecShape } from '../spec-shape.js';
import { fields, type Fields } from './fields.js';
import type { Issues, Path } from './issues.js';
import { readWorkloadSelector } from './security-common.js';
import { compileCel } from '../../proxy/telemetry/access-log/cel.js';

export const TELEMETRY_GROUP = 'telemetry.istio.io';
export const TELEMETRY_SPEC = { selector: 'object', targetRef: 'object', targetRefs: 'objects', tracing: 'objects', metrics: 'objects', accessLogging: 'objects' } as const satisfies SpecShape;
const SPEC_FIELDS = specFieldNames(TELEMETRY_SPEC);
const MODES: readonly WorkloadMode[] = ['CLIENT_AND_SERVER', 'CLIENT', 'SERVER'];
const METRICS = ['ALL_METRICS', ...Object.keys(ISTIO_METRIC_SELECTORS)] as IstioMetricSelector[];

export function validateTelemetry(issues: Issues, spec: unknown, path: Path): TelemetrySpec | undefined {
  const f = fields(issues, spec, path, SPEC_FIELDS);
  if (!f) return undefined;
  const before = issues.size;
  for (const k of ['targetRef', 'targetRefs']) if (f.has(k)) issues.add('WEFT_E_UNSUPPORTED', f.at(k), 'attaches to a Gateway API resource; Weft applies Telemetry to sidecars by namespace and selector only');
  const out: TelemetrySpec = { tracing: [], metrics: [], accessLogging: [] };
  const selector = readWorkloadSelector(f);
  if (selector) out.selector = selector;
  for (const { value, path: p } of f.list('tracing') ?? []) {
    const t = tracing(issues, value, p);
    if (t) out.tracing.push(t);
  }
  for (const { value, path: p } of f.list('metrics') ?? []) {
    const m = metrics(issues, value, p);
    if (m) out.metrics.push(m);
  }
  for (const { value, path: p } of f.list('accessLogging') ?? []) {
    const a = accessLogging(issues, value, p);
    if (a) out.accessLogging.push(a);
  }
  return issues.size === before ? out : undefined;
}

function mode(f: Fields): WorkloadMode {
  const m = f.sub('match', ['mode']);
  return m?.oneOf('mode', MODES) ?? 'CLIENT_AND_SERVER';
}

function providers(f: Fields): string[] | undefined {
  const list = f.list('providers');
  if (!list) return undefined;
  const names: string[] = [];
  for (const { value, path } of list) {
    const pf = fields(f.issues, value, path, ['name']);
    const name = pf?.str('name', { required: true });
    if (name) names.push(name);
  }
  return names;
}

function tracing(issues: Issues, v: unknown, p: Path): TelemetryTracing | undefined {
  const f = fields(issues, v, p, ['match', 'providers', 'randomSamplingPercentage', 'disableSpanReporting', 'customTags', 'useRequestIdForTraceSampling', 'enableIstioTags']);
  if (!f) return undefined;
  for (const k of ['useRequestIdForTraceSampling', 'enableIstioTags']) if (f.has(k)) issues.add('WEFT_E_UNSUPPORTED', f.at(k), 'is not implemented');
  const out: TelemetryTracing = { mode: mode(f) };
  const names = providers(f);
  if (names) out.providers = names;
  const rate = f.num('randomSamplingPercentage', { min: 0, max: 100 });
  if (rate !== undefined) out.randomSamplingPercentage = rate;
  const disable = f.bool('disableSpanReporting');
  if (disable !== undefined) out.disableSpanReporting = disable;
  const tags = f.map('customTags');
  if (tags) out.customTags = tags.flatMap(({ key, value, path }) => customTag(issues, key, value, path) ?? []);
  return out;
}

function customTag(issues: Issues, tag: string, v: unknown, p: Path): CustomTag | undefined {
  const f = fields(issues, v, p, ['literal', 'environment', 'header']);
  if (!f) return undefined;
  const kinds = ['literal', 'environment', 'header'].filter((k) => f.has(k));
  if (kinds.length !== 1) {
    issues.add('WEFT_E_INVALID_VALUE', p, 'must set exactly one of literal, environment, header');
    return undefined;
  }
  if (kinds[0] === 'literal') {
    const value = f.sub('literal', ['value'])?.str('value', { required: true });
    return value === undefined ? undefined : { tag, literal: value };
  }
  const sub = f.sub(kinds[0], ['name', 'defaultValue']);
  const name = sub?.str('name', { required: true });
  if (!sub || name === undefined) return undefined;
  const defaultValue = sub.str('defaultValue');
  const dv = defaultValue === undefined ? {} : { defaultValue };
  return kinds[0] === 'header' ? { tag, header: name.toLowerCase(), ...dv } : { tag, environment: name, ...dv };
}

function metrics(issues: Issues, v: unknown, p: Path): TelemetryMetrics | undefined {
  const f = fields(issues, v, p, ['providers', 'overrides', 'reportingInterval']);
  if (!f) return undefined;
  if (f.has('reportingInterval')) issues.add('WEFT_E_UNSUPPORTED', f.at('reportingInterval'), 'is not implemented: Prometheus metrics are read when scraped');
  const out: TelemetryMetrics = { overrides: [] };
  const names = providers(f);
  if (names) out.providers = names;
  for (const { value, path } of f.list('overrides') ?? []) {
    const o = override(issues, value, path);
    if (o) out.overrides.push(o);
  }
  return out;
}

/** UPSERT values Weft evaluates: a quoted literal or a request header (Istio writes CEL here). */
export const TAG_VALUE = /^(?:'[^']*'|"[^"]*"|request\.headers\[(?:'[^']+'|"[^"]+")\])$/;

function override(issues: Issues, v: unknown, p: Path): TelemetryMetricsOverride | undefined {
  const f = fields(issues, v, p, ['match', 'disabled', 'tagOverrides']);
  if (!f) return undefined;
  let metric: IstioMetricSelector = 'ALL_METRICS';
  let m: WorkloadMode = 'CLIENT_AND_SERVER';
  const match = f.sub('match', ['metric', 'customMetric', 'mode']);
  if (match) {
    if (match.has('customMetric')) issues.add('WEFT_E_UNSUPPORTED', match.at('customMetric'), 'custom metrics are not implemented (only Istio\'s standard metrics)');
    metric = match.oneOf('metric', METRICS) ?? 'ALL_METRICS';
    m = match.oneOf('mode', MODES) ?? 'CLIENT_AND_SERVER';
  }
  const out: TelemetryMetricsOverride = { mode: m, metric, tagOverrides: {} };
  const disabled = f.bool('disabled');
  if (disabled !== undefined) out.disabled = disabled;
  for (const { key, value, path } of f.map('tagOverrides') ?? []) {
    const tf = fields(issues, value, path, ['operation', 'value']);
    if (!tf) continue;
    if (!(ISTIO_LABELS as readonly string[]).includes(key)) {
      issues.add('WEFT_E_UNSUPPORTED', path, `${JSON.stringify(key)} is not a label of Istio's standard metrics: new dimensions are not implemented`);
      continue;
    }
    const op = tf.oneOf('operation', ['UPSERT', 'REMOVE'] as const) ?? 'UPSERT';
    if (op === 'REMOVE') {
      out.tagOverrides[key] = { operation: 'REMOVE' } satisfies TagOverride;
      continue;
    }
    const expr = tf.str('value', { required: true });
    if (expr === undefined) continue;
    if (!TAG_VALUE.test(expr.trim())) {
      issues.add('WEFT_E_UNSUPPORTED', tf.at('value'), `${JSON.stringify(expr)}: Weft evaluates a quoted literal ('v') or request.headers['name'] here`);
      continue;
    }
    out.tagOverrides[key] = { operation: 'UPSERT', value: expr.trim() };
  }
  return out;
}

function accessLogging(issues: Issues, v: unknown, p: Path): TelemetryAccessLogging | undefined {
  const f = fields(issues, v, p, ['match', 'providers', 'disabled', 'filter']);
  if (!f) return undefined;
  const out: TelemetryAccessLogging = { mode: mode(f) };
  const names = providers(f);
  if (names) out.providers = names;
  const disabled = f.bool('disabled');
  if (disabled !== undefined) out.disabled = disabled;
  const filter = f.sub('filter', ['expression']);
  const expr = filter?.str('expression', { required: true });
  if (expr !== undefined) {
    // The proxy's own CEL compiler, so what is accepted here is what the sidecars run (no NACK later).
    const compiled = compileCel(expr);
    if (typeof compiled === 'string') issues.add('WEFT_E_UNSUPPORTED', filter!.at('expression'), `${JSON.stringify(expr)}: ${compiled}`);
    else out.filterExpression = expr;
  }
  return out;
}
