// `weft proxy`: parse and check the flags (all strings from commander), start the sidecar,
// and turn SIGTERM/SIGINT into a graceful drain. Only wiring lives here.
import fs from 'node:fs';
import { isIP } from 'node:net';
import { CONTROL_PLANE_NAMESPACE, CONTROL_PLANE_SERVICE_ACCOUNT, spiffeUri } from '../api/spiffe.js';
import { aggregatedDiscoveryService, resourceRoot, XDS_PROTOCOLS, type XdsProtocol } from '../api/envoy.js';
import { istioCertificateService } from '../api/istio-ca.js';
import { ProxyErrorCodes } from '../proxy/errors.js';
import { Proxy, type ProxyOptions } from '../proxy/proxy.js';
import type { WorkloadIdentity } from '../proxy/xds/node.js';
import { parseAppProbers, type AppProber } from '../proxy/health/app-prober.js';
import { StatusServer } from '../proxy/health/status-server.js';
import { APP_PROBERS_ENV } from '../inject/probes.js';
import { requireOriginalDst } from '../proxy/listener/original-dst.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../proxy/log.js';

/** The options commander hands over for `weft proxy` (see src/cli/main.ts). */
export interface ProxyFlags {
  xdsAddress?: string;
  service?: string;
  namespace?: string;
  labels?: string;
  serviceAccount?: string;
  appPort?: string;
  servicePort?: string;
  address?: string;
  outboundPort?: string;
  inboundPort?: string;
  adminPort?: string;
  protocol?: string;
  id?: string;
  xdsProtocol?: string;
  locality?: string;
  maxDownstreamConnections?: string;
  maxActiveRequests?: string;
  drainPeriodMs?: string;
  tokenFile?: string;
  caRootFile?: string;
  caAddress?: string;
  trustDomain?: string;
  statusPort?: string;
  mode?: string;
  proxyUid?: string;
  proxyGid?: string;
  telemetryPort?: string;
  appMetricsPort?: string;
  appMetricsPath?: string;
  clusterId?: string;
  logLevel?: string;
  /** commander's --no-metrics: false when given. */
  metrics?: boolean;
}

export interface ParsedProxyFlags {
  xdsAddress: string;
  xdsProtocol: XdsProtocol;
  adminPort: number;
  maxDownstreamConnections: number;
  maxActiveRequests: number;
  drainPeriodMs: number;
  workload: WorkloadIdentity;
  /** When started as root: the uid/gid to run as (set before any socket is opened). */
  runAs: { uid: number; gid: number } | undefined;
  metrics: boolean;
  /** 0: off. */
  telemetryPort: number;
  appMetrics: { port: number; path: string } | undefined;
  clusterId: string;
  logLevel: LogLevel;
}

export type ParseResult = { ok: true; value: ParsedProxyFlags } | { ok: false; errors: string[] };

