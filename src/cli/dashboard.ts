// `weft dashboard`: print the control plane's dashboard URL and open it in a browser when this
// machine has an opener (xdg-open, or macOS's open). No browser is never an error: the URL is printed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { splitHostPort } from '../controlplane/monitor.js';

/** The first of `names` found on PATH. */
export function findOnPath(names: readonly string[], envPath = process.env.PATH ?? ''): string | undefined {
  for (const name of names)
    for (const dir of envPath.split(path.delimiter)) {
      if (!dir) continue;
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  return undefined;
}

export function dashboardUrl(monitorAddress: string): string {
  const [host, port] = splitHostPort(monitorAddress);
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}/dashboard`;
}

export async function runDashboard(opts: { monitorAddress: string; open: boolean }, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let url: string;
  try {
    url = dashboardUrl(opts.monitorAddress);
  } catch (e) {
    err.write(`weft dashboard: --monitor-address: ${(e as Error).message}\n`);
    return 2;
  }
  out.write(`${url}\n`);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    res.body?.cancel().catch(() => {});
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (e) {
    err.write(`weft dashboard: the control plane does not answer at ${url}: ${(e as Error).message} (is it running? --monitor-address)\n`);
    return 1;
  }
  if (!opts.open) return 0;
  const opener = findOnPath(process.platform === 'darwin' ? ['open'] : ['xdg-open']);
  if (!opener) {
    err.write('weft dashboard: no browser opener (xdg-open) on PATH; open the URL above yourself\n');
    return 0;
  }
  const child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
  child.on('error', (e) => err.write(`weft dashboard: ${opener}: ${e.message}; open the URL above yourself\n`));
  child.unref();
  return 0;
}
