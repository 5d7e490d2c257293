// `weft proxy-status`: which proxy runs which config, from the control plane's /debug/syncz
// (istioctl proxy-status for Weft). SYNCED: the proxy ACKed what was last sent; STALE: a newer
// version is in flight; NACKED: it refused the last version (the reason is printed below the table);
// N/A: the type is not part of the proxy's protocol (VHDS on a state-of-the-world stream).
import type { ClientStatusResponseWire } from '../api/csds.js';
import type { ProxyStatus } from '../controlplane/xds/server.js';
import { isSynced, proxyTypeState, SYNC_TYPES as TYPES } from '../controlplane/xds/sync-state.js';

export function renderProxyStatus(proxies: ProxyStatus[]): string {
  const header = ['NAME', 'SERVICE', 'ADDRESS', 'XDS', ...TYPES.map(([, n]) => n)];
  const rows = proxies.map((p) => [p.id, `${p.service}.${p.namespace}`, p.address, p.protocol === 'delta' ? 'Delta' : 'SotW', ...TYPES.map(([t]) => proxyTypeState(p, t))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const nacks = proxies.flatMap((p) =>
    TYPES.flatMap(([t, n]) => (p.types[t]?.nack ? [`${p.id} ${n} NACK of ${p.types[t]!.nack!.version} at ${p.types[t]!.nack!.at}: ${p.types[t]!.nack!.message}`] : [])),
  );
  return [line(header), ...rows.map(line), ...(nacks.length ? ['', 'Last NACKs:', ...nacks] : [])].join('\n') + '\n';
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

export async function runProxyStatus(opts: { monitorAddress: string; output: 'text' | 'json'; csds?: boolean; xdsAddress?: string }): Promise<number> {
  if (opts.csds) {
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
  process.stdout.write(opts.output === 'json' ? JSON.stringify(body.proxies, null, 2) + '\n' : renderProxyStatus(body.proxies));
  return body.proxies.every(isSynced) ? 0 : 1;
}
