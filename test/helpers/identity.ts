// Helpers for identity tests: a control plane with its CA on loopback ports, raw ADS and CA calls
// over real gRPC with a chosen credential, and the status a refused call ends with.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { aggregatedDiscoveryService, TypeUrl, type DiscoveryResponseWire } from '../../src/api/envoy.js';
import { istioCertificateService, type IstioCertificateResponseWire } from '../../src/api/istio-ca.js';
import { ControlPlane, type ControlPlaneOptions } from '../../src/controlplane/control-plane.js';
import { buildNode, type WorkloadIdentity } from '../../src/proxy/xds/node.js';
import { spawnWeft, waitFor, weftBin, type Proc } from './processes.js';

export interface SecureControlPlane {
  cp: ControlPlane;
  dir: string;
  caDir: string;
  logs: string[];
  address: string;
  rootPem: string;
  close(): Promise<void>;
}

export async function startSecureControlPlane(o: { insecureRegistration?: boolean; workloadCertTtlMs?: number; webhook?: ControlPlaneOptions['webhook'] } = {}): Promise<SecureControlPlane> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-identity-'));
  const caDir = path.join(dir, 'ca');
  fs.mkdirSync(path.join(dir, 'config'));
  const logs: string[] = [];
  const cp = new ControlPlane({
    configDir: path.join(dir, 'config'),
    xdsAddress: '127.0.0.1:0',
    monitorAddress: '127.0.0.1:0',
    debounceMs: 10,
    endpointGraceMs: 100,
    domain: 'cluster.local',
    log: (m) => logs.push(m),
    security: {
      dir: caDir,
      trustDomain: 'cluster.local',
      workloadCertTtlMs: o.workloadCertTtlMs ?? 24 * 3600 * 1000,
      insecureRegistration: o.insecureRegistration ?? false,
      secureXdsAddress: '127.0.0.1:0',
      plaintextXds: true,
    },
    webhook: o.webhook,
  });
  await cp.start();
  return {
    cp,
    dir,
    caDir,
    logs,
    address: `127.0.0.1:${cp.secureXdsPort}`,
    rootPem: fs.readFileSync(path.join(caDir, 'root-cert.pem'), 'utf8'),
    close: async () => {
      await cp.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function bearer(token: string | undefined): grpc.Metadata {
  const m = new grpc.Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
}

/** TLS to the control plane trusting `rootPem` (server name not checked: the agent's check is tested apart). */
export function tlsTo(rootPem: string, client?: { key: string; chain: string }): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(rootPem), client ? Buffer.from(client.key) : null, client ? Buffer.from(client.chain) : null, {
    checkServerIdentity: () => undefined,
  });
}

export type CallResult<T> = { ok: true; value: T } | { ok: false; code: grpc.status; details: string };

export function createCertificate(address: string, creds: grpc.ChannelCredentials, metadata: grpc.Metadata, csr: string, validitySeconds = 0): Promise<CallResult<string[]>> {
  const Client = istioCertificateService();
  const client = new Client(address, creds) as unknown as grpc.Client & {
    CreateCertificate(r: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: IstioCertificateResponseWire) => void): void;
  };
  return new Promise((resolve) =>
    client.CreateCertificate({ csr, validity_duration: validitySeconds }, metadata, (err, res) => {
      client.close();
      resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, value: res!.cert_chain });
    }),
  );
}

export const workload = (serviceAccount: string, service = 'reviews'): WorkloadIdentity => ({
  service,
  namespace: 'default',
  labels: { version: 'v1' },
  serviceAccount,
  address: '127.0.0.1',
  appPort: 9081,
  servicePort: 9080,
  outboundPort: 15001,
  inboundPort: 15006,
  protocol: 'HTTP',
  id: `sidecar~127.0.0.1~${service}-${serviceAccount}.default~default.svc.cluster.local`,
});

/** Open a SotW ADS stream as `w` and ask for clusters: the first response, or the status it ended with. */
export function adsFirstResponse(address: string, creds: grpc.ChannelCredentials, metadata: grpc.Metadata, w: WorkloadIdentity): Promise<CallResult<DiscoveryResponseWire>> {
  const Service = aggregatedDiscoveryService();
  const client = new Service(address, creds);
  const call = (client as unknown as { StreamAggregatedResources(m: grpc.Metadata): grpc.ClientDuplexStream<object, DiscoveryResponseWire> }).StreamAggregatedResources(metadata);
  return new Promise((resolve) => {
    const finish = (r: CallResult<DiscoveryResponseWire>) => {
      call.cancel();
      client.close();
      resolve(r);
    };
    call.on('data', (res: DiscoveryResponseWire) => finish({ ok: true, value: res }));
    call.on('error', (err: grpc.ServiceError) => finish({ ok: false, code: err.code, details: err.details }));
    call.write({ version_info: '', node: buildNode(w), resource_names: [], type_url: TypeUrl.cluster, response_nonce: '' });
  });
}

/** A real `weft control-plane` process with its CA in `caDir`, plaintext xDS off; resolves once ready. */
export async function spawnSecureControlPlane(dir: string, caDir: string, ports: { xds: number; secure: number; monitor: number }, procs: Proc[], extraArgs: string[] = []): Promise<Proc> {
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  const cp = spawnWeft('control-plane', [
    'control-plane', '--config-dir', path.join(dir, 'config'), '--ca-dir', caDir, '--webhook-port', '0', '--xds-address', `127.0.0.1:${ports.xds}`,
    '--secure-xds-port', String(ports.secure), '--plaintext-xds=false', '--monitor-address', `127.0.0.1:${ports.monitor}`, '--debounce-ms', '20', ...extraArgs,
  ]);
  procs.push(cp);
  await waitFor('control plane ready', async () => (await fetch(`http://127.0.0.1:${ports.monitor}/ready`)).ok, 15_000, procs);
  return cp;
}

/** `weft token create` for service account `sa` in namespace default, written to a file in `dir`. */
export function tokenFile(dir: string, caDir: string, sa: string): string {
  const file = path.join(dir, `${sa}.token`);
  fs.writeFileSync(file, execFileSync(process.execPath, [weftBin, 'token', 'create', '--namespace', 'default', '--service-account', sa, '--ttl', '1h', '--ca-dir', caDir], { encoding: 'utf8' }));
  return file;
}
