// Per (service, version) request counters over a sliding window, as the callers saw them.
interface Bucket {
  second: number;
  total: number;
  ok: number;
}

export interface Row {
  service: string;
  version: string;
  rps: number;
  successRate: number;
  share: number;
}

export class Stats {
  private readonly series = new Map<string, Bucket[]>();

  constructor(private readonly windowSeconds = 5) {}

  record(service: string, version: string, status: number): void {
    const key = `${service}\0${version}`;
    let buckets = this.series.get(key);
    if (!buckets) this.series.set(key, (buckets = []));
    const second = Math.floor(Date.now() / 1000);
    let b = buckets[buckets.length - 1];
    if (!b || b.second !== second) {
      buckets.push((b = { second, total: 0, ok: 0 }));
      while (buckets.length > this.windowSeconds + 2) buckets.shift();
    }
    b.total++;
    // 4xx is the caller's doing and counts as served, except a refusal by the mesh's policy.
    if (status >= 200 && status < 500 && status !== 401 && status !== 403) b.ok++;
  }

  /** Rates over the last complete `windowSeconds` seconds, sorted by service then version. */
  rows(now = Date.now()): Row[] {
    const current = Math.floor(now / 1000);
    const rows: Row[] = [];
    for (const [key, buckets] of this.series) {
      const [service, version] = key.split('\0');
      let total = 0;
      let ok = 0;
      for (const b of buckets)
        if (b.second < current && b.second >= current - this.windowSeconds) {
          total += b.total;
          ok += b.ok;
        }
      rows.push({ service, version, rps: total / this.windowSeconds, successRate: total ? ok / total : 1, share: 0 });
    }
    const perService = new Map<string, number>();
    for (const r of rows) perService.set(r.service, (perService.get(r.service) ?? 0) + r.rps);
    for (const r of rows) r.share = (perService.get(r.service) ?? 0) > 0 ? r.rps / perService.get(r.service)! : 0;
    return rows.sort((a, b) => (a.service === b.service ? (a.version < b.version ? -1 : 1) : a.service < b.service ? -1 : 1));
  }
}
