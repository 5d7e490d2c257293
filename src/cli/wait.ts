// `weft wait`: poll a URL until it answers 200, or give up. The non-native sidecar's postStart hook
// runs it, so the kubelet starts the app containers only once the proxy is ready (Istio's
// `pilot-agent wait` for holdApplicationUntilProxyStarts).
import http from 'node:http';
import { parseDuration } from '../config/duration.js';

export async function runWait(f: { url: string; timeout: string; periodMs: string }): Promise<number> {
  const timeout = parseDuration(f.timeout);
  const period = Number(f.periodMs);
  if (!timeout.ok || !Number.isInteger(period) || period < 1) {
    process.stderr.write(`weft wait: ${!timeout.ok ? `--timeout: ${timeout.message}` : `--period-ms: expected a whole number of ms, got "${f.periodMs}"`}\n`);
    return 2;
  }
  let url: URL;
  try {
    url = new URL(f.url);
    if (url.protocol !== 'http:') throw new Error('only http:// URLs');
  } catch (err) {
    process.stderr.write(`weft wait: --url: ${(err as Error).message}\n`);
    return 2;
  }
  const deadline = Date.now() + timeout.ms;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    last = await probe(url, Math.min(1000, Math.max(1, deadline - Date.now())));
    if (last === '200') return 0;
    await new Promise((r) => setTimeout(r, period));
  }
  process.stderr.write(`weft wait: ${url.href} did not answer 200 within ${f.timeout} (last: ${last})\n`);
  return 1;
}

function probe(url: URL, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(String(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve(err.message));
  });
}
