// Two meshed sidecars with identities (productpage calling reviews) against a secure control plane:
// the ports they use, how to start one, and how to read one of its counters. Shared by the zero-trust
// end-to-end tests.
import path from 'node:path';
import { tokenFile } from './identity.js';
import { freePorts, spawnWeft, type Proc } from './processes.js';

export type PairPorts = Record<'xds' | 'secure' | 'monitor' | 'app' | 'ppOut' | 'ppIn' | 'ppAdmin' | 'rvOut' | 'rvIn' | 'rvAdmin', number>;

export async function pairPorts(): Promise<PairPorts> {
  const ports = await freePorts(10);
  return { xds: ports[0], secure: ports[1], monitor: ports[2], app: ports[3], ppOut: ports[4], ppIn: ports[5], ppAdmin: ports[6], rvOut: ports[7], rvIn: ports[8], rvAdmin: ports[9] };
}

/** A `weft proxy` for `service` (its service account has the same name), bootstrapped with a token
 * and the CA's root, talking xDS over mTLS to the control plane's secure port; `extra` flags win
 * over these (commander keeps an option's last value). */
export function spawnPairSidecar(p: PairPorts, dir: string, caDir: string, service: string, out: number, inbound: number, admin: number, extra: string[] = []): Proc {
  return spawnWeft(service, [
    'proxy', '--xds-address', `127.0.0.1:${p.secure}`, '--service', service, '--service-account', service, '--labels', `app=${service}`,
    '--app-port', String(p.app), '--service-port', '9080', '--outbound-port', String(out), '--inbound-port', String(inbound), '--admin-port', String(admin),
    '--token-file', tokenFile(dir, caDir, service), '--ca-root-file', path.join(caDir, 'root-cert.pem'), ...extra,
  ]);
}

/** One counter from a sidecar's admin /stats (0 when absent). */
export async function adminStat(admin: number, key: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/stats`)).text();
  return Number(new RegExp(`^${key.replace(/[.|]/g, '\\$&')}: (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}
