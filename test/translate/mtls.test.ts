// Automatic mTLS and PeerAuthentication through the real translation: proxies holding a workload
// certificate (label security.istio.io/tlsMode=istio) get tlsMode metadata in EDS, clusters to their
// services get transport_socket_matches that check their SPIFFE IDs, and their inbound listener takes
// mTLS as PeerAuthentication says; proxies without an identity stay plaintext on both sides.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toStruct } from '../../src/api/envoy.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { translateFor } from '../../src/controlplane/translate/index.js';
import { bookinfoProxies, configFrom, proxy, snapshot, yaml } from './fixtures.js';

const withIdentity = (p: ProxyNode): ProxyNode => ({ ...p, labels: { ...p.labels, 'security.istio.io/tlsMode': 'istio' } });
const meshed = () => bookinfoProxies().map(withIdentity);

const peerAuth = (name: string, namespace: string, spec: string) =>
  yaml(`${name}.yaml`, `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${spec}`);

type Any = Record<string, any>;
const find = (list: { name: string; body: Any }[], name: string): Any => {
  const r = list.find((x) => x.name === name);
  assert.ok(r, `${name} among ${list.map((x) => x.name).join(', ')}`);
  return r.body;
};
const out = (config = configFrom(), proxies = meshed(), client = proxies[0]) => translateFor(snapshot(config, proxies), client, 'sidecar-sotw');