const protocols = new Set(['HTTP', 'HTTP2', 'GRPC', 'HTTPS', 'TCP', 'TLS']);
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelKey = /^([a-zA-Z0-9.-]+\/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;

export function parseProxyFlags(f: ProxyFlags): ParseResult {
  const errors: string[] = [];
  const bad = (flag: string, msg: string) => errors.push(`--${flag}: ${msg} [WEFT_E_BAD_FLAG]`);

  const port = (flag: string, v: string | undefined, min = 1): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min || Number(v) > 65535) {
      bad(flag, `must be a port number ${min}..65535, got ${JSON.stringify(v ?? '')}`);
      return 0;
    }
    return Number(v);
  };
  const name = (flag: string, v: string | undefined): string => {
    if (!v || v.length > 63 || !dnsLabel.test(v)) bad(flag, `must be a DNS label (lower-case letters, digits, '-'), got ${JSON.stringify(v ?? '')}`);
    return v ?? '';
  };

  const xdsAddress = f.xdsAddress ?? '';
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d+)$/.exec(xdsAddress);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) bad('xds-address', `must be host:port, got ${JSON.stringify(xdsAddress)}`);

  const service = name('service', f.service);
  const namespace = name('namespace', f.namespace ?? 'default');
  const labels: Record<string, string> = {};
  for (const part of (f.labels ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0 || !labelKey.test(k)) bad('labels', `expected k=v[,k=v...], got ${JSON.stringify(part)}`);
    else labels[k] = part.slice(eq + 1);
  }
  const serviceAccount = f.serviceAccount ?? 'default';
  if (!serviceAccount) bad('service-account', 'must not be empty');
  const appPort = port('app-port', f.appPort);
  const servicePort = f.servicePort === undefined ? appPort : port('service-port', f.servicePort);
  const address = f.address ?? '127.0.0.1';
  if (isIP(address) === 0) bad('address', `must be an IP address, got ${JSON.stringify(address)}`);
  const outboundPort = port('outbound-port', f.outboundPort ?? '15001');
  const inboundPort = port('inbound-port', f.inboundPort ?? '15006');
  const adminPort = port('admin-port', f.adminPort ?? '15000', 0);
  const telemetryPort = port('telemetry-port', f.telemetryPort ?? '15020', 0);
  const appMetricsPort = f.appMetricsPort === undefined ? 0 : port('app-metrics-port', f.appMetricsPort);
  const appMetricsPath = f.appMetricsPath ?? '/metrics';
  if (!/^\/[\x21-\x7e]*$/.test(appMetricsPath)) bad('app-metrics-path', `must be an absolute path without spaces, got ${JSON.stringify(appMetricsPath)}`);
  const clusterId = f.clusterId ?? 'Kubernetes';
  if (!/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/.test(clusterId)) bad('cluster-id', `must be 1-63 letters, digits, '-', '_' or '.', got ${JSON.stringify(clusterId)}`);
  const logLevel = f.logLevel ?? 'info';
  if (!isLogLevel(logLevel)) bad('log-level', `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(f.logLevel)}`);
  const protocol = (f.protocol ?? 'HTTP').toUpperCase();
  if (!protocols.has(protocol)) bad('protocol', `must be one of ${[...protocols].join(', ')}, got ${JSON.stringify(f.protocol)}`);
  const used = new Map<number, string>();
  for (const [flag, p] of [['outbound-port', outboundPort], ['inbound-port', inboundPort], ['admin-port', adminPort], ['telemetry-port', telemetryPort]] as const) {
    if (p === 0) continue;
    const other = used.get(p);
    if (other) bad(flag, `${p} is also --${other}`);
    used.set(p, flag);
  }
  if (f.id !== undefined && f.id.trim() === '') bad('id', 'must not be empty');
  const xdsProtocol = (f.xdsProtocol ?? 'delta') as XdsProtocol;
  if (!XDS_PROTOCOLS.includes(xdsProtocol)) bad('xds-protocol', `must be one of ${XDS_PROTOCOLS.join(', ')}, got ${JSON.stringify(f.xdsProtocol)}`);
  const locality = f.locality ?? '';
  if (locality && (locality.split('/').length > 3 || locality.startsWith('/'))) bad('locality', `expected region[/zone[/subzone]], got ${JSON.stringify(locality)}`);
  const count = (flag: string, v: string | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 10_000_000) bad(flag, `must be a whole number 1..10000000, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const maxDownstreamConnections = count('max-downstream-connections', f.maxDownstreamConnections, 20_000);
  const maxActiveRequests = count('max-active-requests', f.maxActiveRequests, 10_000);
  const drainPeriodMs = f.drainPeriodMs === undefined ? 5000 : Number(f.drainPeriodMs);
  if (!Number.isInteger(drainPeriodMs) || drainPeriodMs < 0 || drainPeriodMs > 3_600_000) bad('drain-period-ms', `must be 0..3600000, got ${JSON.stringify(f.drainPeriodMs)}`);
  const mode = f.mode ?? 'explicit';
  if (mode !== 'explicit' && mode !== 'transparent') bad('mode', `must be explicit or transparent, got ${JSON.stringify(f.mode)}`);
  const id = (flag: string, v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) > 4_294_967_294) bad(flag, `must be a numeric id 0..4294967294, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  if (f.proxyGid !== undefined && f.proxyUid === undefined) bad('proxy-gid', 'needs --proxy-uid');
  const runAs = f.proxyUid === undefined ? undefined : { uid: id('proxy-uid', f.proxyUid), gid: id('proxy-gid', f.proxyGid ?? f.proxyUid) };
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      xdsAddress,
      xdsProtocol,
      adminPort,
      maxDownstreamConnections,
      maxActiveRequests,
      drainPeriodMs,
      runAs,
      metrics: f.metrics !== false,
      telemetryPort,
      appMetrics: appMetricsPort ? { port: appMetricsPort, path: appMetricsPath } : undefined,
      clusterId,
      logLevel: logLevel as LogLevel,
      workload: {
        service,
        namespace,
        labels,
        serviceAccount,
        address,
        appPort,
        servicePort,
        outboundPort,
        inboundPort,
        protocol,
        id: f.id,
        ...(locality ? { locality } : {}),
        ...(telemetryPort ? { telemetryPort } : {}),
        ...(mode === 'transparent' ? { capture: 'transparent' as const } : {}),
      },
    },
  };
}

