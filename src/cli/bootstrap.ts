// `weft bootstrap`: prints the bootstrap a client of Weft's control plane starts from. One switch per
// client kind, each its own module: `--envoy` (an Envoy sidecar, src/controlplane/bootstrap/envoy.ts),
// `--proxyless` (a gRPC application's xDS resolver, bootstrap-proxyless.ts).
import { isIP } from 'node:net';
import YAML from 'yaml';
import { envoyBootstrap, envoyBootstrapProblems, type EnvoyBootstrapOptions } from '../controlplane/bootstrap/envoy.js';
import { runProxylessBootstrap, type ProxylessBootstrapFlags } from './bootstrap-proxyless.js';

export interface BootstrapFlags extends ProxylessBootstrapFlags {
  envoy?: boolean;
  proxyless?: boolean;
  service?: string;
  namespace?: string;
  xdsAddress?: string;
  adminPort?: string;
  appPort?: string;
  servicePort?: string;
  labels?: string;
  serviceAccount?: string;
  address?: string;
  locality?: string;
  nodeId?: string;
  mode?: string;
  sdsSocket?: string;
  output?: 'yaml' | 'json';
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The Envoy options from the flags, or every flag error (WEFT_E_BAD_FLAG). */
export function parseEnvoyBootstrapFlags(f: BootstrapFlags): { ok: true; options: EnvoyBootstrapOptions } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const bad = (flag: string, msg: string) => errors.push(`--${flag}: ${msg} [WEFT_E_BAD_FLAG]`);
  const label = (flag: string, v: string | undefined) => {
    if (!v || v.length > 63 || !dnsLabel.test(v)) bad(flag, `must be a DNS label (lower-case letters, digits, '-'), got ${JSON.stringify(v ?? '')}`);
    return v ?? '';
  };
  const port = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) bad(flag, `must be a port number 1..65535, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const xdsAddress = f.xdsAddress ?? '127.0.0.1:15010';
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d+)$/.exec(xdsAddress);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) bad('xds-address', `must be host:port, got ${JSON.stringify(xdsAddress)}`);
  const labels: Record<string, string> = {};
  for (const part of (f.labels ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) bad('labels', `expected k=v[,k=v...], got ${JSON.stringify(part)}`);
    else labels[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const address = f.address ?? '127.0.0.1';
  if (!isIP(address)) bad('address', `must be an IP address, got ${JSON.stringify(address)}`);
  const mode = f.mode ?? 'explicit';
  if (mode !== 'explicit' && mode !== 'transparent') bad('mode', `must be explicit or transparent, got ${JSON.stringify(mode)}`);
  const options: EnvoyBootstrapOptions = {
    service: label('service', f.service),
    namespace: label('namespace', f.namespace ?? 'default'),
    xdsAddress,
    adminPort: port('admin-port', f.adminPort ?? '15000'),
    appPort: port('app-port', f.appPort),
    servicePort: port('service-port', f.servicePort),
    labels,
    serviceAccount: f.serviceAccount ?? 'default',
    address,
    capture: mode as 'explicit' | 'transparent',
    ...(f.locality ? { locality: f.locality } : {}),
    ...(f.nodeId ? { nodeId: f.nodeId } : {}),
    ...(f.sdsSocket ? { sdsSocket: f.sdsSocket } : {}),
  };
  return errors.length ? { ok: false, errors } : { ok: true, options };
}

export function runBootstrap(f: BootstrapFlags): number {
  // `--proxyless` (a gRPC client's bootstrap) is its own module beside this one.
  if (f.envoy && f.proxyless) {
    process.stderr.write('weft bootstrap: choose one client kind: --envoy or --proxyless [WEFT_E_BAD_FLAG]\n');
    return 2;
  }
  if (f.proxyless) return runProxylessBootstrap(f);
  if (!f.envoy) {
    process.stderr.write('weft bootstrap: name the client kind: --envoy (an Envoy sidecar) or --proxyless (a gRPC application) [WEFT_E_BAD_FLAG]\n');
    return 2;
  }
  const parsed = parseEnvoyBootstrapFlags(f);
  if (!parsed.ok) {
    process.stderr.write(parsed.errors.join('\n') + '\n');
    return 2;
  }
  const bootstrap = envoyBootstrap(parsed.options);
  // What Envoy would refuse is a bug here, never the user's: say so rather than print it.
  const problems = envoyBootstrapProblems(bootstrap);
  if (problems.length) {
    process.stderr.write(`weft bootstrap: the generated bootstrap breaks Envoy's rules:\n${problems.join('\n')}\n`);
    return 1;
  }
  process.stdout.write(f.output === 'json' ? JSON.stringify(bootstrap, null, 2) + '\n' : YAML.stringify(bootstrap));
  return 0;
}