describe('automatic mTLS', () => {
  it('EDS marks the endpoints whose sidecar holds an identity; CDS sends them mTLS checking the SPIFFE IDs', () => {
    const r = out();
    const cla = find(r.endpoint, 'outbound|9080||reviews.default.svc.cluster.local');
    for (const lb of cla.endpoints.flatMap((g: Any) => g.lb_endpoints)) assert.deepEqual(lb.metadata.filter_metadata['envoy.transport_socket_match'], toStruct({ tlsMode: 'istio' }));
    const cluster = find(r.cluster, 'outbound|9080||reviews.default.svc.cluster.local');
    const [tls, plain] = cluster.transport_socket_matches;
    assert.deepEqual(tls.match, toStruct({ tlsMode: 'istio' }));
    assert.deepEqual(plain.match, {});
    const common = tls.transport_socket.typed_config.common_tls_context;
    assert.deepEqual(common.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [
      { san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' } },
    ]);
    assert.deepEqual(common.alpn_protocols, ['http/1.1']);
    assert.equal(tls.transport_socket.typed_config.sni, 'outbound_.9080_._.reviews.default.svc.cluster.local');
  });

  it('without identities nothing changes: no metadata, no transport sockets, plaintext inbound', () => {
    const r = out(configFrom(), bookinfoProxies());
    const cla = find(r.endpoint, 'outbound|9080||reviews.default.svc.cluster.local');
    // Only the workload (telemetry's metadata): no tlsMode.
    for (const lb of cla.endpoints.flatMap((g: Any) => g.lb_endpoints)) assert.deepEqual(Object.keys(lb.metadata.filter_metadata), ['istio']);
    const cluster = find(r.cluster, 'outbound|9080||reviews.default.svc.cluster.local');
    assert.equal(cluster.transport_socket_matches, undefined);
    assert.equal(cluster.transport_socket, undefined);
    const inbound = find(r.listener, 'virtualInbound');
    assert.equal(inbound.filter_chains.length, 1);
    assert.equal(inbound.listener_filters, undefined);
  });

  it('only the meshed endpoints of a mixed service are marked; the SANs are those of the meshed ones', () => {
    const proxies = [...meshed().filter((p) => p.service !== 'ratings'), proxy('ratings', 'v1', 7), withIdentity(proxy('ratings', 'v2', 8, { serviceAccount: 'ratings-v2' }))];
    const r = out(configFrom(), proxies);
    const cla = find(r.endpoint, 'outbound|9080||ratings.default.svc.cluster.local');
    const marks = cla.endpoints.flatMap((g: Any) => g.lb_endpoints).map((lb: Any) => [lb.endpoint.address.socket_address.address, lb.metadata.filter_metadata['envoy.transport_socket_match'] !== undefined]);
    assert.deepEqual(marks, [['127.0.0.7', false], ['127.0.0.8', true]]);
    const cluster = find(r.cluster, 'outbound|9080||ratings.default.svc.cluster.local');
    const sans = cluster.transport_socket_matches[0].transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names;
    assert.deepEqual(sans.map((m: Any) => m.matcher.exact), ['spiffe://cluster.local/ns/default/sa/ratings-v2']);
  });

  it('a DestinationRule tls mode replaces auto mTLS (DISABLE: plaintext)', () => {
    const dr = yaml('dr.yaml', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy: { tls: { mode: DISABLE } }
`);
    const cluster = find(out(configFrom(dr)).cluster, 'outbound|9080||reviews.default.svc.cluster.local');
    assert.equal(cluster.transport_socket_matches, undefined);
    assert.equal(cluster.transport_socket, undefined);
  });
});

describe('PeerAuthentication on the inbound listener', () => {
  const inbound = (config = configFrom(), client = meshed()[2]) => find(out(config, meshed(), client).listener, 'virtualInbound');

  it('PERMISSIVE by default: the TLS inspector tells mTLS from plaintext', () => {
    const l = inbound();
    assert.deepEqual(l.listener_filters.map((f: Any) => f.name), ['envoy.filters.listener.tls_inspector']);
    assert.deepEqual(l.filter_chains.map((c: Any) => c.filter_chain_match), [{ transport_protocol: 'tls' }, { transport_protocol: 'raw_buffer' }]);
    const ctx = l.filter_chains[0].transport_socket.typed_config;
    assert.deepEqual(ctx.require_client_certificate, { value: true });
    assert.deepEqual(ctx.common_tls_context.alpn_protocols, ['h2', 'http/1.1']);
  });

  it('STRICT mesh-wide: only the TLS chain (plaintext matches nothing and is closed)', () => {
    const l = inbound(configFrom(peerAuth('default', 'istio-system', '  mtls: { mode: STRICT }\n')));
    assert.deepEqual(l.filter_chains.map((c: Any) => c.filter_chain_match), [{ transport_protocol: 'tls' }]);
  });

  it('DISABLE for one workload: its inbound is plaintext and clients stop sending it mTLS', () => {
    const config = configFrom(
      peerAuth('default', 'istio-system', '  mtls: { mode: STRICT }\n'),
      peerAuth('reviews-off', 'default', '  selector: { matchLabels: { app: reviews } }\n  mtls: { mode: DISABLE }\n'),
    );
    const reviewsV1 = meshed()[2];
    const l = inbound(config, reviewsV1);
    assert.equal(l.filter_chains.length, 1);
    assert.equal(l.filter_chains[0].transport_socket, undefined);
    assert.equal(l.listener_filters, undefined);
    const r = out(config);
    for (const lb of find(r.endpoint, 'outbound|9080||reviews.default.svc.cluster.local').endpoints.flatMap((g: Any) => g.lb_endpoints)) assert.equal(lb.metadata.filter_metadata['envoy.transport_socket_match'], undefined);
    // ratings keeps STRICT: still marked.
    for (const lb of find(r.endpoint, 'outbound|9080||ratings.default.svc.cluster.local').endpoints.flatMap((g: Any) => g.lb_endpoints)) assert.ok(lb.metadata.filter_metadata['envoy.transport_socket_match']);
    // And ratings' own listener is STRICT.
    assert.deepEqual(inbound(config, meshed()[5]).filter_chains.map((c: Any) => c.filter_chain_match), [{ transport_protocol: 'tls' }]);
  });

  it('portLevelMtls: the app port (Istio targetPort) picks the mode', () => {
    const config = configFrom(
      peerAuth('default', 'istio-system', '  mtls: { mode: STRICT }\n'),
      peerAuth('reviews-port', 'default', "  selector: { matchLabels: { app: reviews } }\n  portLevelMtls:\n    '9080': { mode: PERMISSIVE }\n"),
    );
    assert.equal(inbound(config).filter_chains.length, 2);
  });
});
