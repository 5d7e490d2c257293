// Which proxy `weft proxy-config PROXY` and `weft proxy-status PROXY` mean, and how to reach its
// admin: `--admin-address HOST:PORT` directly, or PROXY looked up in the control plane's
// /debug/syncz, whose entries carry the admin address each proxy's node reported. PROXY is the node
// id, or its workload part (`reviews-4711.default` of `sidecar~127.0.0.1~reviews-4711.default~…`),
// or any part of the id that names one proxy only.
import type { ProxyStatus } from '../../controlplane/xds/server.js';

export class CliError extends Error {}

export async function getJson<T>(url: string, what: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new CliError(`cannot reach ${what} at ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new CliError(`${what} at ${url}: HTTP ${res.status}: ${(await res.text()).trim()}`);
  return (await res.json()) as T;
}

export async function getText(url: string, what: string, init?: RequestInit): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new CliError(`cannot reach ${what} at ${url}: ${(err as Error).message}`);
  }
  const body = await res.text();
  if (!res.ok) throw new CliError(`${what} at ${url}: HTTP ${res.status}: ${body.trim()}`);
  return body;
}

export function connectedProxies(monitorAddress: string): Promise<ProxyStatus[]> {
  return getJson<{ proxies: ProxyStatus[] }>(`http://${monitorAddress}/debug/syncz`, 'the control plane (--monitor-address)').then((b) => b.proxies);
}

export function findProxy(proxies: ProxyStatus[], name: string): ProxyStatus {
  const exact = proxies.find((p) => p.id === name);
  if (exact) return exact;
  const byWorkload = proxies.filter((p) => p.id.split('~')[2] === name);
  const candidates = byWorkload.length ? byWorkload : proxies.filter((p) => p.id.includes(name));
  if (candidates.length === 1) return candidates[0];
  if (candidates.length === 0) throw new CliError(`no connected proxy matches ${JSON.stringify(name)} (weft proxy-status lists them)`);
  throw new CliError(`${JSON.stringify(name)} matches ${candidates.length} proxies: ${candidates.map((p) => p.id).join(', ')}`);
}

export interface Target {
  /** The node id, when known (looked up, or read from the admin's bootstrap). */
  id?: string;
  admin: string;
}

/** The admin address to talk to: `--admin-address`, else the looked-up proxy's. */
export async function resolveTarget(proxy: string | undefined, o: { adminAddress?: string; monitorAddress: string }): Promise<Target> {
  if (o.adminAddress) return { ...(proxy ? { id: proxy } : {}), admin: o.adminAddress };
  if (!proxy) throw new CliError('name a proxy (an id from weft proxy-status) or give --admin-address HOST:PORT');
  const p = findProxy(await connectedProxies(o.monitorAddress), proxy);
  if (!p.adminAddress) throw new CliError(`proxy ${p.id} did not report its admin address (an older proxy?): give --admin-address HOST:PORT`);
  return { id: p.id, admin: p.adminAddress };
}
