// `weft control-plane`: parse flags, start, stop cleanly on SIGINT/SIGTERM.
import fs from 'node:fs';
import { defaultMeshConfig, loadMeshConfig, withVersion } from '../config/mesh-config.js';
import { parseDuration } from '../config/duration.js';
import { isDns1123Subdomain } from '../config/validate/common.js';
import { ControlPlane, type ControlPlaneOptions } from '../controlplane/control-plane.js';
import { splitHostPort } from '../controlplane/monitor.js';
import { injectOptionsFromFlags } from './inject.js';
import { parseVipRange } from '../controlplane/model/vips.js';

/** The flags of `weft control-plane` as commander names them (camelCase); `weft install` builds the
 * in-cluster container args from this type, so a renamed flag is a compile error there. */
export interface ControlPlaneFlags {
  configDir: string;
  xdsAddress: string;
  monitorAddress: string;
  debounceMs: string;
  endpointGraceMs: string;
  startupGraceMs: string;
  domain: string;
  pushConcurrency: string;
  maxRegistrations: string;
  maxRegistrationsPerPeer: string;
  meshConfig?: string;
  serviceVipRange: string;
  caDir?: string;
  trustDomain: string;
  workloadCertTtl: string;
  secureXdsPort: string;
  plaintextXds: string;
  insecureRegistration?: boolean;
  kubeApiServer?: string;
  kubeCaFile?: string;
  kubeTokenFile?: string;
  webhookPort: string;
  injectImage: string;
  injectXdsAddress: string;
  injectCni?: boolean;
  injectNativeSidecar: boolean;
  injectCaRootConfigmap?: string;
  servingDnsNames?: string;
  /** The dashboard's metrics from this Prometheus (its HTTP API) instead of scraping the proxies. */
  prometheusUrl?: string;
  /** How often the control plane scrapes its proxies for the dashboard ("5s"; "0": never). */
  dashboardScrapeInterval?: string;
}

export async function runControlPlane(flags: ControlPlaneFlags): Promise<void> {
  const num = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) fail(`--${name}: expected a non-negative number, got "${v}"`);
    return n;
  };
  for (const [name, v] of [['xds-address', flags.xdsAddress], ['monitor-address', flags.monitorAddress]] as const) {
    try {
      splitHostPort(v);
    } catch (err) {
      fail(`--${name}: ${(err as Error).message}`);
    }
  }
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} control-plane: ${msg}\n`);
  let mesh = defaultMeshConfig;
  if (flags.meshConfig !== undefined) {
    const loaded = loadMeshConfig(flags.meshConfig);
    if (!loaded.ok) fail(`--mesh-config: ${loaded.errors.join('\n  ')}`);
    else mesh = loaded.mesh;
  }
  const vips = parseVipRange(flags.serviceVipRange);
  if (!vips.ok) fail(`--service-vip-range: ${vips.error}`);
  const security = securityOptions(flags);
  // One trust domain: the CA's (--trust-domain) is what SPIFFE IDs in translation use, unless the
  // mesh config names its own, which must then agree.
  if (security) {
    if (mesh.trustDomain !== defaultMeshConfig.trustDomain && mesh.trustDomain !== security.trustDomain && flags.trustDomain !== defaultMeshConfig.trustDomain)
      fail(`--trust-domain ${security.trustDomain} and the mesh config's trustDomain ${mesh.trustDomain} disagree`);
    if (mesh.trustDomain === defaultMeshConfig.trustDomain) mesh = withVersion({ ...mesh, trustDomain: security.trustDomain });
    else security.trustDomain = mesh.trustDomain;
  }
  const webhook = webhookOptions(flags, security !== undefined, log);
  const dashboard = dashboardOptions(flags);
  if (!security) log('--insecure-registration without --ca-dir: no CA, no mTLS, no secure xDS port; any process can register as any service (local development only)');
  const cp = new ControlPlane({
    security,
    webhook,
    dashboard,
    mesh,
    vipRange: vips.ok ? vips.range : undefined,
    configDir: flags.configDir,
    xdsAddress: flags.xdsAddress,
    monitorAddress: flags.monitorAddress,
    debounceMs: num('debounce-ms', flags.debounceMs),
    endpointGraceMs: num('endpoint-grace-ms', flags.endpointGraceMs),
    startupGraceMs: num('startup-grace-ms', flags.startupGraceMs),
    domain: flags.domain,
    maxConcurrentPushes: Math.max(1, Math.floor(num('push-concurrency', flags.pushConcurrency))),
    registryLimits: {
      maxRegistrations: Math.floor(num('max-registrations', flags.maxRegistrations)),
      maxPerPeer: Math.floor(num('max-registrations-per-peer', flags.maxRegistrationsPerPeer)),
    },
    log,
  });
  try {
    await cp.start();
  } catch (err) {
    fail(`cannot start: ${(err as Error).message}`);
  }
  if (security) log(`serving xDS over mTLS and the CA on ${security.secureXdsAddress.replace(/:0$/, ':' + cp.secureXdsPort)}${security.plaintextXds ? '' : ' (plaintext xDS off)'}`);
  if (webhook) log(`serving the injection webhook on https://${webhook.address.replace(/:0$/, ':' + cp.webhookPort)}/inject`);
  log(`dashboard on http://${flags.monitorAddress.replace(/:0$/, ':' + cp.monitorPort).replace(/^0\.0\.0\.0:/, '127.0.0.1:')}/dashboard (${dashboard?.prometheusUrl ? `metrics from ${dashboard.prometheusUrl}` : 'metrics scraped from the proxies'})`);
  if (!security || security.plaintextXds) log(`serving ADS on ${flags.xdsAddress.replace(/:0$/, ':' + cp.xdsPort)}, monitoring on ${flags.monitorAddress.replace(/:0$/, ':' + cp.monitorPort)}, config from ${flags.configDir}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    log('shutting down');
    await cp.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** The CA flags: none without --ca-dir. The secure port binds the host of --xds-address. */
function securityOptions(flags: ControlPlaneFlags): ControlPlaneOptions['security'] {
  if (flags.caDir === undefined) {
    // Secure unless told otherwise: without a CA nothing proves who a proxy is, so running without
    // one is an explicit, logged choice (Istio always runs its CA).
    if (!flags.insecureRegistration)
      fail('give --ca-dir DIR (a CA: workload certificates, mTLS, proxies prove who they are) or --insecure-registration (no CA: any process can register as any service; local development only)');
    if (flags.plaintextXds !== 'true') fail('--plaintext-xds: needs --ca-dir (without a CA there is no secure port)');
    return undefined;
  }
  const ttl = parseDuration(flags.workloadCertTtl);
  if (!ttl.ok) fail(`--workload-cert-ttl: ${ttl.message}`);
  const port = Number(flags.secureXdsPort);
  if (!/^\d+$/.test(flags.secureXdsPort) || port > 65535) fail(`--secure-xds-port: expected a port number 0..65535, got "${flags.secureXdsPort}"`);
  if (flags.plaintextXds !== 'true' && flags.plaintextXds !== 'false') fail(`--plaintext-xds: expected true or false, got "${flags.plaintextXds}"`);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(flags.trustDomain)) fail(`--trust-domain: expected a DNS name such as cluster.local, got "${flags.trustDomain}"`);
  const [host] = splitHostPort(flags.xdsAddress);
  return {
    kubernetes: kubernetesReview(flags),
    dir: flags.caDir,
    trustDomain: flags.trustDomain,
    workloadCertTtlMs: ttl.ms,
    insecureRegistration: flags.insecureRegistration === true,
    secureXdsAddress: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    servingDnsNames: servingDnsNames(flags.servingDnsNames),
    plaintextXds: flags.plaintextXds === 'true',
  };
}

function servingDnsNames(list: string | undefined): string[] {
  const names = (list ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
  for (const n of names) if (!isDns1123Subdomain(n)) fail(`--serving-dns-names: ${JSON.stringify(n)} is not a DNS name`);
  return names;
}

/** --kube-api-server with its CA and the control plane's own token: service-account tokens are
 * then credentials too, checked by the API server (audience istio-ca, as istiod asks). */
function kubernetesReview(flags: ControlPlaneFlags): NonNullable<ControlPlaneOptions['security']>['kubernetes'] {
  if (flags.kubeApiServer === undefined) {
    if (flags.kubeCaFile || flags.kubeTokenFile) fail('--kube-ca-file and --kube-token-file need --kube-api-server');
    return undefined;
  }
  if (!/^https:\/\//.test(flags.kubeApiServer)) fail(`--kube-api-server: expected an https:// URL, got "${flags.kubeApiServer}"`);
  const read = (flag: string, file: string | undefined) => {
    if (!file) fail(`--kube-api-server needs --${flag}`);
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      return fail(`--${flag}: ${(err as Error).message}`);
    }
  };
  return { apiServer: flags.kubeApiServer, ca: read('kube-ca-file', flags.kubeCaFile), reviewerToken: read('kube-token-file', flags.kubeTokenFile), audiences: ['istio-ca'] };
}

