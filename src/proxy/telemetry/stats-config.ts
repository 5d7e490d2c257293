// Istio's stats filter config (istio.stats, `type.googleapis.com/stats.PluginConfig`, the same type
// URL for the HTTP and the network filter). Weft takes Istio's type so its control plane's output
// is what Istio's proxies read. Implemented: `metrics` overrides (what Istio's Telemetry
// `metrics.overrides` becomes): `drop` a metric, `tags_to_remove`, and `dimensions` that set a
// standard label to a quoted literal or a request header. The rest (custom definitions, new
// dimensions, CEL beyond those forms, a `match` condition, a gateway reporter) is a NACK.
import { createHash } from 'node:crypto';
import { ISTIO_LABELS, type IstioLabel } from './istio-metrics.js';
import { join, list, obj, str, type Problems, type Raw } from '../xds/validate-common.js';

export { ISTIO_STATS_FILTER, ISTIO_STATS_TYPE_URL } from '../../api/mesh-names.js';

/** Istio's standard metrics by the names PluginConfig uses (without the `istio_` prefix). */
export const STATS_METRICS = [
  'requests_total',
  'request_duration_milliseconds',
  'request_bytes',
  'response_bytes',
  'request_messages_total',
  'response_messages_total',
  'tcp_connections_opened_total',
  'tcp_connections_closed_total',
  'tcp_sent_bytes_total',
  'tcp_received_bytes_total',
] as const;
export type StatsMetric = (typeof STATS_METRICS)[number];

export type LabelValue = { kind: 'remove' } | { kind: 'literal'; value: string } | { kind: 'header'; name: string };

export interface MetricOverride {
  drop: boolean;
  labels: ReadonlyMap<IstioLabel, LabelValue>;
}

export interface StatsConfig {
  /** '' for the defaults; otherwise a digest that outcome keys carry, so series of different configs never share a child. */
  readonly id: string;
  readonly overrides: ReadonlyMap<StatsMetric, MetricOverride>;
  /** Request headers some dimension reads: their values are part of the outcome key. */
  readonly headers: readonly string[];
  /** Every metric is dropped (metrics off for this listener): record nothing, exchange peer metadata only. */
  readonly allDropped: boolean;
}

export const DEFAULT_STATS: StatsConfig = Object.freeze({ id: '', overrides: new Map(), headers: [], allDropped: false });

/** Fields accepted when set to their defaults, or without effect on what is reported here. */
const accepted = new Set(['@type', 'disable_host_header_fallback', 'tcp_reporting_duration', 'rescoping_duration', 'scope_grace_period_duration', 'metrics']);
const LABELS = new Set<string>(ISTIO_LABELS);
const LITERAL = /^(?:'([^']*)'|"([^"]*)")$/;
const HEADER = /^request\.headers\[(?:'([^']+)'|"([^"]+)")\]$/;

export function statsPluginConfig(raw: Raw, path: string, p: Problems): StatsConfig {
  for (const k of Object.keys(raw)) {
    if (accepted.has(k)) continue;
    const v = raw[k];
    const isDefault = v === undefined || v === null || v === 0 || v === '' || v === 'UNSPECIFIED' || (Array.isArray(v) && v.length === 0);
    if (!isDefault) p.add(join(path, k), 'not supported (Istio\'s standard metrics, with metrics overrides)');
  }
  const entries = list(raw.metrics);
  if (entries.length === 0) return DEFAULT_STATS;
  const overrides = new Map<StatsMetric, { drop: boolean; labels: Map<IstioLabel, LabelValue> }>();
  const headers = new Set<string>();
  entries.forEach((e, i) => {
    const at = join(path, `metrics[${i}]`);
    const m = obj(e);
    if (str(m.match)) p.add(join(at, 'match'), 'a match condition is not supported');
    const name = str(m.name);
    if (name && !(STATS_METRICS as readonly string[]).includes(name)) {
      p.add(join(at, 'name'), `${JSON.stringify(name)} is not a standard metric (${STATS_METRICS.join(', ')}); custom metrics are not supported`);
      return;
    }
    // Empty name: every metric, as Istio's filter reads it.
    const targets = name ? [name as StatsMetric] : STATS_METRICS;
    const changes: Array<[IstioLabel, LabelValue]> = [];
    for (const [tag, expr] of Object.entries(obj(m.dimensions))) {
      const v = labelValue(tag, String(expr), join(at, `dimensions.${tag}`), p);
      if (v) {
        changes.push([tag as IstioLabel, v]);
        if (v.kind === 'header') headers.add(v.name);
      }
    }
    list(m.tags_to_remove).forEach((t, j) => {
      const tag = str(t);
      if (!LABELS.has(tag)) p.add(join(at, `tags_to_remove[${j}]`), `${JSON.stringify(tag)} is not a label of Istio's standard metrics`);
      else changes.push([tag as IstioLabel, { kind: 'remove' }]);
    });
    for (const metric of targets) {
      let o = overrides.get(metric);
      if (!o) overrides.set(metric, (o = { drop: false, labels: new Map() }));
      // Later entries win, as the control plane lists them least specific first.
      if (m.drop === true) o.drop = true;
      for (const [tag, v] of changes) o.labels.set(tag, v);
    }
  });
  const id = createHash('sha256').update(JSON.stringify([...overrides].map(([k, o]) => [k, o.drop, [...o.labels]]))).digest('hex').slice(0, 10);
  const allDropped = STATS_METRICS.every((m) => overrides.get(m)?.drop === true);
  return { id, overrides, headers: [...headers].sort(), allDropped };
}

function labelValue(tag: string, expr: string, at: string, p: Problems): LabelValue | undefined {
  if (!LABELS.has(tag)) {
    p.add(at, `${JSON.stringify(tag)} is not a label of Istio's standard metrics: new dimensions are not supported`);
    return undefined;
  }
  const e = expr.trim();
  const lit = LITERAL.exec(e);
  if (lit) return { kind: 'literal', value: lit[1] ?? lit[2] };
  const h = HEADER.exec(e);
  if (h) return { kind: 'header', name: (h[1] ?? h[2]).toLowerCase() };
  p.add(at, `${JSON.stringify(expr)}: supported are a quoted literal ('v') and request.headers['name']`);
  return undefined;
}
