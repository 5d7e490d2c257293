// GET /stats/prometheus on the telemetry port: Istio's metrics, the proxy's own Envoy-style stats
// and, with --app-metrics-port/--app-metrics-path (Istio's prometheus.io annotation merge), the
// app's own exposition appended. Prometheus text 0.0.4 by default, OpenMetrics 1.0 when the scraper
// asks for it in Accept — except when app metrics are merged: the app's text is 0.0.4, so the whole
// answer is (Istio's agent merges the same way).
import http from 'node:http';
import { OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, wantsOpenMetrics } from './registry.js';
import type { TelemetryHandler } from './telemetry-server.js';

export const PROMETHEUS_PATH = '/stats/prometheus';

export interface AppMetricsTarget {
  port: number;
  path: string;
  /** Default 127.0.0.1: the app beside this sidecar. */
  host?: string;
}

export interface PrometheusSource {
  /** Append the exposition lines (no `# EOF`). */
  render(out: string[], openMetrics: boolean): void;
  appMetrics?: AppMetricsTarget;
  /** How long the app's endpoint may take (Istio: the scrape's own timeout); default 5 s. */
  appTimeoutMs?: number;
}

export function prometheusHandler(src: PrometheusSource): TelemetryHandler {
  let appScrapeFailures = 0;
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== PROMETHEUS_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    const openMetrics = !src.appMetrics && wantsOpenMetrics(req.headers.accept);
    const out: string[] = [];
    src.render(out, openMetrics);
    const send = (appText: string) => {
      out.push(`# HELP weft_agent_scrape_failures_total App metrics scrapes that failed.\n# TYPE weft_agent_scrape_failures_total counter\nweft_agent_scrape_failures_total ${appScrapeFailures}\n`);
      if (appText) out.push(appText.endsWith('\n') ? appText : `${appText}\n`);
      if (openMetrics) out.push('# EOF\n');
      const body = out.join('');
      res.writeHead(200, { 'content-type': openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (!src.appMetrics) {
      send('');
      return true;
    }
    scrapeApp(src.appMetrics, src.appTimeoutMs ?? 5000).then(send, () => {
      appScrapeFailures++;
      send('');
    });
    return true;
  };
}

function scrapeApp(t: AppMetricsTarget, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: t.host ?? '127.0.0.1', port: t.port, path: t.path, headers: { accept: 'text/plain; version=0.0.4' }, timeout: timeoutMs, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`app metrics: HTTP ${res.statusCode}`));
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('app metrics: timeout')));
    req.on('error', reject);
  });
}
