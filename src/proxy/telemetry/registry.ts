// A small Prometheus registry for the proxy's hot path: metric families with fixed label names,
// children (one label set each) created once and cached by the caller's key, counters and
// histograms that are plain numbers to bump. Exposition renders Prometheus text 0.0.4 or
// OpenMetrics 1.0. Hand-written rather than prom-client because prom-client resolves labels per
// increment (an object hashed on every call); see docs/observability.md for the measurements.

export type MetricType = 'counter' | 'histogram' | 'gauge';

/** One label set of a family, its label text rendered once (`{a="x",b="y"}`). */
interface ChildBase {
  readonly labelText: string;
}

export interface CounterChild extends ChildBase {
  value: number;
}

export interface HistogramChild extends ChildBase {
  /** counts[i]: observations ≤ buckets[i] (not cumulative; summed at exposition); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** Prometheus label value escaping: backslash, double quote, newline. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

export function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  let s = '{';
  for (let i = 0; i < names.length; i++) s += `${i ? ',' : ''}${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  return `${s}}`;
}

abstract class Family<C extends ChildBase> {
  protected readonly children = new Map<string, C>();
  /** The same children by label text: two keys can resolve to one label set (a subset's cluster and
   * the plain one reaching the same workload, a removed tag), and an exposition with one label set
   * twice is refused whole by Prometheus ("duplicate sample"). Looked up only for a key not seen before. */
  protected readonly byLabels = new Map<string, C>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}
  abstract readonly type: MetricType;

  /** The child for `key`, created from `values` (in labelNames order) the first time. */
  child(key: string, values: readonly string[]): C {
    let c = this.children.get(key);
    if (!c) {
      const text = labelText(this.labelNames, values);
      c = this.byLabels.get(text);
      if (!c) this.byLabels.set(text, (c = this.create(text)));
      this.children.set(key, c);
    }
    return c;
  }

  get size(): number {
    return this.children.size;
  }

  /** A child outside the family, never exported: what a dropped metric records into, so the hot
   * path bumps it without a branch. */
  detached(): C {
    return this.create('');
  }

  protected abstract create(labelText: string): C;
  abstract render(out: string[], openMetrics: boolean): void;

  protected header(out: string[], openMetrics: boolean): void {
    // OpenMetrics names a counter family without its _total suffix; its samples keep it.
    const name = openMetrics && this.type === 'counter' && this.name.endsWith('_total') ? this.name.slice(0, -6) : this.name;
    out.push(`# HELP ${name} ${this.help}\n# TYPE ${name} ${this.type}\n`);
  }
}

/** Counters and gauges: one number per child. */
abstract class ValueFamily extends Family<CounterChild> {
  protected create(labelText: string): CounterChild {
    return { labelText, value: 0 };
  }
  render(out: string[], openMetrics: boolean): void {
    if (this.children.size === 0) return;
    this.header(out, openMetrics);
    for (const c of this.byLabels.values()) out.push(`${this.name}${c.labelText} ${c.value}\n`);
  }
}

export class CounterFamily extends ValueFamily {
  readonly type = 'counter';
}

export class GaugeFamily extends ValueFamily {
  readonly type = 'gauge';
}

export class HistogramFamily extends Family<HistogramChild> {
  readonly type = 'histogram';
  private readonly leTexts: string[];
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    this.leTexts = [...buckets.map((b) => String(b)), '+Inf'];
  }
  protected create(labelText: string): HistogramChild {
    return { labelText, counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
  }
  render(out: string[], openMetrics: boolean): void {
    if (this.children.size === 0) return;
    this.header(out, openMetrics);
    const n = this.name;
    for (const c of this.byLabels.values()) {
      // `le` goes last inside the braces: {a="x",le="5"}.
      const open = c.labelText ? `${c.labelText.slice(0, -1)},le="` : '{le="';
      let cumulative = 0;
      for (let i = 0; i < c.counts.length; i++) {
        cumulative += c.counts[i];
        out.push(`${n}_bucket${open}${this.leTexts[i]}"} ${cumulative}\n`);
      }
      out.push(`${n}_sum${c.labelText} ${c.sum}\n${n}_count${c.labelText} ${c.count}\n`);
    }
  }
}

/** Count one observation: the first bucket whose bound is ≥ v (binary search over sorted bounds). */
export function observe(family: HistogramFamily, c: HistogramChild, v: number): void {
  const b = family.buckets;
  let lo = 0;
  let hi = b.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (b[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  c.counts[lo]++;
  c.sum += v;
  c.count++;
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Whether an Accept header asks for OpenMetrics (Prometheus sends it first when it can parse it). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.includes('application/openmetrics-text');
}

export class MetricRegistry {
  private readonly families: Family<ChildBase>[] = [];

  counter(name: string, help: string, labelNames: readonly string[]): CounterFamily {
    return this.add(new CounterFamily(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[]): GaugeFamily {
    return this.add(new GaugeFamily(name, help, labelNames));
  }
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): HistogramFamily {
    return this.add(new HistogramFamily(name, help, labelNames, buckets));
  }

  private add<F extends Family<ChildBase>>(f: F): F {
    if (this.families.some((x) => x.name === f.name)) throw new Error(`metric ${f.name} is registered twice`);
    this.families.push(f);
    return f;
  }

  /** Every family with at least one child, as exposition text (no trailing # EOF: the caller ends the document). */
  render(out: string[], openMetrics: boolean): void {
    for (const f of this.families) f.render(out, openMetrics);
  }
}
