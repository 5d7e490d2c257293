// The mTLS rows' certificates and TLS settings. Certificates are made with `openssl` at bench start
// (ECDSA P-256, SPIFFE URI SANs, as the mesh CA issues them), so Weft and HAProxy carry the same
// keys. The Weft pair's transport sockets are the control plane's own auto-mTLS output
// (src/controlplane/translate/mtls.ts), with one change: the secrets `default` and `ROOTCA` come
// over ADS from the fixed xDS server instead of the identity agent's `sds-grpc` cluster.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  autoMtlsTransportSocketMatches,
  inboundChains,
  istioMutualUpstream,
  istioSni,
  ROOT_CA_SECRET,
  TLS_MODE_ISTIO,
  TRANSPORT_SOCKET_MATCH_KEY,
  WORKLOAD_SECRET,
} from '../../src/controlplane/translate/mtls.js';
import { spiffeUri } from '../../src/api/spiffe.js';

export interface Leaf {
  spiffeId: string;
  certFile: string;
  keyFile: string;
  /** Certificate then key, in one file (HAProxy's `crt`). */
  bundleFile: string;
}

export interface MeshCerts {
  caFile: string;
  client: Leaf;
  server: Leaf;
}

/** TLS 1.3's suite both sides negotiate by default (OpenSSL's first); pinned on HAProxy's hops. */
export const TLS13_SUITE = 'TLS_AES_256_GCM_SHA384';

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new Error(`openssl ${args.join(' ')} (in ${cwd}): ${String((e as { stderr?: Buffer }).stderr ?? e)}`);
  }
}

/** A P-256 root and two workload leaves (client and server identities) under `dir`/mtls. */
export function makeMeshCerts(dir: string, trustDomain = 'cluster.local'): MeshCerts {
  const d = path.join(dir, 'mtls');
  fs.mkdirSync(d, { recursive: true });
  const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(['genpkey', ...ec, '-out', 'ca.key'], d);
  openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-subj', `/O=${trustDomain}`, '-days', '2', '-out', 'ca.pem',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    d,
  );
  const leaf = (sa: string): Leaf => {
    const id = spiffeUri({ trustDomain, namespace: 'default', serviceAccount: sa });
    fs.writeFileSync(
      path.join(d, `${sa}.ext`),
      `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:${id}\n`,
    );
    openssl(['genpkey', ...ec, '-out', `${sa}.key`], d);
    openssl(['req', '-new', '-key', `${sa}.key`, '-subj', `/O=${trustDomain}`, '-out', `${sa}.csr`], d);
    openssl(['x509', '-req', '-in', `${sa}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${sa}.ext`, '-out', `${sa}.pem`], d);
    const bundleFile = path.join(d, `${sa}.bundle.pem`);
    fs.writeFileSync(bundleFile, fs.readFileSync(path.join(d, `${sa}.pem`), 'utf8') + fs.readFileSync(path.join(d, `${sa}.key`), 'utf8'));
    return { spiffeId: id, certFile: path.join(d, `${sa}.pem`), keyFile: path.join(d, `${sa}.key`), bundleFile };
  };
  return { caFile: path.join(d, 'ca.pem'), client: leaf('bench-client'), server: leaf('bench-server') };
}

/** Every `sds_config` in a control-plane resource pointed at ADS (the fixed server holds the secrets). */
function sdsOverAds<T>(resource: T): T {
  return JSON.parse(JSON.stringify(resource), (k, v: unknown) => (k === 'sds_config' ? { ads: {}, resource_api_version: 'V3' } : v)) as T;
}

const read = (f: string): string => fs.readFileSync(f, 'utf8');

/** The SDS secrets a sidecar of this identity receives: its workload certificate and the root. */
export function meshSecrets(certs: MeshCerts, role: 'client' | 'server'): object[] {
  const leaf = certs[role];
  return [
    { name: WORKLOAD_SECRET, tls_certificate: { certificate_chain: { inline_string: read(leaf.certFile) }, private_key: { inline_string: read(leaf.keyFile) } } },
    { name: ROOT_CA_SECRET, validation_context: { trusted_ca: { inline_string: read(certs.caFile) } } },
  ];
}

