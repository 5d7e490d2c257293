// `weft proxy-status`: which proxy runs which config, from the control plane's /debug/syncz
// (istioctl proxy-status for Weft). SYNCED: the proxy ACKed what was last sent; STALE: a newer
// version is in flight; NACKED: it refused the last version (the reason is printed below the table);
// N/A: the type is not part of the proxy's protocol (VHDS on a state-of-the-world stream).
// Given one PROXY, its row is followed by the diff, per xDS type, between what it runs (its admin's
// /config_dump) and what the control plane would send it now (/debug/config_dump?proxyID=).
import type { ClientStatusResponseWire } from '../api/csds.js';
import type { ProxyStatus } from '../controlplane/xds/server.js';
import { isSynced, proxyTypeState, SYNC_TYPES as TYPES } from '../controlplane/xds/sync-state.js';
import { compareDumps, renderComparison } from './proxy-config/config-diff.js';
import { bootstrapOf, obj, str, type ConfigDump } from './proxy-config/dump.js';
import { CliError, findProxy, getJson } from './proxy-config/target.js';
import { textTable } from './proxy-config/text-table.js';

export function renderProxyStatus(proxies: ProxyStatus[]): string {
  const header = ['NAME', 'SERVICE', 'ADDRESS', 'XDS', ...TYPES.map(([, n]) => n)];
  const rows = proxies.map((p) => [p.id, `${p.service}.${p.namespace}`, p.address, p.protocol === 'delta' ? 'Delta' : 'SotW', ...TYPES.map(([t]) => proxyTypeState(p, t))]);
  const nacks = proxies.flatMap((p) =>
    TYPES.flatMap(([t, n]) => (p.types[t]?.nack ? [`${p.id} ${n} NACK of ${p.types[t]!.nack!.version} at ${p.types[t]!.nack!.at}: ${p.types[t]!.nack!.message}`] : [])),
  );
  return textTable(header, rows, 2) + (nacks.length ? ['', 'Last NACKs:', ...nacks].join('\n') + '\n' : '');
}

export interface ProxyStatusFlags {
  monitorAddress: string;
  output: 'text' | 'json';
  adminAddress?: string;
  /** Read the statuses over CSDS on `xdsAddress` instead of /debug/syncz. */
  csds?: boolean;
  xdsAddress?: string;
}

/** One proxy: its row, then "Clusters Match" / "Listeners Don't Match" and the diff lines. */
async function runOneProxy(name: string | undefined, proxies: ProxyStatus[], opts: ProxyStatusFlags): Promise<number> {
  let admin = opts.adminAddress;
  let id = name;
  const proxyDump = async () => getJson<ConfigDump>(`http://${admin}/config_dump`, "the proxy's admin (--admin-address)");
  let running: ConfigDump | undefined;
  if (admin && !id) {
    running = await proxyDump();
    // Only the admin given: the proxy's own bootstrap says which node it is.
    id = str(obj(bootstrapOf(running)?.node).id);
  }
  const p = findProxy(proxies, id ?? '');
  admin ??= p.adminAddress;
  if (!admin) throw new CliError(`proxy ${p.id} did not report its admin address: give --admin-address HOST:PORT`);
  running ??= await proxyDump();
  const wanted = await getJson<ConfigDump>(`http://${opts.monitorAddress}/debug/config_dump?proxyID=${encodeURIComponent(p.id)}`, 'the control plane (--monitor-address)');
  const results = compareDumps(wanted, running);
  if (opts.output === 'json') process.stdout.write(JSON.stringify({ proxy: p, comparison: results }, null, 2) + '\n');
  else process.stdout.write(`${renderProxyStatus([p])}\n${renderComparison(results)}`);
  return isSynced(p) && results.every((r) => r.match) ? 0 : 1;
}

/** The same statuses over CSDS (envoy.service.status.v3.ClientStatusDiscoveryService) on an xDS port. */
async function fetchCsds(xdsAddress: string): Promise<ProxyStatus[]> {
  const [grpc, { clientStatusDiscoveryService }, { proxyStatusFromCsds }] = await Promise.all([import('@grpc/grpc-js'), import('../api/csds.js'), import('../controlplane/xds/csds.js')]);
  const Client = clientStatusDiscoveryService();
  const client = new Client(xdsAddress, grpc.credentials.createInsecure());
  try {
    const res = await new Promise<ClientStatusResponseWire>((resolve, reject) =>
      (client as unknown as { FetchClientStatus: (req: object, opts: object, cb: (err: Error | null, res: ClientStatusResponseWire) => void) => void }).FetchClientStatus({}, { deadline: Date.now() + 10_000 }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    return res.config.map(proxyStatusFromCsds).sort((a, b) => (a.id < b.id ? -1 : 1));
  } finally {
    client.close();
  }
}

/** `--csds`: every client's status from CSDS on the xDS port, rendered as from /debug/syncz. */
async function runCsds(opts: ProxyStatusFlags, proxy: string | undefined): Promise<number> {
  if (proxy !== undefined || opts.adminAddress) {
    process.stderr.write('weft proxy-status: --csds lists every client; for one proxy\'s diff leave --csds out\n');
    return 2;
  }
  const address = opts.xdsAddress ?? '127.0.0.1:15010';
  let proxies: ProxyStatus[];
  try {
    proxies = await fetchCsds(address);
  } catch (err) {
    process.stderr.write(`weft proxy-status: CSDS on ${address}: ${(err as Error).message} (is the control plane running? --xds-address)\n`);
    return 2;
  }
  process.stdout.write(opts.output === 'json' ? JSON.stringify(proxies, null, 2) + '\n' : renderProxyStatus(proxies));
  return proxies.every(isSynced) ? 0 : 1;
}

export async function runProxyStatus(opts: ProxyStatusFlags, proxy?: string): Promise<number> {
  if (opts.csds) return runCsds(opts, proxy);
  const url = `http://${opts.monitorAddress}/debug/syncz`;
  let body: { proxies: ProxyStatus[] };
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = (await res.json()) as { proxies: ProxyStatus[] };
  } catch (err) {
    process.stderr.write(`weft proxy-status: cannot read ${url}: ${(err as Error).message} (is the control plane running? --monitor-address)\n`);
    return 2;
  }
  if (proxy !== undefined || opts.adminAddress) {
    try {
      return await runOneProxy(proxy, body.proxies, opts);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      process.stderr.write(`weft proxy-status: ${err.message}\n`);
      return 2;
    }
  }
  process.stdout.write(opts.output === 'json' ? JSON.stringify(body.proxies, null, 2) + '\n' : renderProxyStatus(body.proxies));
  return body.proxies.every(isSynced) ? 0 : 1;
}
