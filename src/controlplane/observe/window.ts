// The embedded metrics store: a few minutes of scrapes per proxy, reduced at ingest to the labels the
// dashboard shows (edge, reporter, code, flags; `le` for buckets), so memory is bounded by edges and
// not by every label Istio carries. Bounded twice: samples per series (the window) and series in all.
import { CLUSTER_GAUGES, DURATION_BUCKET, REQUESTS, type ScrapedSample } from './exposition.js';
import { edgeKey, edgeLabelsOf, type ClusterHealthRow, type EdgeLabels, type LatencyRow, type MeshRates, type Reporter, type RequestRow } from './edges.js';
import { histogramQuantile, increase, type Point } from './histogram.js';

export interface WindowLimits {
  /** How far back samples are kept (the longest range a read may ask for). */
  windowMs: number;
  /** Samples kept per series: at least the window over the scrape interval. */
  maxSamples: number;
  /** Series kept over all proxies; past it new series are dropped and counted. */
  maxSeries: number;
}

interface Series {
  edge: EdgeLabels;
  reporter: Reporter;
  /** Requests: the response code and flags. Buckets: '' and the bucket bound. */
  code: string;
  flags: string;
  le: number;
  points: Point[];
}

interface Target {
  requests: Map<string, Series>;
  buckets: Map<string, Series>;
  /** Times of this proxy's scrapes inside the window, oldest first. */
  scrapes: number[];
  clusters: ClusterHealthRow[];
}

const reporterOf = (v: string | undefined): Reporter => (v === 'destination' ? 'destination' : 'source');

export class MetricWindow {
  private readonly targets = new Map<string, Target>();
  private seriesCount = 0;
  /** Series refused because maxSeries was reached (shown on the dashboard). */
  droppedSeries = 0;

  constructor(private readonly limits: WindowLimits) {}

  get series(): number {
    return this.seriesCount;
  }

