// A real `weft proxy` process whose inbound listener takes only mTLS (STRICT-like), its certificate
// and trust bundle sent over SDS: `openssl s_client` shows its SPIFFE certificate; a client sidecar
// reaches it over mTLS; a plaintext client and a client holding a valid certificate for another
// identity are refused, and the process counts them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Proxy } from '../../src/proxy/proxy.js';
import { createTestCa, type Leaf, type TestCa } from '../helpers/certs.js';
import { rawExchange, startSidecarProcess, type SidecarProcess } from '../helpers/sidecar.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startSotwProxy } from './helpers/proxy-under-test.js';
import { eventually, freePort, hcmListener, request, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';
import { caSecret, certSecret, downstreamTls, TLS_INSPECTOR, upstreamTls } from './helpers/tls-resources.js';

function sClient(port: number, cert: string, key: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-cert', cert, '-key', key, '-CAfile', ca, '-showcerts'], { timeout: 10_000 }, (err, stdout) =>
      err && !stdout ? reject(err) : resolve(stdout),
    );
    child.stdin?.end();
  });
}

describe('mTLS into a real sidecar process', () => {
  let ca: TestCa;
  let server: Leaf;
  let client: Leaf;
  let impostor: Leaf;
  let app: Upstream;
  let sidecar: SidecarProcess;
  let inPort: number;
  const adsA = new TestAdsServer();
  let a: Proxy;
  const file = (name: string, text: string) => {
    const f = `${ca.dir}/${name}`;
    fs.writeFileSync(f, text);
    return f;
  };

  before(async () => {
    ca = createTestCa();
    server = ca.leaf('reviews');
    client = ca.leaf('productpage');
    impostor = ca.leaf('ratings');
    app = await startUpstream('reviews-app');
    inPort = await freePort();
    const inbound = hcmListener('inbound', inPort, { route_config: { name: 'in', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] } }) as { filter_chains: Record<string, unknown>[]; listener_filters?: object[] };
    inbound.listener_filters = [TLS_INSPECTOR];
    inbound.filter_chains[0].filter_chain_match = { transport_protocol: 'tls' };
    inbound.filter_chains[0].transport_socket = downstreamTls({ cert: 'server-cert', ca: 'mesh-ca', sans: [client.spiffeId], alpn: ['h2', 'http/1.1'] });
    sidecar = await startSidecarProcess({ secrets: [certSecret('server-cert', server), caSecret('mesh-ca', ca.root)], clusters: [staticCluster('app', [app.port])], listeners: [inbound] });

    await adsA.start();
    adsA.set('secret', 's1', [certSecret('client-cert', client), caSecret('mesh-ca', ca.root)]);
    adsA.set('cluster', 'c1', [staticCluster('reviews', [inPort], { transport_socket: upstreamTls({ cert: 'client-cert', ca: 'mesh-ca', sans: [server.spiffeId] }), http2_protocol_options: {} })]);
    adsA.set('listener', 'l1', [hcmListener('out', 0, { route_config: { name: 'out', virtual_hosts: [{ name: 'reviews', domains: ['reviews'], routes: [{ match: { prefix: '/' }, route: { cluster: 'reviews' } }] }] } })]);
    a = await startSotwProxy(adsA);
  });

  after(async () => {
    a?.destroy();
    await adsA.stop();
    await sidecar?.stop();
    await app?.close();
    ca?.dispose();
  });

  it('openssl s_client against the inbound port shows the SVID, verified to the root', async () => {
    const out = await sClient(inPort, file('client.pem', client.chain), file('client.key', client.key), file('root.pem', ca.root));
    assert.match(out, /Verify return code: 0 \(ok\)/);
    const pem = out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0];
    assert.match(ca.text(`${pem}\n`), /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews/);
  });

  it('a meshed client (h2 over mTLS, SPIFFE IDs checked both ways) is served', async () => {
    const r = await request(a.listenerPort('out')!, { host: 'reviews', path: '/meshed' });
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).url, '/meshed');
  });

  it('a plaintext client is refused', async () => {
    const before = (await sidecar.stats())['listener.inbound.no_filter_chain_match'] ?? 0;
    const got = await rawExchange(inPort, ['GET / HTTP/1.1\r\nhost: reviews\r\n\r\n']);
    assert.equal(got, '', 'closed without an answer');
    assert.equal((await sidecar.stats())['listener.inbound.no_filter_chain_match'], before + 1);
  });

  it('a client with a valid certificate for another identity is refused by the SPIFFE check', async () => {
    const before = (await sidecar.stats())['listener.inbound.ssl_connection_error'] ?? 0;
    const seen = app.seen.length;
    await sClient(inPort, file('impostor.pem', impostor.chain), file('impostor.key', impostor.key), file('root.pem', ca.root));
    await eventually(async () => (await sidecar.stats())['listener.inbound.ssl_connection_error'] === before + 1, 5000, 'the refusal counted');
    assert.equal(app.seen.length, seen);
  });
});
