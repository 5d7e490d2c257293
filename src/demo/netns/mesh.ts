// The mesh on a PodNet: `weft control-plane` in the hub namespace (on the bridge's gateway address, so
// every pod reaches it) with a CA and workload tokens (the demo's identity), one
// `weft proxy --mode transparent` per pod running as uid/gid 1337 in the pod's namespace and cgroup,
// and each pod's hosts file from the control plane's /debug/vips?format=hosts. Used by
// `weft demo --netns` and by the capture end-to-end suites.
import fs from 'node:fs';
import path from 'node:path';

import { prepareDemoIdentity, type DemoIdentity } from '../identity.js';
import { weftBin } from './leftovers.js';
import { ProcessOutput } from './output.js';
import { PROXY_UID, type Pod, type PodNet } from './pods.js';

export const XDS_PORT = 15012;
export const MONITOR_PORT = 15014;
export const ADMIN_PORT = 15000;
export const SERVICE_VIP_RANGE = '198.19.0.0/16';

export interface SidecarSpec {
  service: string;
  version?: string;
  /** The app's port, which is also the service port clients name. */
  port: number;
  protocol?: 'HTTP' | 'GRPC' | 'TCP';
}

export interface MeshOptions {
  /** Files for the control plane's --config-dir (name → YAML). */
  config?: Record<string, string>;
  /** The control plane's --mesh-config YAML. */
  meshConfig?: string;
  /** Where each process's output goes (<name>.log); kept in memory only when absent. */
  logDir?: string;
}

export class PodMesh {
  readonly configDir: string;
  readonly sidecars = new Map<string, ProcessOutput>();

  private constructor(
    readonly net: PodNet,
    private readonly identity: DemoIdentity,
    readonly controlPlane: ProcessOutput,
    private readonly opts: MeshOptions,
  ) {
    this.configDir = path.join(net.dir, 'config');
  }

  static async start(net: PodNet, opts: MeshOptions = {}): Promise<PodMesh> {
    const configDir = path.join(net.dir, 'config');
    fs.mkdirSync(configDir, { recursive: true });
    for (const [name, yaml] of Object.entries(opts.config ?? {})) fs.writeFileSync(path.join(configDir, name), yaml);
    const identity = await prepareDemoIdentity(net.dir);
    // The sidecars run as uid 1337: they must read the root certificate (tokens are chowned to them).
    fs.chmodSync(net.dir, 0o755);
    const rootFile = path.join(net.dir, 'root-cert.pem');
    fs.copyFileSync(identity.rootFile, rootFile);
    fs.chmodSync(rootFile, 0o644);
    const meshConfig = path.join(net.dir, 'mesh.yaml');
    fs.writeFileSync(meshConfig, opts.meshConfig ?? 'outboundTrafficPolicy: { mode: ALLOW_ANY }\n');
    const gw = net.gateway;
    const child = net.spawnIn('hub', process.execPath, [
      weftBin, 'control-plane', '--config-dir', configDir, '--mesh-config', meshConfig, '--xds-address', `${gw}:15010`, '--monitor-address', `${gw}:${MONITOR_PORT}`,
      '--service-vip-range', SERVICE_VIP_RANGE, '--debounce-ms', '50', '--ca-dir', identity.caDir, '--secure-xds-port', String(XDS_PORT), '--plaintext-xds=false',
    ]);
    const cp = new ProcessOutput('control-plane', child, opts.logDir && path.join(opts.logDir, 'control-plane.log'));
    await cp.waitFor(/serving xDS over mTLS/);
    return new PodMesh(net, { ...identity, rootFile }, cp, opts);
  }

  /** The pod's sidecar, captured by the net's mode; resolves once it has its first CDS and LDS. */
  async sidecar(pod: Pod, spec: SidecarSpec): Promise<ProcessOutput> {
    const serviceAccount = `${spec.service}-sa`;
    const tokenFile = await this.identity.tokenFile(serviceAccount);
    fs.chownSync(tokenFile, PROXY_UID, PROXY_UID);
    fs.chmodSync(path.dirname(tokenFile), 0o711);
    const child = this.net.spawnIn(pod, process.execPath, [
      weftBin, 'proxy', '--mode', 'transparent', '--proxy-uid', String(PROXY_UID), '--proxy-gid', String(PROXY_UID),
      '--xds-address', `${this.net.gateway}:${XDS_PORT}`, '--token-file', tokenFile, '--ca-root-file', this.identity.rootFile, '--service-account', serviceAccount,
      '--id', `${pod.name}.default`, '--service', spec.service, '--labels', `app=${spec.service},version=${spec.version ?? 'v1'}`, '--address', pod.ip,
      '--app-port', String(spec.port), '--service-port', String(spec.port), '--protocol', spec.protocol ?? 'HTTP', '--admin-port', String(ADMIN_PORT),
    ]);
    const out = new ProcessOutput(`${pod.name} sidecar`, child, this.opts.logDir && path.join(this.opts.logDir, `${pod.name}-sidecar.log`));
    this.sidecars.set(pod.name, out);
    await out.waitFor(/ready: .*first CDS and LDS applied/, 60_000);
    return out;
  }

  /** GET on the control plane's monitoring port (from inside the hub namespace). */
  monitor(pathAndQuery: string): Promise<string> {
    return fetchIn(this.net, this.net.hub, `http://${this.net.gateway}:${MONITOR_PORT}${pathAndQuery}`);
  }

  /** Waits until the control plane has a VIP for every one of `services`, then writes that hosts file into each pod. */
  async writeHosts(pods: Pod[], services: string[], timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hosts = await this.monitor('/debug/vips?format=hosts&namespace=default');
      const missing = services.filter((s) => !new RegExp(` ${s}\\.default\\.svc\\.cluster\\.local `).test(hosts));
      if (!missing.length) {
        for (const p of pods) this.net.writeHosts(p, hosts);
        return hosts;
      }
      if (Date.now() > deadline) throw new Error(`the control plane has no VIP for ${missing.join(', ')} after ${timeoutMs} ms (/debug/vips: ${hosts})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** One HTTP GET from inside a namespace (the caller, in the root namespace, cannot reach its addresses). */
export async function fetchIn(net: PodNet, ns: string, url: string): Promise<string> {
  const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(5000) }).then(async (r) => { if (!r.ok) throw new Error('HTTP ' + r.status); process.stdout.write(await r.text()); }).catch((e) => { console.error(String(e)); process.exit(1); })`;
  return net.exec(ns, process.execPath, ['-e', script]);
}
