// mTLS between two real sidecars on loopback, configured only over xDS (SotW) with Envoy's TLS API
// and SDS secrets made by the real `openssl`: a client sidecar (A) whose clusters originate TLS with
// a SPIFFE certificate and check the server's SPIFFE ID, and a server sidecar (B) whose inbound
// listener uses the TLS inspector to send TLS to an mTLS chain and plaintext to a raw chain
// (PERMISSIVE), beside a listener that only takes TLS (STRICT).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { TCP_PROXY_TYPE_URL } from '../../src/api/envoy.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { ROOT_CA_SECRET, WORKLOAD_SECRET } from '../../src/proxy/tls/secret-store.js';
import { createTestCa, type Leaf, type TestCa } from '../helpers/certs.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startSotwProxy, testWorkload } from './helpers/proxy-under-test.js';
import { eventually, freePort, hcmListener, request, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';
import { caSecret, certSecret, downstreamTls, struct, TLS_INSPECTOR, upstreamTls } from './helpers/tls-resources.js';

const routes = (hosts: Record<string, string>) => ({
  name: 'r',
  virtual_hosts: Object.entries(hosts).map(([host, cluster]) => ({ name: host, domains: [host], routes: [{ match: { prefix: '/' }, route: { cluster } }] })),
});
const inlineHcm = (name: string, hosts: Record<string, string>) => (hcmListener(name, 0, { route_config: routes(hosts) }) as { filter_chains: Record<string, unknown>[] }).filter_chains[0].filters;

/** openssl s_client with a client certificate; resolves with what it printed. */
function sClient(port: number, files: { cert: string; key: string; ca: string }, extra: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-cert', files.cert, '-key', files.key, '-CAfile', files.ca, '-showcerts', ...extra], { timeout: 10_000 }, (err, stdout) => {
      if (err && !stdout) reject(err);
      else resolve(stdout);
    });
    child.stdin?.end();
  });
}

function firstPem(text: string): string {
  const m = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/);
  assert.ok(m, `no certificate in: ${text.slice(0, 500)}`);
  return m[0] + '\n';
}

