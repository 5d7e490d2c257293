// Two meshed sidecars with identities (productpage calling reviews) against a secure control plane:
// the ports they use, how to start one, and how to read one of its counters. Shared by the zero-trust
// end-to-end tests.
import http from 'node:http';
import path from 'node:path';
import { tokenFile } from './identity.js';
import { freePorts, spawnWeft, type Proc } from './processes.js';

export type PairPorts = Record<'xds' | 'secure' | 'monitor' | 'app' | 'ppOut' | 'ppIn' | 'ppAdmin' | 'rvOut' | 'rvIn' | 'rvAdmin', number>;

export async function pairPorts(): Promise<PairPorts> {
  const ports = await freePorts(10);
  return { xds: ports[0], secure: ports[1], monitor: ports[2], app: ports[3], ppOut: ports[4], ppIn: ports[5], ppAdmin: ports[6], rvOut: ports[7], rvIn: ports[8], rvAdmin: ports[9] };
}

/** A `weft proxy` for `service` (its service account has the same name), bootstrapped with a token
 * and the CA's root, talking xDS over mTLS to the control plane's secure port. */
export function spawnPairSidecar(
  p: PairPorts,
  dir: string,
  caDir: string,
  service: string,
  out: number,
  inbound: number,
  admin: number,
  app: { port?: number; servicePort?: number; protocol?: string } = {},
): Proc {
  return spawnWeft(service, [
    'proxy', '--xds-address', `127.0.0.1:${p.secure}`, '--service', service, '--service-account', service, '--labels', `app=${service}`,
    '--app-port', String(app.port ?? p.app), '--service-port', String(app.servicePort ?? 9080), '--protocol', app.protocol ?? 'HTTP',
    '--outbound-port', String(out), '--inbound-port', String(inbound), '--admin-port', String(admin),
    '--token-file', tokenFile(dir, caDir, service), '--ca-root-file', path.join(caDir, 'root-cert.pem'),
  ]);
}

export interface Reply {
  status: number;
  body: string;
  reason?: string;
}

/** One plain HTTP request to a sidecar's port with this Host; a connection the sidecar refuses is status 0. */
export function meshGet(port: number, host: string): Promise<Reply> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reason: res.headers['x-weft-reason'] as string | undefined }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

/** One counter from a sidecar's admin /stats (0 when absent). */
export async function adminStat(admin: number, key: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/stats`)).text();
  return Number(new RegExp(`^${key.replace(/[.|]/g, '\\$&')}: (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}