  /** One scrape of proxy `target` taken at `t` (ms). */
  ingest(target: string, t: number, samples: readonly ScrapedSample[]): void {
    let tg = this.targets.get(target);
    if (!tg) this.targets.set(target, (tg = { requests: new Map(), buckets: new Map(), scrapes: [], clusters: [] }));
    const previous = tg.scrapes.length ? tg.scrapes[tg.scrapes.length - 1] : undefined;
    // Sum the raw series (principals, protocol, … differ) into the reduced keys first.
    const sums = new Map<string, { map: Map<string, Series>; proto: Omit<Series, 'points'>; value: number }>();
    const clusters = new Map<string, ClusterHealthRow>();
    for (const s of samples) {
      if (s.name === REQUESTS || s.name === DURATION_BUCKET) {
        const edge = edgeLabelsOf(s.labels);
        const reporter = reporterOf(s.labels.reporter);
        const isReq = s.name === REQUESTS;
        const proto = isReq
          ? { edge, reporter, code: s.labels.response_code ?? '', flags: s.labels.response_flags ?? '-', le: 0 }
          : { edge, reporter, code: '', flags: '', le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le) };
        if (!isReq && Number.isNaN(proto.le)) continue;
        const key = `${reporter}|${edgeKey(edge)}|${proto.code}|${proto.flags}|${proto.le}`;
        const sum = sums.get(key);
        if (sum) sum.value += s.value;
        else sums.set(key, { map: isReq ? tg.requests : tg.buckets, proto, value: s.value });
      } else if ((CLUSTER_GAUGES as readonly string[]).includes(s.name) && s.labels.cluster_name) {
        const c = s.labels.cluster_name;
        let row = clusters.get(c);
        if (!row) clusters.set(c, (row = { proxy: target, cluster: c, healthy: 0, total: 0, ejectionsActive: 0 }));
        if (s.name === 'envoy_cluster_membership_healthy') row.healthy = s.value;
        else if (s.name === 'envoy_cluster_membership_total') row.total = s.value;
        else row.ejectionsActive = s.value;
      }
    }
    for (const [key, { map, proto, value }] of sums) {
      let series = map.get(key);
      if (!series) {
        if (this.seriesCount >= this.limits.maxSeries) {
          this.droppedSeries++;
          continue;
        }
        this.seriesCount++;
        // A series first seen on a proxy already scraped started from zero since that scrape (what
        // Prometheus' created timestamps give): its first requests count.
        map.set(key, (series = { ...proto, points: previous === undefined ? [] : [{ t: previous, v: 0 }] }));
      }
      series.points.push({ t, v: value });
      if (series.points.length > this.limits.maxSamples) series.points.splice(0, series.points.length - this.limits.maxSamples);
    }
    tg.scrapes.push(t);
    if (tg.scrapes.length > this.limits.maxSamples) tg.scrapes.splice(0, tg.scrapes.length - this.limits.maxSamples);
    tg.clusters = [...clusters.values()];
    this.expire(t);
  }

  /** Drop a proxy's samples (it is gone from the registry). */
  forget(target: string): void {
    const tg = this.targets.get(target);
    if (!tg) return;
    this.seriesCount -= tg.requests.size + tg.buckets.size;
    this.targets.delete(target);
  }

  targetNames(): string[] {
    return [...this.targets.keys()];
  }

  /** Points older than the window go; series and proxies left empty with them. */
  private expire(now: number): void {
    const cutoff = now - this.limits.windowMs;
    for (const [name, tg] of this.targets) {
      while (tg.scrapes.length && tg.scrapes[0] < cutoff) tg.scrapes.shift();
      for (const map of [tg.requests, tg.buckets])
        for (const [k, s] of map) {
          let drop = 0;
          while (drop < s.points.length && s.points[drop].t < cutoff) drop++;
          if (drop) s.points.splice(0, drop);
          if (s.points.length === 0) {
            map.delete(k);
            this.seriesCount--;
          }
        }
      if (tg.scrapes.length === 0) this.forget(name);
    }
  }

  /** Rates over the last `rangeSeconds` before `now`: each proxy's increase divided by the span of
   * its own scrapes in the range (no extrapolation), summed over proxies per key. */
  rates(rangeSeconds: number, now: number): Omit<MeshRates, 'source' | 'errors'> {
    const from = now - rangeSeconds * 1000;
    const requests = new Map<string, RequestRow>();
    const buckets = new Map<string, { edge: EdgeLabels; reporter: Reporter; byLe: Map<number, number> }>();
    const clusters: ClusterHealthRow[] = [];
    for (const tg of this.targets.values()) {
      clusters.push(...tg.clusters);
      const inRange = tg.scrapes.filter((t) => t >= from && t <= now);
      if (inRange.length < 2) continue;
      const span = (inRange[inRange.length - 1] - inRange[0]) / 1000;
      for (const s of tg.requests.values()) {
        const inc = increase(s.points.filter((p) => p.t >= from && p.t <= now));
        if (!inc) continue;
        const key = `${s.reporter}|${edgeKey(s.edge)}|${s.code}|${s.flags}`;
        const row = requests.get(key);
        if (row) {
          row.count += inc.increase;
          row.rps += inc.increase / span;
        } else requests.set(key, { edge: s.edge, reporter: s.reporter, code: s.code, flags: s.flags, count: inc.increase, rps: inc.increase / span });
      }
      for (const s of tg.buckets.values()) {
        const inc = increase(s.points.filter((p) => p.t >= from && p.t <= now));
        if (!inc) continue;
        const key = `${s.reporter}|${edgeKey(s.edge)}`;
        let b = buckets.get(key);
        if (!b) buckets.set(key, (b = { edge: s.edge, reporter: s.reporter, byLe: new Map() }));
        b.byLe.set(s.le, (b.byLe.get(s.le) ?? 0) + inc.increase);
      }
    }
    const latency: LatencyRow[] = [];
    for (const { edge, reporter, byLe } of buckets.values()) {
      const bs = [...byLe].map(([le, count]) => ({ le, count }));
      const q = (p: number) => {
        const v = histogramQuantile(p, bs);
        return Number.isFinite(v) ? v : null;
      };
      latency.push({ edge, reporter, p50: q(0.5), p95: q(0.95), p99: q(0.99) });
    }
    return { rangeSeconds, requests: [...requests.values()], latency, clusters };
  }
}