describe('mTLS between two sidecars (SDS, tls_inspector, SAN checks)', () => {
  const adsA = new TestAdsServer();
  const adsB = new TestAdsServer();
  let a: Proxy;
  let b: Proxy;
  let app: Upstream;
  let ca: TestCa;
  let otherCa: TestCa;
  let server: Leaf;
  let client: Leaf;
  let inPort: number;
  let strictPort: number;
  let tcpPort: number;
  let echo: net.Server;
  const files = { cert: '', key: '', ca: '' };

  before(async () => {
    ca = createTestCa();
    otherCa = createTestCa('other-mesh');
    server = ca.leaf('reviews');
    client = ca.leaf('productpage');
    files.cert = `${ca.dir}/client-chain.pem`;
    files.key = `${ca.dir}/client.key`;
    files.ca = `${ca.dir}/root.pem`;
    fs.writeFileSync(files.cert, client.chain);
    fs.writeFileSync(files.key, client.key);
    app = await startUpstream('app');
    inPort = await freePort();
    strictPort = await freePort();
    tcpPort = await freePort();
    echo = net.createServer((s) => s.pipe(s).on('error', () => {}));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));

    await adsB.start();
    adsB.set('secret', 's1', [certSecret('server-cert', server), caSecret('mesh-ca', ca.root)]);
    adsB.set('cluster', 'c1', [staticCluster('app', [app.port]), staticCluster('echo', [(echo.address() as net.AddressInfo).port])]);
    const serverTls = downstreamTls({ cert: 'server-cert', ca: 'mesh-ca', sans: [client.spiffeId], alpn: ['h2', 'http/1.1'] });
    adsB.set('listener', 'l1', [
      {
        name: 'in',
        address: { socket_address: { address: '127.0.0.1', port_value: inPort } },
        listener_filters: [TLS_INSPECTOR],
        filter_chains: [
          { name: 'mtls', filter_chain_match: { transport_protocol: 'tls' }, transport_socket: serverTls, filters: inlineHcm('in', { '*': 'app' }) },
          { name: 'plaintext', filters: inlineHcm('in', { '*': 'app' }) },
        ],
      },
      {
        name: 'strict',
        address: { socket_address: { address: '127.0.0.1', port_value: strictPort } },
        listener_filters: [TLS_INSPECTOR],
        filter_chains: [{ name: 'mtls', filter_chain_match: { transport_protocol: 'tls' }, transport_socket: serverTls, filters: inlineHcm('strict', { '*': 'app' }) }],
      },
      {
        name: 'tcp',
        address: { socket_address: { address: '127.0.0.1', port_value: tcpPort } },
        filter_chains: [{ transport_socket: serverTls, filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: 'tcp', cluster: 'echo' } }] }],
      },
    ]);
    b = await startSotwProxy(adsB);

    await adsA.start();
    adsA.set('secret', 's1', [certSecret('client-cert', client), caSecret('mesh-ca', ca.root), caSecret('other-ca', otherCa.root)]);
    const toB = (name: string, o: { sans?: string[]; ca?: string; extra?: Record<string, unknown> } = {}) =>
      staticCluster(name, [inPort], { transport_socket: upstreamTls({ cert: 'client-cert', ca: o.ca ?? 'mesh-ca', sans: o.sans ?? [server.spiffeId] }), ...o.extra });
    const autoEndpoint = (tlsMode: string | undefined) => ({
      cluster_name: 'x',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: inPort } } }, ...(tlsMode ? { metadata: { filter_metadata: { 'envoy.transport_socket_match': struct({ tlsMode }) } } } : {}) }] }],
    });
    const auto = (name: string, tlsMode: string | undefined) => ({
      ...(staticCluster(name, [inPort]) as object),
      load_assignment: { ...autoEndpoint(tlsMode), cluster_name: name },
      transport_socket_matches: [{ name: 'tlsMode-istio', match: struct({ tlsMode: 'istio' }), transport_socket: upstreamTls({ cert: 'client-cert', ca: 'mesh-ca', sans: [server.spiffeId] }) }],
    });
    adsA.set('cluster', 'c1', [
      toB('mesh-h1'),
      toB('mesh-h2', { extra: { http2_protocol_options: {} } }),
      toB('mesh-wrong-id', { sans: ['spiffe://cluster.local/ns/default/sa/details'] }),
      toB('mesh-untrusted', { ca: 'other-ca' }),
      toB('mesh-renew', { extra: { common_http_protocol_options: { max_requests_per_connection: { value: 1 } } } }),
      auto('auto-istio', 'istio'),
      auto('auto-plain', undefined),
      staticCluster('mesh-tcp', [tcpPort], { transport_socket: upstreamTls({ cert: 'client-cert', ca: 'mesh-ca', sans: [server.spiffeId] }) }),
      staticCluster('mesh-tcp-wrong-id', [tcpPort], { transport_socket: upstreamTls({ cert: 'client-cert', ca: 'mesh-ca', sans: ['spiffe://cluster.local/ns/default/sa/details'] }) }),
    ]);
    adsA.set('listener', 'l1', [
      hcmListener('out', 0, {
        route_config: routes({ reviews: 'mesh-h1', 'reviews-h2': 'mesh-h2', 'wrong-id': 'mesh-wrong-id', untrusted: 'mesh-untrusted', renew: 'mesh-renew', 'auto-istio': 'auto-istio', 'auto-plain': 'auto-plain' }),
      }),
      ...['mesh-tcp', 'mesh-tcp-wrong-id'].map((cluster) => ({
        name: `tcp-out-${cluster}`,
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: cluster, cluster } }] }],
      })),
    ]);
    a = await startSotwProxy(adsA);
  });

  after(async () => {
    a?.destroy();
    b?.destroy();
    echo?.close();
    await Promise.all([adsA.stop(), adsB.stop(), app?.close()]);
    ca?.dispose();
    otherCa?.dispose();
  });

  const out = () => a.listenerPort('out')!;
  const bStat = (k: string) => b.stats()[k] ?? 0;

  it('HTTP/1.1 over mTLS: the client checks the server SPIFFE ID, the server requires and checks the client certificate', async () => {
    const before = bStat('listener.in.ssl_handshake');
    const r = await request(out(), { host: 'reviews', path: '/h1' });
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).url, '/h1');
    assert.ok(bStat('listener.in.ssl_handshake') > before, 'the request reached B over TLS');
  });

  it('ALPN h2: an HTTP/2 cluster negotiates h2 and the server sidecar serves HTTP/2 on the TLS socket', async () => {
    const r = await request(out(), { host: 'reviews-h2', path: '/h2' });
    assert.equal(r.status, 200, r.body);
    const printed = await sClient(inPort, files, ['-alpn', 'h2']);
    assert.match(printed, /ALPN protocol: h2/);
    const h1 = await sClient(inPort, files, ['-alpn', 'http/1.1']);
    assert.match(h1, /ALPN protocol: http\/1\.1/);
  });

  it('a server holding a valid certificate for another SPIFFE identity is refused: 503 UF naming the SAN mismatch', async () => {
    const seen = app.seen.length;
    const uf = a.stats()['http.out.response_flag.UF'] ?? 0;
    const r = await request(out(), { host: 'wrong-id' });
    assert.equal(r.status, 503);
    assert.match(r.body, /WEFT_E_UPSTREAM_TLS: SAN mismatch: the peer certificate has URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews; wanted URI:exact spiffe:\/\/cluster\.local\/ns\/default\/sa\/details/);
    assert.equal(a.stats()['http.out.response_flag.UF'], uf + 1);
    assert.ok((a.stats()['cluster.mesh-wrong-id.upstream_cx_connect_fail'] ?? 0) >= 1);
    assert.equal(app.seen.length, seen, 'nothing reached the app');
  });

  it('a chain the trust bundle does not cover is refused (CERTIFICATE_VERIFY_FAILED)', async () => {
    const r = await request(out(), { host: 'untrusted' });
    assert.equal(r.status, 503);
    assert.match(r.body, /WEFT_E_UPSTREAM_TLS: CERTIFICATE_VERIFY_FAILED/);
  });

  it('PERMISSIVE-like: the TLS inspector sends TLS to the mTLS chain and plaintext to the raw chain', async () => {
    const tlsBefore = bStat('listener.in.ssl_handshake');
    const plain = await request(inPort, { host: 'anything', path: '/plain' });
    assert.equal(plain.status, 200);
    assert.equal(bStat('listener.in.ssl_handshake'), tlsBefore, 'plaintext took the raw chain');
    const viaTls = await request(out(), { host: 'reviews', path: '/tls' });
    assert.equal(viaTls.status, 200);
  });

  it('STRICT-like: a listener whose only chain takes TLS closes plaintext connections; mTLS is served', async () => {
    const noMatch = bStat('listener.strict.no_filter_chain_match');
    await assert.rejects(request(strictPort, { host: 'x', agent: new http.Agent() }), /socket hang up|ECONNRESET/);
    assert.equal(bStat('listener.strict.no_filter_chain_match'), noMatch + 1);
    const printed = await sClient(strictPort, files);
    assert.match(printed, /Verify return code: 0 \(ok\)/);
  });

  it('a TLS client without a certificate is refused where the chain requires one', async () => {
    const errors = bStat('listener.in.ssl_connection_error');
    const agent = new https.Agent({ ca: ca.root, checkServerIdentity: () => undefined });
    await assert.rejects(
      new Promise((resolve, reject) => https.get({ host: '127.0.0.1', port: inPort, agent, path: '/' }, resolve).on('error', reject)),
      /socket hang up|ECONNRESET|alert|certificate/,
    );
    await eventually(() => bStat('listener.in.ssl_connection_error') === errors + 1, 5000, 'the refusal counted');
  });

  it('openssl s_client against the TLS listener shows the SPIFFE certificate, which openssl verify chains to the root', async () => {
    const printed = await sClient(inPort, files);
    assert.match(printed, /Verify return code: 0 \(ok\)/);
    const text = ca.text(firstPem(printed));
    assert.match(text, /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews/);
    assert.match(text, /Digital Signature/);
    assert.match(ca.verify(server), /: OK/);
  });

  it('auto-mTLS shape: transport_socket_matches gives TLS to endpoints labelled tlsMode=istio and plaintext to the others', async () => {
    const before = bStat('listener.in.ssl_handshake');
    assert.equal((await request(out(), { host: 'auto-istio' })).status, 200);
    const afterTls = bStat('listener.in.ssl_handshake');
    assert.equal(afterTls, before + 1);
    assert.equal((await request(out(), { host: 'auto-plain' })).status, 200);
    assert.equal(bStat('listener.in.ssl_handshake'), afterTls, 'the unlabelled endpoint was reached in plaintext');
  });

  it('certificate renewal under a steady load: zero failed requests, new handshakes use the new certificate, a live connection keeps its session', async () => {
    // A live connection, opened before the renewal.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: ca.root, cert: client.chain, key: client.key, checkServerIdentity: () => undefined });
    const get = () =>
      new Promise<{ status: number; serial: string; socket: tls.TLSSocket }>((resolve, reject) =>
        https
          .get({ host: '127.0.0.1', port: inPort, agent, path: '/live' }, (res) => {
            res.resume();
            const socket = res.socket as tls.TLSSocket;
            // Read on the connection's first response (a kept-alive socket does not report it again).
            const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
            res.on('end', () => resolve({ status: res.statusCode ?? 0, serial, socket }));
          })
          .on('error', reject),
      );
    const first = await get();
    const oldSerial = new X509Certificate(server.cert).serialNumber;
    assert.equal(first.serial, oldSerial);

    let sent = 0;
    let failed = 0;
    let ok = 0;
    let renewed: Leaf = server;
    const TOTAL = 300;
    const worker = async () => {
      while (sent < TOTAL) {
        sent++;
        try {
          const r = await request(out(), { host: 'renew' });
          if (r.status === 200) ok++;
          else failed++;
        } catch {
          failed++;
        }
        // Three renewals spread over the run, each pushed over SDS while requests are in flight.
        if (sent === 60 || sent === 140 || sent === 220) {
          renewed = ca.leaf('reviews');
          adsB.set('secret', `s-renew-${sent}`, [certSecret('server-cert', renewed), caSecret('mesh-ca', ca.root)]);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.equal(failed, 0, `${failed} of ${TOTAL} requests failed`);
    assert.equal(ok, TOTAL);

    const newSerial = new X509Certificate(renewed.cert).serialNumber;
    assert.notEqual(newSerial, oldSerial);
    await eventually(async () => new X509Certificate(firstPem(await sClient(inPort, files))).serialNumber === newSerial, 5000, 'new handshakes get the renewed certificate');
    const second = await get();
    assert.equal(second.socket, first.socket, 'the same live connection, made before the renewals, still serves');
    assert.equal(second.status, 200);
    agent.destroy();
  });

  it('tcp_proxy behind a TLS chain: opaque bytes, decrypted, reach the upstream and come back', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: tcpPort, ca: ca.root, cert: client.chain, key: client.key, checkServerIdentity: () => undefined }, () => s.write('ping over mTLS'));
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.length >= 'ping over mTLS'.length) {
          resolve(got);
          s.destroy();
        }
      });
      s.on('error', reject);
    });
    assert.equal(reply, 'ping over mTLS');
  });

  /** Plain TCP to sidecar A's tcp_proxy listener; what comes back before the connection closes. */
  const tcpThroughA = (listener: string, payload: string) =>
    new Promise<string>((resolve, reject) => {
      const s = net.connect(a.listenerPort(listener)!, '127.0.0.1', () => s.write(payload));
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.length >= payload.length) s.end();
      });
      s.on('close', () => resolve(got));
      // The sidecar cuts a connection it cannot carry: a reset is an answer too.
      s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(got) : reject(e)));
    });

  it('tcp_proxy originates mTLS to a meshed upstream (the SPIFFE ID checked); a wrong identity gets no bytes through', async () => {
    const handshakes = bStat('listener.tcp.ssl_handshake');
    assert.equal(await tcpThroughA('tcp-out-mesh-tcp', 'opaque bytes over sidecar mTLS'), 'opaque bytes over sidecar mTLS');
    assert.equal(bStat('listener.tcp.ssl_handshake'), handshakes + 1, 'the server sidecar terminated one mTLS handshake');
    assert.equal(await tcpThroughA('tcp-out-mesh-tcp-wrong-id', 'must not pass'), '');
    assert.ok((a.stats()['tcp.mesh-tcp-wrong-id.upstream_cx_connect_fail'] ?? 0) >= 1, 'the refused handshake counts as a connect failure');
  });

  it('an unsupported TLS field over ADS is a NACK naming its path; the listeners keep serving', async () => {
    const bad = {
      name: 'in',
      address: { socket_address: { address: '127.0.0.1', port_value: inPort } },
      filter_chains: [{ transport_socket: { name: 'tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'server-cert', sds_config: { ads: {} } }], tls_params: { signature_algorithms: ['ecdsa_secp256r1_sha256'] } } } }, filters: inlineHcm('in', { '*': 'app' }) }],
    };
    const ack = await adsB.setAndWait('listener', 'l-bad', [bad]);
    assert.match(ack.error_detail?.message ?? '', /listener in: filter_chains\[0\]\.transport_socket\.typed_config\.common_tls_context\.tls_params\.signature_algorithms: not supported/);
    assert.equal((await request(out(), { host: 'reviews' })).status, 200);
    assert.equal((await request(inPort, { host: 'x', agent: new http.Agent() })).status, 200);
  });
});

describe('warming: a TLS listener waits for its secrets', () => {
  it('not ready and no TLS served until the secrets arrive (SDS for one, the identity agent for the others)', async () => {
    const ads = new TestAdsServer();
    const ca = createTestCa();
    const app = await startUpstream('warm-app');
    const port = await freePort();
    try {
      await ads.start();
      ads.set('cluster', 'c1', [staticCluster('app', [app.port], { transport_socket: upstreamTls({ cert: 'default', ca: 'ROOTCA', from: 'agent' }) })]);
      ads.set('listener', 'l1', [
        {
          name: 'in',
          address: { socket_address: { address: '127.0.0.1', port_value: port } },
          filter_chains: [{ transport_socket: downstreamTls({ cert: 'late-cert', requireClientCertificate: false }), filters: inlineHcm('in', { '*': 'app' }) }],
        },
      ]);
      const proxy = new Proxy({ xdsAddress: ads.address, xdsProtocol: 'sotw', workload: testWorkload, adminPort: 0, xdsBackoff: { initialMs: 20, maxMs: 100 } });
      try {
        await proxy.start();
        await ads.waitForRequest((r) => r.type_url.endsWith('Secret') && (r.resource_names ?? []).includes('late-cert'));
        await eventually(() => proxy.listenerPort('in') !== undefined, 5000, 'the listener bound');
        assert.equal(proxy.ready, false, 'warming: its secrets have not arrived');
        const refused = proxy.stats()['listener.in.ssl_connection_error'];
        await assert.rejects(
          new Promise((resolve, reject) => {
            const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s));
            s.on('error', reject);
          }),
        );
        assert.equal(proxy.stats()['listener.in.ssl_connection_error'], refused + 1);

        ads.set('secret', 's1', [certSecret('late-cert', ca.leaf('warm'))]);
        // SDS alone is not enough: the cluster names the identity agent's secrets.
        await eventually(() => proxy.applier.missingSecrets().join() === `${ROOT_CA_SECRET},${WORKLOAD_SECRET}`, 5000, 'the SDS secret applied');
        assert.equal(proxy.ready, false);
        const workload = ca.leaf('client');
        proxy.secrets.set(WORKLOAD_SECRET, { kind: 'tls_certificate', certificateChain: workload.chain, privateKey: workload.key });
        proxy.secrets.set(ROOT_CA_SECRET, { kind: 'validation_context', trustedCa: ca.root });
        await proxy.whenReady(5000);
        const served = await new Promise<string>((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port, ca: ca.root, checkServerIdentity: () => undefined }, () => {
            resolve(s.getPeerX509Certificate()!.subjectAltName ?? '');
            s.destroy();
          });
          s.on('error', reject);
        });
        assert.match(served, /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/warm/);
      } finally {
        proxy.destroy();
      }
    } finally {
      await ads.stop();
      await app.close();
      ca.dispose();
    }
  });
});

