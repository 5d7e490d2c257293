// One listener with the TLS inspector and two TLS chains told apart by SNI (exact name, and a
// `*.` wildcard), its secrets set by the identity agent's path (proxy.secrets, Istio's `default`
// and `ROOTCA`). Over real TLS with HTTP/1.1 and h2, what the handshake proved reaches each HTTP
// stream through `stream.connection` — as RBAC and access logs read it. The HCM is replaced by a
// recorder so the stream's view can be returned to the client; listener, transport and codecs are real.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { HCM_TYPE_URL, packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import type { HcmRuntime } from '../../src/proxy/http/connection-manager.js';
import { HttpStream } from '../../src/proxy/http/stream.js';
import { ActiveListener } from '../../src/proxy/listener/active-listener.js';
import { ROOT_CA_SECRET, SecretStore, WORKLOAD_SECRET } from '../../src/proxy/tls/secret-store.js';
import type { TcpProxyRuntime } from '../../src/proxy/tcp/tcp-proxy.js';
import { validateResource } from '../../src/proxy/xds/decode.js';
import type { Listener } from '../../src/proxy/xds/model.js';
import { createTestCa, type Leaf, type TestCa } from '../helpers/certs.js';
import { routerFilter } from './helpers/resources.js';
import { downstreamTls, TLS_INSPECTOR } from './helpers/tls-resources.js';

const hcm = { name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM_TYPE_URL, stat_prefix: 's', rds: { route_config_name: 'r', config_source: { ads: {} } }, http_filters: [routerFilter] } };

/** Answers every request with what its stream knows about the connection. */
const recorder = {
  handle(req: ConstructorParameters<typeof HttpStream>[0], res: ConstructorParameters<typeof HttpStream>[1]) {
    const stream = new HttpStream(req, res);
    const body = JSON.stringify({ version: req.httpVersion, connection: stream.connection });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  },
} as unknown as HcmRuntime;

describe('a TLS listener: SNI chains, agent secrets, identity on every stream', () => {
  let ca: TestCa;
  let workload: Leaf;
  let ratings: Leaf;
  let client: Leaf;
  let listener: ActiveListener;
  const secrets = new SecretStore();

  before(async () => {
    ca = createTestCa();
    workload = ca.leaf('reviews');
    ratings = ca.leaf('ratings');
    client = ca.leaf('productpage', { dns: ['productpage.default.svc'] });
    secrets.set(WORKLOAD_SECRET, { kind: 'tls_certificate', certificateChain: workload.chain, privateKey: workload.key });
    secrets.set(ROOT_CA_SECRET, { kind: 'validation_context', trustedCa: ca.root });
    const raw = {
      name: 'in',
      address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
      listener_filters: [TLS_INSPECTOR],
      filter_chains: [
        { name: 'reviews', filter_chain_match: { server_names: ['reviews.default'] }, transport_socket: downstreamTls({ cert: WORKLOAD_SECRET, ca: ROOT_CA_SECRET, from: 'agent', alpn: ['h2', 'http/1.1'] }), filters: [hcm] },
        {
          name: 'wildcard',
          filter_chain_match: { server_names: ['*.example.com'] },
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', common_tls_context: { tls_certificates: [{ certificate_chain: { inline_string: ratings.chain }, private_key: { inline_string: ratings.key } }] } },
          },
          filters: [hcm],
        },
      ],
    };
    const v = validateResource('listener', unpackAny(packAny(TypeUrl.listener, raw)));
    assert.ok(v.valid, !v.valid ? v.errors.join('; ') : '');
    listener = new ActiveListener(v.result as Listener, { hcm: () => recorder, tcpProxy: () => ({}) as TcpProxyRuntime }, { active: 0, max: 100 }, 1000, 100, secrets);
    await listener.bind();
  });

  after(() => {
    listener.destroy();
    ca.dispose();
  });

  const clientTls = () => ({ ca: ca.root, cert: client.chain, key: client.key, checkServerIdentity: () => undefined });

  it('HTTP/1.1 over TLS: the stream sees the peer SPIFFE ID, DNS SANs, SNI, ALPN, version and our identity', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      https
        // https takes tls.connect's options (ALPN among them) though its type does not list them all.
        .get({ host: '127.0.0.1', port: listener.port, servername: 'reviews.default', path: '/', agent: false, ...clientTls(), ...({ ALPNProtocols: ['http/1.1'] } as https.RequestOptions) }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        })
        .on('error', reject);
    });
    const seen = JSON.parse(body) as { version: string; connection: { transportProtocol: string; serverName: string; applicationProtocols: string[]; tls: Record<string, unknown> } };
    assert.equal(seen.version, '1.1');
    assert.equal(seen.connection.transportProtocol, 'tls');
    assert.equal(seen.connection.serverName, 'reviews.default');
    assert.deepEqual(seen.connection.applicationProtocols, ['http/1.1']);
    assert.deepEqual(seen.connection.tls, {
      sni: 'reviews.default',
      alpn: 'http/1.1',
      peerUriSans: [client.spiffeId],
      peerDnsSans: ['productpage.default.svc'],
      peerSubject: 'O=weft-test',
      localUriSan: workload.spiffeId,
      version: 'TLSv1.3',
    });
  });

  it('h2 over TLS: ALPN h2 takes the HTTP/2 codec, and its streams see the same identity', async () => {
    const session = http2.connect(`https://127.0.0.1:${listener.port}`, { servername: 'reviews.default', ...clientTls() });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const s = session.request({ ':path': '/' });
        let b = '';
        s.on('data', (d) => (b += d));
        s.on('end', () => resolve(b));
        s.on('error', reject);
      });
      const seen = JSON.parse(body) as { version: string; connection: { tls: { alpn: string; peerUriSans: string[] } } };
      assert.equal(seen.version, '2');
      assert.equal(seen.connection.tls.alpn, 'h2');
      assert.deepEqual(seen.connection.tls.peerUriSans, [client.spiffeId]);
    } finally {
      session.destroy();
    }
  });

  it('SNI picks the chain: a wildcard name gets the other certificate; an unknown name no chain at all', async () => {
    const served = (servername: string) =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: listener.port, servername, ...clientTls() }, () => {
          resolve(s.getPeerX509Certificate()?.subjectAltName ?? '');
          s.destroy();
        });
        s.on('error', reject);
      });
    assert.equal(await served('api.example.com'), `URI:${ratings.spiffeId}`);
    assert.equal(await served('reviews.default'), `URI:${workload.spiffeId}`);
    const before = listener.stats.no_filter_chain_match;
    await assert.rejects(served('unknown.test'));
    assert.equal(listener.stats.no_filter_chain_match, before + 1);
  });

  it('a renewed agent certificate is served to the next handshake', async () => {
    const renewed = ca.leaf('reviews');
    secrets.set(WORKLOAD_SECRET, { kind: 'tls_certificate', certificateChain: renewed.chain, privateKey: renewed.key });
    const serial = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: listener.port, servername: 'reviews.default', ...clientTls() }, () => {
        resolve(s.getPeerX509Certificate()?.serialNumber ?? '');
        s.destroy();
      });
      s.on('error', reject);
    });
    const { X509Certificate } = await import('node:crypto');
    assert.equal(serial, new X509Certificate(renewed.cert).serialNumber);
  });
});