/** --ca-root-file turns on the identity agent (certificate, then xDS over mTLS on --xds-address, the
 * secure port); --token-file alone presents the token on plaintext xDS. */
function identityOptions(f: ProxyFlags, p: ParsedProxyFlags): Pick<ProxyOptions, 'identity' | 'xdsToken'> {
  const read = (flag: string, file: string) => {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new Error(`--${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const token = f.tokenFile === undefined ? undefined : read('token-file', f.tokenFile);
  if (token === '') throw new Error(`--token-file: ${f.tokenFile} is empty`);
  if (f.caRootFile === undefined) {
    if (f.caAddress !== undefined) throw new Error('--ca-address: needs --ca-root-file (the root that verifies the CA)');
    return token ? { xdsToken: token } : {};
  }
  const rootCaPem = read('ca-root-file', f.caRootFile);
  if (!rootCaPem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`--ca-root-file: ${f.caRootFile} holds no PEM certificate`);
  const trustDomain = f.trustDomain ?? 'cluster.local';
  const w = p.workload;
  return {
    identity: {
      caAddress: f.caAddress ?? p.xdsAddress,
      rootCaPem,
      rootCaFile: f.caRootFile,
      ...(token ? { token } : {}),
      spiffeId: spiffeUri({ trustDomain, namespace: w.namespace, serviceAccount: w.serviceAccount }),
      controlPlaneId: spiffeUri({ trustDomain, namespace: CONTROL_PLANE_NAMESPACE, serviceAccount: CONTROL_PLANE_SERVICE_ACCOUNT }),
    },
  };
}

/** --status-port (0: none) and the app probes the injector moved there (ISTIO_KUBE_APP_PROBERS). */
export function statusOptions(f: ProxyFlags, env: NodeJS.ProcessEnv): { ok: true; port: number; probers: Map<string, AppProber> } | { ok: false; error: string } {
  const v = f.statusPort ?? '0';
  if (!/^\d+$/.test(v) || Number(v) > 65535) return { ok: false, error: `--status-port: must be a port number 0..65535 (0: none), got ${JSON.stringify(v)}` };
  const raw = env[APP_PROBERS_ENV];
  if (raw === undefined || raw === '') return { ok: true, port: Number(v), probers: new Map() };
  if (Number(v) === 0) return { ok: false, error: `${APP_PROBERS_ENV} is set but --status-port is 0: the rewritten probes would have nowhere to go` };
  const parsed = parseAppProbers(raw);
  if (!parsed.ok) return { ok: false, error: `${APP_PROBERS_ENV}: ${parsed.errors.join('; ')}` };
  return { ok: true, port: Number(v), probers: parsed.probers };
}

export async function runProxyCommand(flags: ProxyFlags): Promise<void> {
  const parsed = parseProxyFlags(flags);
  if (!parsed.ok) {
    for (const e of parsed.errors) process.stderr.write(`weft proxy: ${e}\n`);
    process.stderr.write(`(${ProxyErrorCodes.WEFT_E_BAD_FLAG}; see weft proxy --help)\n`);
    process.exit(2);
  }
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} weft proxy: ${msg}\n`);
  if (parsed.value.workload.capture === 'transparent') {
    // Refuse before connecting anywhere: without original destinations every captured
    // connection would be lost. Explicit mode never loads the addon.
    try {
      requireOriginalDst();
    } catch (err) {
      process.stderr.write(`weft proxy: --mode transparent: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  let security: Pick<ProxyOptions, 'identity' | 'xdsToken'>;
  try {
    security = identityOptions(flags, parsed.value);
  } catch (err) {
    process.stderr.write(`weft proxy: ${(err as Error).message} [WEFT_E_BAD_FLAG]\n`);
    process.exit(2);
  }
  if (parsed.value.runAs) {
    // What the proxy loads from its package (the SO_ORIGINAL_DST addon above, the protos) and its
    // credentials (read above) are read as the user that started it, then it drops to the proxy's
    // uid before opening any socket: the package need not be readable by that uid.
    resourceRoot();
    aggregatedDiscoveryService();
    istioCertificateService();
    const why = dropPrivileges(parsed.value.runAs);
    if (why) {
      process.stderr.write(`weft proxy: ${why} [WEFT_E_BAD_FLAG]\n`);
      process.exit(2);
    }
  }
  const opts: ProxyOptions = {
    ...security,
    xdsAddress: parsed.value.xdsAddress,
    xdsProtocol: parsed.value.xdsProtocol,
    workload: parsed.value.workload,
    adminPort: parsed.value.adminPort,
    maxDownstreamConnections: parsed.value.maxDownstreamConnections,
    maxActiveRequestsPerListener: parsed.value.maxActiveRequests,
    metrics: parsed.value.metrics,
    telemetryPort: parsed.value.telemetryPort,
    clusterId: parsed.value.clusterId,
    logLevel: parsed.value.logLevel,
    ...(parsed.value.appMetrics ? { appMetrics: parsed.value.appMetrics } : {}),
    log,
    onShutdown: () => process.exit(0),
  };
  const status = statusOptions(flags, process.env);
  if (!status.ok) {
    process.stderr.write(`weft proxy: ${status.error} [WEFT_E_BAD_FLAG]\n`);
    process.exit(2);
  }
  const proxy = new Proxy(opts);
  try {
    await proxy.start();
    if (status.port !== 0) {
      const server = new StatusServer({ ready: () => proxy.ready, probers: status.probers, shutdown: () => {
          // As the admin port's /quitquitquit: close gracefully, then exit 0 (a Job's pod completes).
          log('POST /quitquitquit on the status port: closing');
          void proxy.close().then(() => process.exit(0));
        },
      });
      await server.listen('0.0.0.0', status.port);
      log(`status port ${server.port}: /healthz/ready${status.probers.size ? `, ${status.probers.size} app probe(s) under /app-health/` : ''}`);
    }
  } catch (err) {
    log(`cannot start: ${(err as Error).message}`);
    proxy.destroy();
    process.exit(1);
  }
  const transport = opts.identity ? `mTLS as ${opts.identity.spiffeId}` : opts.xdsToken ? 'plaintext, token' : 'plaintext, no credential';
  log(`node ${proxy.node.id}; control plane ${opts.xdsAddress} (${opts.xdsProtocol} xDS, ${transport}); admin http://127.0.0.1:${proxy.adminPort}${proxy.telemetryPort ? `; metrics http://0.0.0.0:${proxy.telemetryPort}/stats/prometheus` : ''}`);
  void proxy.whenReady().then(() => log(`ready: ${opts.identity ? 'certificate obtained, ' : ''}first CDS and LDS applied`));

  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      log(`${sig} again: aborting`);
      proxy.destroy();
      process.exit(1);
    }
    stopping = true;
    log(`${sig}: draining for ${parsed.value.drainPeriodMs} ms (connections close after their response), then closing`);
    void proxy.shutdown(parsed.value.drainPeriodMs).then(() => process.exit(0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Become the proxy user before any socket exists: the capture rules exempt that uid, and a socket
 * keeps the owner it was created with. Only root may switch; anyone else must already be it. */
function dropPrivileges(to: { uid: number; gid: number }): string | undefined {
  const uid = process.getuid?.();
  if (uid === to.uid) return undefined;
  if (uid !== 0) return `--proxy-uid ${to.uid}: running as uid ${uid}, and only root can switch users`;
  try {
    process.setgroups?.([to.gid]);
    process.setgid!(to.gid);
    process.setuid!(to.uid);
  } catch (err) {
    return `--proxy-uid ${to.uid} / --proxy-gid ${to.gid}: cannot switch: ${(err as Error).message}`;
  }
  return undefined;
}
