// Reading a proxy's /stats/prometheus for the dashboard: only the families it shows are parsed (a
// sidecar exposes hundreds of other series), and a malformed line is skipped, never fatal — one bad
// proxy must not blank the dashboard.

export interface ScrapedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export const REQUESTS = 'istio_requests_total';
export const DURATION_BUCKET = 'istio_request_duration_milliseconds_bucket';
/** Per-cluster gauges a caller's sidecar keeps: what the per-service view shows as endpoint health. */
export const CLUSTER_GAUGES = ['envoy_cluster_membership_healthy', 'envoy_cluster_membership_total', 'envoy_cluster_outlier_detection_ejections_active'] as const;

const WANTED = new Set<string>([REQUESTS, DURATION_BUCKET, ...CLUSTER_GAUGES]);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/y;

function unescape(v: string): string {
  return v.includes('\\') ? v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)) : v;
}

/** The samples of the wanted families in a text exposition (0.0.4 or OpenMetrics). */
export function parseWanted(text: string): ScrapedSample[] {
  const out: ScrapedSample[] = [];
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const line = text.slice(at, end);
    at = end + 1;
    if (line === '' || line.charCodeAt(0) === 35 /* # */) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const nameEnd = brace >= 0 && (space < 0 || brace < space) ? brace : space;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!WANTED.has(name)) continue;
    const labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (brace === nameEnd) {
      const close = line.lastIndexOf('}');
      if (close < brace) continue;
      const body = line.slice(brace + 1, close);
      LABEL.lastIndex = 0;
      let ok = true;
      while (LABEL.lastIndex < body.length) {
        const m = LABEL.exec(body);
        if (!m) {
          ok = false;
          break;
        }
        labels[m[1]] = unescape(m[2]);
      }
      if (!ok) continue;
      rest = line.slice(close + 1);
    }
    const valueText = rest.trim().split(/\s+/)[0];
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (valueText === '' || Number.isNaN(value)) continue;
    out.push({ name, labels, value });
  }
  return out;
}
