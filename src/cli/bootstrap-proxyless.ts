// `weft bootstrap --proxyless`: the bootstrap of a gRPC application's xDS resolver (no sidecar),
// GRPC_XDS_BOOTSTRAP=<file> or GRPC_XDS_BOOTSTRAP_CONFIG=<json>; always JSON, which gRPC reads.
import { isIP } from 'node:net';
import { proxylessBootstrap } from '../api/grpc-bootstrap.js';
import { isDns1123Label } from '../config/validate/common.js';

export interface ProxylessBootstrapFlags {
  service?: string;
  namespace?: string;
  xdsAddress?: string;
  address?: string;
  locality?: string;
  labels?: string;
  domain?: string;
  servePort?: string;
}


/** Exit code: 0 with the JSON on stdout, 2 with every flag problem on stderr. */
export function runProxylessBootstrap(f: ProxylessBootstrapFlags): number {
  const errors: string[] = [];
  const bad = (flag: string, msg: string) => errors.push(`--${flag}: ${msg} [WEFT_E_BAD_FLAG]`);
  const namespace = f.namespace ?? 'default';
  const xdsAddress = f.xdsAddress ?? '127.0.0.1:15010';
  const address = f.address ?? '127.0.0.1';
  if (!f.service || !isDns1123Label(f.service)) bad('service', `expected a DNS label, got ${JSON.stringify(f.service ?? null)}`);
  if (!isDns1123Label(namespace)) bad('namespace', `expected a DNS label, got ${JSON.stringify(namespace)}`);
  if (!/^[^\s:]+:\d{1,5}$/.test(xdsAddress)) bad('xds-address', `expected host:port, got ${JSON.stringify(xdsAddress)}`);
  if (!isIP(address)) bad('address', `expected an IP address, got ${JSON.stringify(address)}`);
  const labels: Record<string, string> = {};
  for (const part of (f.labels ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) bad('labels', `expected k=v[,k=v...], got ${JSON.stringify(part)}`);
    else labels[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const servePort = f.servePort === undefined ? undefined : Number(f.servePort);
  if (servePort !== undefined && !(Number.isInteger(servePort) && servePort > 0 && servePort < 65536)) bad('serve-port', `expected a port 1..65535, got ${JSON.stringify(f.servePort)}`);
  if (errors.length) {
    process.stderr.write(`${errors.join('\n')}\n`);
    return 2;
  }
  const boot = proxylessBootstrap({ service: f.service!, namespace, xdsAddress, address, locality: f.locality, labels, domain: f.domain, servePort });
  process.stdout.write(`${JSON.stringify(boot, null, 2)}\n`);
  return 0;
}
