// `weft bootstrap`: print the bootstrap a client of the control plane starts from. One switch per
// kind of client, each in its own function: `--proxyless` for a gRPC application's xDS resolver
// (no sidecar); `--envoy` for an Envoy (its own function, beside this one).
import { proxylessBootstrap } from '../api/grpc-bootstrap.js';

export interface BootstrapFlags {
  proxyless?: boolean;
  envoy?: boolean;
  service?: string;
  namespace: string;
  xdsAddress: string;
  address?: string;
  locality?: string;
  labels?: string;
  domain: string;
  servePort?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Exit code: 0 with the JSON on stdout, 2 with the problem on stderr. */
export function runBootstrap(f: BootstrapFlags): number {
  const kinds = [f.proxyless && '--proxyless', f.envoy && '--envoy'].filter(Boolean);
  if (kinds.length !== 1) return usage(kinds.length ? `choose one of ${kinds.join(' and ')}` : 'say which client: --proxyless (a gRPC application) or --envoy');
  if (f.proxyless) return printProxyless(f);
  return usage('--envoy: not in this build');
}

/** A gRPC application's bootstrap (GRPC_XDS_BOOTSTRAP=<file> or GRPC_XDS_BOOTSTRAP_CONFIG=<json>). */
function printProxyless(f: BootstrapFlags): number {
  if (!f.service || !DNS_LABEL.test(f.service)) return usage(`--service: expected a DNS label, got ${JSON.stringify(f.service ?? null)}`);
  if (!DNS_LABEL.test(f.namespace)) return usage(`--namespace: expected a DNS label, got ${JSON.stringify(f.namespace)}`);
  if (!/^[^\s:]+:\d{1,5}$/.test(f.xdsAddress)) return usage(`--xds-address: expected host:port, got ${JSON.stringify(f.xdsAddress)}`);
  const labels: Record<string, string> = {};
  for (const part of (f.labels ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) return usage(`--labels: expected k=v[,k=v...], got ${JSON.stringify(part)}`);
    labels[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const servePort = f.servePort === undefined ? undefined : Number(f.servePort);
  if (servePort !== undefined && !(Number.isInteger(servePort) && servePort > 0 && servePort < 65536)) return usage(`--serve-port: expected a port 1..65535, got ${JSON.stringify(f.servePort)}`);
  const boot = proxylessBootstrap({ service: f.service, namespace: f.namespace, xdsAddress: f.xdsAddress, address: f.address, locality: f.locality, labels, domain: f.domain, servePort });
  process.stdout.write(`${JSON.stringify(boot, null, 2)}\n`);
  return 0;
}

function usage(message: string): number {
  process.stderr.write(`weft bootstrap: ${message}\n`);
  return 2;
}
