// Inbound TCP: a workload port whose protocol is not HTTP gets tcp_proxy behind the network RBAC
// filters (Istio's protocol selection), decoded by the proxy's own xDS edge and decided by its RBAC
// engine: behaviour, not proto shape. HTTP ports keep the connection manager.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny, TypeUrl } from '../../src/api/envoy.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { translate } from '../../src/controlplane/translate/index.js';
import type { FilterChain } from '../../src/proxy/xds/model.js';
import type { RbacFilterConfig } from '../../src/proxy/rbac/filter-config.js';
import { decodeResources } from '../../src/proxy/xds/decode.js';
import { decide } from '../rbac/harness.js';
import { bookinfoProxies, configFrom, MYSQL_TRAFFIC_TARGET, mysqldb, snapshot, yaml } from './fixtures.js';

const POLICIES = yaml('authz.yaml', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-reviews, namespace: default }
spec:
  selector: { matchLabels: { app: mysqldb } }
  rules:
  - from: [{ source: { principals: [cluster.local/ns/default/sa/bookinfo-reviews] } }]
  # HTTP-only: on TCP, Istio drops this ALLOW rule (it would match nothing)
  - from: [{ source: { principals: [cluster.local/ns/default/sa/bookinfo-details] } }]
    to: [{ operation: { methods: [GET] } }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-ratings-get, namespace: default }
spec:
  action: DENY
  rules:
  # HTTP-only field on TCP: a DENY keeps the rest, so every connection from ratings is denied
  - from: [{ source: { principals: [cluster.local/ns/default/sa/bookinfo-ratings] } }]
    to: [{ operation: { methods: [GET] } }]
`);
const principal = (sa: string) => `spiffe://cluster.local/ns/default/sa/bookinfo-${sa}`;
/** Connections reach the explicit-mode inbound listener on its own port (fixtures: 15006). */
const LISTENER_PORT = 15006;

const mysql = mysqldb;

/** The inbound listener for `p`, through the proxy's LDS decode (a NACK fails the test). */
function inboundChains(p: ProxyNode, ...docs: Array<{ file: string; text: string }>): FilterChain[] {
  const out = translate(snapshot(configFrom(...docs), [...bookinfoProxies(), p]), p);
  const inbound = out.listener.find((l) => l.name === 'virtualInbound')!;
  const decoded = decodeResources('listener', [packAny(TypeUrl.listener, inbound.body)]);
  assert.ok(decoded.valid, `the proxy NACKs the inbound listener: ${!decoded.valid && decoded.errors.join('; ')}`);
  return decoded.result[0].model.filterChains;
}

const rbacOf = (chain: FilterChain) => (chain.readFilters ?? []).map((f) => f.config as unknown as RbacFilterConfig);

describe('inbound TCP chain', () => {
  for (const protocol of ['TCP', 'TLS', 'HTTPS']) {
    it(`a ${protocol} port: every chain is tcp_proxy to inbound|3306|| (no HTTP connection manager)`, () => {
      const chains = inboundChains(mysql(protocol));
      assert.deepEqual(chains.map((c) => c.name), ['inbound-mtls', 'inbound-plaintext'], 'PERMISSIVE: mTLS and plaintext');
      for (const c of chains) {
        assert.equal(c.terminal.kind, 'tcp_proxy');
        if (c.terminal.kind === 'tcp_proxy') assert.deepEqual(c.terminal.tcp.cluster, { kind: 'cluster', name: 'inbound|3306||' });
      }
    });
  }

  for (const protocol of ['HTTP', 'HTTP2', 'GRPC']) {
    it(`a ${protocol} port keeps the HTTP connection manager`, () => {
      for (const c of inboundChains(mysql(protocol))) assert.equal(c.terminal.kind, 'http_connection_manager');
    });
  }

  it('the mTLS chain takes the TCP peer exchange (and Istio\'s plain istio) for opaque TCP, h2/http/1.1 for HTTP', () => {
    const [tcpTls] = inboundChains(mysql('TCP'));
    const [httpTls] = inboundChains(mysql('HTTP'));
    assert.ok(tcpTls.transport.kind === 'tls' && httpTls.transport.kind === 'tls');
    if (tcpTls.transport.kind === 'tls' && httpTls.transport.kind === 'tls') {
      assert.deepEqual(tcpTls.transport.context.alpnProtocols, ['weft-peer-exchange', 'istio']);
      assert.deepEqual(httpTls.transport.context.alpnProtocols, ['h2', 'http/1.1']);
    }
  });

  it('no policy: no RBAC filter, every connection reaches the app', () => {
    for (const c of inboundChains(mysql('TCP'))) assert.equal(rbacOf(c).length, 0);
  });

  const cases: Array<{ name: string; principal?: string; want: 'allow' | 'deny' }> = [
    { name: 'the allowed principal', principal: principal('reviews'), want: 'allow' },
    { name: 'a principal allowed only by an HTTP-only ALLOW rule (dropped on TCP)', principal: principal('details'), want: 'deny' },
    { name: 'a principal denied by a DENY rule whose HTTP-only field is dropped', principal: principal('ratings'), want: 'deny' },
    { name: 'a principal no policy names', principal: principal('productpage'), want: 'deny' },
    { name: 'plaintext (no peer certificate)', want: 'deny' },
  ];
  for (const c of cases) {
    it(`network RBAC: ${c.name} → ${c.want}`, () => {
      const [mtls] = inboundChains(mysql('TCP'), POLICIES);
      assert.deepEqual((mtls.readFilters ?? []).map((f) => f.name), ['envoy.filters.network.rbac.deny', 'envoy.filters.network.rbac.allow'], 'DENY before ALLOW');
      assert.equal(decide(rbacOf(mtls), { principal: c.principal, port: LISTENER_PORT }, false), c.want);
    });
  }

  it('an SMI TrafficTarget with a TCPRoute is enforced on the TCP chain (its port required)', () => {
    const smi = yaml('smi.yaml', MYSQL_TRAFFIC_TARGET);
    const [mtls] = inboundChains(mysql('TCP'), smi);
    assert.equal(decide(rbacOf(mtls), { principal: principal('reviews'), port: LISTENER_PORT }, false), 'allow');
    assert.equal(decide(rbacOf(mtls), { principal: principal('ratings'), port: LISTENER_PORT }, false), 'deny');
  });

  it('policy ports name the workload port (3306): it matches the listener port; another port matches no connection', () => {
    const ports = (allow: string) => yaml('ports.yaml', `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ports }
spec:
  rules: [{ to: [{ operation: { ports: ["${allow}"] } }] }]
`);
    const [three306] = inboundChains(mysql('TCP'), ports('3306'));
    assert.equal(decide(rbacOf(three306), { principal: principal('reviews'), port: LISTENER_PORT }, false), 'allow');
    const [other] = inboundChains(mysql('TCP'), ports(String(LISTENER_PORT)));
    assert.equal(decide(rbacOf(other), { principal: principal('reviews'), port: LISTENER_PORT }, false), 'deny', 'the listener port is not a workload port');
  });

  it('a workload without a sidecar identity takes plaintext only, still behind network RBAC', () => {
    const chains = inboundChains(mysql('TCP', false), POLICIES);
    assert.equal(chains.length, 1);
    assert.equal(chains[0].transport.kind, 'raw_buffer');
    assert.equal(decide(rbacOf(chains[0]), { port: LISTENER_PORT }, false), 'deny');
  });
});