type Json = Record<string, unknown>;

/** Client side: auto mTLS to an endpoint labelled tlsMode=istio, SNI and SAN as the control plane
 * sets them; `alpn` is the cluster's protocol (`http/1.1`, none for TCP). */
export function withUpstreamMtls(cluster: Json, certs: MeshCerts, alpn: string[]): Json {
  const tls = istioMutualUpstream({ sni: istioSni(80, '', 'bench-server.default.svc.cluster.local'), peerIds: [certs.server.spiffeId], alpn });
  const la = cluster.load_assignment as { endpoints: Array<{ lb_endpoints: Json[] }> };
  for (const e of la.endpoints[0].lb_endpoints) e.metadata = { filter_metadata: { [TRANSPORT_SOCKET_MATCH_KEY]: TLS_MODE_ISTIO } };
  return sdsOverAds({ ...cluster, transport_socket_matches: autoMtlsTransportSocketMatches(tls) });
}

/** Server side: PeerAuthentication STRICT, the control plane's inbound chains (TLS inspector, a
 * client certificate from the mesh root required). */
export function withDownstreamMtls(listener: Json): Json {
  const chains = listener.filter_chains as Array<{ filters: unknown[] }>;
  const { listener_filters, filter_chains } = inboundChains('STRICT', chains[0].filters, ['h2', 'http/1.1']);
  return sdsOverAds({ ...listener, listener_filters, filter_chains });
}

/** HAProxy's side of the same mTLS, as `haproxyConf` takes it: `global` lines pinning TLS 1.3 and
 * its suite, and the `bind` (server hop) or `server` (client hop) options. Session resumption is
 * off on both hops (`no-tls-tickets`, `no-ssl-reuse`): Weft's sidecars do a full handshake per
 * connection, so the connection-rate rows compare full handshakes. */
export interface HaproxyTls {
  global: string;
  bind?: string;
  server?: string;
}

export function haproxyTls(certs: MeshCerts, hop: 'client' | 'server', http: boolean): HaproxyTls {
  const global =
    `  ssl-default-bind-ciphersuites ${TLS13_SUITE}\n  ssl-default-bind-options ssl-min-ver TLSv1.3 no-tls-tickets\n` +
    `  ssl-default-server-ciphersuites ${TLS13_SUITE}\n  ssl-default-server-options ssl-min-ver TLSv1.3\n`;
  if (hop === 'server') return { global, bind: ` ssl crt ${certs.server.bundleFile} ca-file ${certs.caFile} verify required${http ? ' alpn h2,http/1.1' : ''}` };
  return { global, server: ` ssl verify required ca-file ${certs.caFile} crt ${certs.client.bundleFile} no-ssl-reuse${http ? ' alpn http/1.1' : ''}` };
}

/** What a server hop negotiates with an OpenSSL client holding the client identity (openssl
 * s_client -brief): protocol, suite, key exchange group and the server's key. Recorded per row, so
 * the table shows both pairs did the same TLS. */
export function negotiatedTls(port: number, certs: MeshCerts): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-brief', '-connect', `127.0.0.1:${port}`, '-cert', certs.client.certFile, '-key', certs.client.keyFile, '-CAfile', certs.caFile],
      { timeout: 10_000 },
      (_err, stdout, stderr) => {
        const text = `${stdout}\n${stderr}`;
        const get = (re: RegExp): string => re.exec(text)?.[1]?.trim() ?? '?';
        resolve(
          `${get(/Protocol version:\s*(\S+)/)} ${get(/Ciphersuite:\s*(\S+)/)}, key exchange ${get(/(?:Server Temp Key|Negotiated TLS1.3 group):\s*([^,\n]+)/)}, ` +
            `signature ${get(/(?:Peer s|S)ignature type:\s*(\S+)/)}, verification ${get(/Verification:\s*(\S+)/)}`,
        );
      },
    );
    child.stdin?.end();
  });
}
