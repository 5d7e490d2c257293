// A real `weft proxy` process driven by an in-test ADS server (SotW): the tests hand it exact Envoy
// resources and talk to it over real sockets, the way an attacker or a broken client would.
import net from 'node:net';
import { TestAdsServer } from '../proxy/helpers/ads-server.js';
import { freePorts, spawnWeft, waitFor, type Proc } from './processes.js';

export interface SidecarProcess {
  ads: TestAdsServer;
  proc: Proc;
  adminPort: number;
  /** Counters from the admin /stats (JSON form). */
  stats(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export async function startSidecarProcess(o: { clusters: object[]; listeners: object[]; routes?: object[]; secrets?: object[]; args?: string[] }): Promise<SidecarProcess> {
  const ads = new TestAdsServer();
  await ads.start();
  // SDS first: a sidecar whose listeners name secrets is not ready until they arrive.
  if (o.secrets) ads.set('secret', 's1', o.secrets);
  ads.set('cluster', 'c1', o.clusters);
  ads.set('listener', 'l1', o.listeners);
  if (o.routes) ads.set('route', 'r1', o.routes);
  const [adminPort] = await freePorts(1);
  const proc = spawnWeft('proxy', [
    'proxy', '--xds-address', ads.address, '--xds-protocol', 'sotw', '--service', 'client', '--app-port', '1', '--admin-port', String(adminPort),
    '--outbound-port', '1', '--inbound-port', '2', ...(o.args ?? []),
  ]);
  const stats = async (): Promise<Record<string, number>> => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/stats?format=json`);
    const body = (await res.json()) as { stats: { name: string; value: number }[] };
    return Object.fromEntries(body.stats.map((s) => [s.name, s.value]));
  };
  const stop = async () => {
    await proc.stop();
    await ads.stop();
  };
  try {
    await waitFor('sidecar ready', async () => (await fetch(`http://127.0.0.1:${adminPort}/ready`)).status === 200, 15_000, [proc]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ads, proc, adminPort, stats, stop };
}

/** Whether the process is still running. */
export function alive(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** Write raw bytes (possibly in several writes) and collect what comes back until the peer closes
 * or `done(text)` says enough; then close. */
export function rawExchange(port: number, writes: (string | Buffer)[], o: { done?: (text: string) => boolean; end?: boolean; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`rawExchange: no complete answer after ${o.timeoutMs ?? 5000} ms; got ${JSON.stringify(text.slice(0, 500))}`));
    }, o.timeoutMs ?? 5000);
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(text);
    };
    s.on('connect', () => {
      for (const w of writes) s.write(w);
      if (o.end) s.end();
    });
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (o.done?.(text)) finish();
    });
    s.on('close', finish);
    s.on('error', () => {});
  });
}

/** Status codes of the HTTP/1.1 responses in a raw byte stream. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

export async function listenerPorts(n: number): Promise<number[]> {
  return freePorts(n);
}
