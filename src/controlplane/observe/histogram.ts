// The window math the dashboard shares with Prometheus: a counter's increase over a range (resets
// handled as rate() does) and a quantile from cumulative histogram buckets, interpolated linearly
// inside the bucket as PromQL's histogram_quantile() does, so the embedded numbers and a real
// Prometheus' agree on the same samples.

/** One cumulative bucket: the count of observations ≤ `le` (Infinity for the +Inf bucket). */
export interface Bucket {
  le: number;
  count: number;
}

/**
 * histogram_quantile(q, buckets) with Prometheus' rules: NaN without a +Inf bucket, fewer than two
 * buckets, or no observations; -Inf/+Inf for q outside [0, 1]; the upper bound of the highest finite
 * bucket when the rank falls into +Inf; counts made monotonic first (rates of buckets scraped at
 * slightly different moments can dip).
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1].le !== Infinity) return NaN;
  let max = 0;
  const counts = sorted.map((b) => (max = Math.max(max, b.count)));
  const total = counts[counts.length - 1];
  if (!(total > 0)) return NaN;
  let rank = q * total;
  let b = counts.findIndex((c) => c >= rank);
  if (b < 0) b = counts.length - 1;
  if (b === sorted.length - 1) return sorted[sorted.length - 2].le;
  if (b === 0 && sorted[0].le <= 0) return sorted[0].le;
  let start = 0;
  let count = counts[b];
  if (b > 0) {
    start = sorted[b - 1].le;
    count -= counts[b - 1];
    rank -= counts[b - 1];
  }
  return start + (sorted[b].le - start) * (rank / count);
}

/** A counter sample: milliseconds since the epoch and the value read. */
export interface Point {
  t: number;
  v: number;
}

/** How much a counter grew over its points (oldest first): a drop is a reset, after which the counter
 * counted up from zero (rate()'s rule). Undefined with fewer than two points. */
export function increase(points: readonly Point[]): { increase: number; seconds: number } | undefined {
  if (points.length < 2) return undefined;
  let inc = 0;
  for (let i = 1; i < points.length; i++) {
    const d = points[i].v - points[i - 1].v;
    inc += d >= 0 ? d : points[i].v;
  }
  return { increase: inc, seconds: (points[points.length - 1].t - points[0].t) / 1000 };
}
