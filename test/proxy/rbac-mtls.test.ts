// AuthorizationPolicy principals and namespaces against real SPIFFE certificates: a real `weft proxy`
// process takes mTLS inbound (SDS secrets), the control plane's translator gives it the RBAC filters,
// and clients holding different SVIDs get 200, 403 RBAC, or a closed TCP connection.
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { TCP_PROXY_TYPE_URL } from '../../src/api/envoy.js';
import { authorizationFilters, type AuthorizationPolicyResource } from '../../src/controlplane/translate/authorization.js';
import { createTestCa, type Leaf, type TestCa } from '../helpers/certs.js';
import { freePorts } from '../helpers/processes.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar.js';
import { hcmListener, routerFilter, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';
import { caSecret, certSecret, downstreamTls, TLS_INSPECTOR } from './helpers/tls-resources.js';

const policies: AuthorizationPolicyResource[] = [
  { name: 'deny-ratings', namespace: 'default', spec: { action: 'DENY', rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/ratings'] } }] }] } },
  { name: 'allow-default-ns', namespace: 'default', spec: { action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['default'] } }] }] } },
];

function get(port: number, leaf: Leaf, ca: string): Promise<{ status: number; body: string; reason: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/reviews/1', cert: leaf.chain, key: leaf.key, ca, checkServerIdentity: () => undefined, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reason: String(res.headers['x-weft-reason'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** mTLS to the TCP port: echoed, or closed by the proxy after the handshake. */
function tcpOverTls(port: number, leaf: Leaf, ca: string): Promise<'echoed' | 'closed'> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, cert: leaf.chain, key: leaf.key, ca, checkServerIdentity: () => undefined }, () => s.write('ping'));
    const timer = setTimeout(() => reject(new Error('neither echo nor close')), 5000);
    s.on('data', (d: Buffer) => {
      if (d.toString() === 'ping') {
        clearTimeout(timer);
        s.destroy();
        resolve('echoed');
      }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

describe('RBAC on SPIFFE principals through a real sidecar process', () => {
  let ca: TestCa;
  let app: Upstream;
  let echo: net.Server;
  let sidecar: SidecarProcess;
  let httpPort: number;
  let tcpPort: number;

  before(async () => {
    ca = createTestCa();
    app = await startUpstream('reviews-app');
    echo = net.createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    [httpPort, tcpPort] = await freePorts(2);
    const authz = authorizationFilters(policies, { namespace: 'default', labels: { app: 'reviews' } });
    assert.deepEqual(authz.errors, []);
    const mtls = downstreamTls({ cert: 'server-cert', ca: 'mesh-ca', alpn: ['http/1.1'] });
    const inbound = hcmListener('inbound', httpPort, {
      route_config: { name: 'in', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] },
      http_filters: [...authz.http, routerFilter],
    }) as { filter_chains: Record<string, unknown>[]; listener_filters?: object[] };
    inbound.listener_filters = [TLS_INSPECTOR];
    inbound.filter_chains[0].transport_socket = mtls;
    const tcp = {
      name: 'inbound-tcp',
      address: { socket_address: { address: '127.0.0.1', port_value: tcpPort } },
      listener_filters: [TLS_INSPECTOR],
      filter_chains: [{ transport_socket: mtls, filters: [...authz.network, { name: 'tcp', typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: 'tcp-in', cluster: 'echo' } }] }],
    };
    sidecar = await startSidecarProcess({
      secrets: [certSecret('server-cert', ca.leaf('reviews')), caSecret('mesh-ca', ca.root)],
      clusters: [staticCluster('app', [app.port]), staticCluster('echo', [(echo.address() as net.AddressInfo).port])],
      listeners: [inbound, tcp],
    });
  });

  after(async () => {
    await sidecar?.stop();
    await app?.close();
    echo?.close();
    ca?.dispose();
  });

  it('HTTP: productpage (ns default) is allowed; ratings is denied by principal with 403 RBAC', async () => {
    const ok = await get(httpPort, ca.leaf('productpage'), ca.root);
    assert.equal(ok.status, 200, ok.body);
    const denied = await get(httpPort, ca.leaf('ratings'), ca.root);
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'RBAC: access denied');
    assert.equal(denied.reason, 'RBAC rbac_access_denied_matched_policy[ns[default]-policy[deny-ratings]-rule[0]]');
  });

  it('TCP: the same policies close ratings\' connection after the handshake and proxy productpage\'s', async () => {
    assert.equal(await tcpOverTls(tcpPort, ca.leaf('productpage'), ca.root), 'echoed');
    assert.equal(await tcpOverTls(tcpPort, ca.leaf('ratings'), ca.root), 'closed');
    const stats = await sidecar.stats();
    assert.equal(stats['tcp.rbac.denied'], 1);
  });
});