/** --prometheus-url and --dashboard-scrape-interval: where the dashboard's numbers come from. */
function dashboardOptions(flags: ControlPlaneFlags): ControlPlaneOptions['dashboard'] {
  let prometheusUrl: string | undefined;
  if (flags.prometheusUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(flags.prometheusUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail(`--prometheus-url: expected an http(s) URL such as http://127.0.0.1:9090, got "${flags.prometheusUrl}"`);
    prometheusUrl = flags.prometheusUrl;
  }
  const interval = parseDuration(flags.dashboardScrapeInterval ?? '5s', { allowZero: true });
  if (!interval.ok) fail(`--dashboard-scrape-interval: ${interval.message}`);
  return { prometheusUrl, scrapeIntervalMs: interval.ok ? interval.ms : 5000 };
}

/** --webhook-port (0: off) on the host of --xds-address, with the injection flags; it needs the CA. */
function webhookOptions(flags: ControlPlaneFlags, haveCa: boolean, log: (msg: string) => void): ControlPlaneOptions['webhook'] {
  const port = Number(flags.webhookPort);
  if (!/^\d+$/.test(flags.webhookPort) || port > 65535) fail(`--webhook-port: expected a port number 0..65535 (0: no webhook), got "${flags.webhookPort}"`);
  if (port === 0) return undefined;
  if (!haveCa) {
    log('the injection webhook is off: it needs --ca-dir for its serving certificate');
    return undefined;
  }
  const [host] = splitHostPort(flags.xdsAddress);
  const inject = injectOptionsFromFlags({
    image: flags.injectImage,
    xdsAddress: flags.injectXdsAddress,
    nativeSidecar: flags.injectNativeSidecar,
    cni: flags.injectCni === true,
    trustDomain: flags.trustDomain,
    caRootConfigmap: flags.injectCaRootConfigmap,
  });
  // Without a ConfigMap named, each pod carries the CA's current root (nothing publishes one yet).
  return { address: `${host.includes(':') ? `[${host}]` : host}:${port}`, inject, carryCaRoot: flags.injectCaRootConfigmap === undefined };
}

function fail(msg: string): never {
  process.stderr.write(`weft control-plane: ${msg}\n`);
  process.exit(2);
}
