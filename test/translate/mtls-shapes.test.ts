// The transport sockets of mTLS: each DestinationRule TLS mode and auto mTLS give Envoy's fields,
// and each PeerAuthentication mode gives its inbound filter chains. The encoder checks the shapes
// against Envoy's protos (an unknown field throws).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packAny, toStruct, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { clusterTlsFields, SYSTEM_ROOTS, type ClusterTlsInput } from '../../src/controlplane/translate/cluster-tls.js';
import { inboundChains } from '../../src/controlplane/translate/mtls.js';

const base: ClusterTlsInput = {
  hostname: 'reviews.default.svc.cluster.local',
  port: 9080,
  subset: 'v1',
  external: false,
  serviceAccounts: ['default/reviews', 'default/bookinfo'],
  trustDomain: 'cluster.local',
  alpn: ['http/1.1'],
  tls: undefined,
};

const encodeCluster = (fields: Record<string, unknown>) =>
  packAny(TypeUrl.cluster, { name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, ...fields });

test('auto mTLS: tlsMode istio endpoints get ISTIO_MUTUAL with the service accounts as SPIFFE SANs, the rest plaintext', () => {
  const f = clusterTlsFields(base) as { transport_socket_matches: Array<Record<string, any>> };
  assert.equal(f.transport_socket_matches.length, 2);
  const [tls, plain] = f.transport_socket_matches;
  assert.deepEqual(tls.match, toStruct({ tlsMode: 'istio' }));
  assert.deepEqual(plain.match, {});
  assert.equal(plain.transport_socket.name, 'envoy.transport_sockets.raw_buffer');
  const ctx = tls.transport_socket.typed_config;
  assert.equal(ctx.sni, 'outbound_.9080_.v1_.reviews.default.svc.cluster.local');
  assert.deepEqual(
    ctx.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names.map((m: any) => m.matcher.exact),
    ['spiffe://cluster.local/ns/default/sa/bookinfo', 'spiffe://cluster.local/ns/default/sa/reviews'],
  );
  assert.equal(ctx.common_tls_context.tls_certificate_sds_secret_configs[0].name, 'default');
  assert.equal(ctx.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, 'ROOTCA');
  assert.deepEqual(ctx.common_tls_context.alpn_protocols, ['http/1.1']);
  // The match is a Struct: it must survive the encoding (a plain object would be dropped silently).
  const decoded = unpackAny(encodeCluster(f)) as { transport_socket_matches: Array<{ match: unknown; transport_socket: { name: string } }> };
  assert.deepEqual(decoded.transport_socket_matches[0].match, { fields: { tlsMode: { stringValue: 'istio' } } });
  assert.equal(decoded.transport_socket_matches[1].transport_socket.name, 'envoy.transport_sockets.raw_buffer');
});

test('no auto mTLS to services outside the mesh, and none with tls.mode DISABLE', () => {
  assert.deepEqual(clusterTlsFields({ ...base, external: true }), {});
  assert.deepEqual(clusterTlsFields({ ...base, tls: { mode: 'DISABLE' } }), {});
});

test('ISTIO_MUTUAL always; subjectAltNames and sni from the rule replace the derived ones', () => {
  const f = clusterTlsFields({ ...base, tls: { mode: 'ISTIO_MUTUAL', sni: 'x.example', subjectAltNames: ['spiffe://td/ns/a/sa/b'] } }) as Record<string, any>;
  const ctx = f.transport_socket.typed_config;
  assert.equal(ctx.sni, 'x.example');
  assert.deepEqual(ctx.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names, [{ san_type: 'URI', matcher: { exact: 'spiffe://td/ns/a/sa/b' } }]);
  assert.ok(encodeCluster(f).value.length > 0);
});

test('SIMPLE verifies against the system roots by default, MUTUAL sends the client certificate, credentialName goes over SDS', () => {
  const simple = clusterTlsFields({ ...base, tls: { mode: 'SIMPLE', sni: 'api.example.com' } }) as Record<string, any>;
  assert.equal(simple.transport_socket.typed_config.common_tls_context.validation_context.trusted_ca.filename, SYSTEM_ROOTS);
  assert.equal(simple.transport_socket.typed_config.sni, 'api.example.com');
  const skip = clusterTlsFields({ ...base, tls: { mode: 'SIMPLE', insecureSkipVerify: true } }) as Record<string, any>;
  assert.equal(skip.transport_socket.typed_config.common_tls_context.validation_context, undefined);
  const mutual = clusterTlsFields({ ...base, tls: { mode: 'MUTUAL', clientCertificate: '/c.pem', privateKey: '/k.pem', caCertificates: '/ca.pem', subjectAltNames: ['api.example.com'] } }) as Record<string, any>;
  const common = mutual.transport_socket.typed_config.common_tls_context;
  assert.deepEqual(common.tls_certificates, [{ certificate_chain: { filename: '/c.pem' }, private_key: { filename: '/k.pem' } }]);
  assert.equal(common.validation_context.trusted_ca.filename, '/ca.pem');
  assert.equal(common.validation_context.match_typed_subject_alt_names.length, 2);
  const cred = clusterTlsFields({ ...base, tls: { mode: 'MUTUAL', credentialName: 'client-cred' } }) as Record<string, any>;
  const cc = cred.transport_socket.typed_config.common_tls_context;
  assert.equal(cc.tls_certificate_sds_secret_configs[0].name, 'client-cred');
  assert.equal(cc.combined_validation_context.validation_context_sds_secret_config.name, 'client-cred-cacert');
  for (const f of [simple, skip, mutual, cred]) assert.ok(encodeCluster(f).value.length > 0);
});

test('inbound chains per PeerAuthentication mode', () => {
  const filters = [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 's', cluster: 'c' } }];
  const listener = (x: ReturnType<typeof inboundChains>) => packAny(TypeUrl.listener, { name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 1 } }, ...x });
  const strict = inboundChains('STRICT', filters, ['h2', 'http/1.1']);
  assert.deepEqual(strict.filter_chains.map((c) => c.filter_chain_match), [{ transport_protocol: 'tls' }]);
  assert.equal((strict.filter_chains[0].transport_socket as any).typed_config.require_client_certificate.value, true);
  assert.equal(strict.listener_filters.length, 1);
  const permissive = inboundChains('PERMISSIVE', filters, ['h2', 'http/1.1']);
  assert.deepEqual(permissive.filter_chains.map((c) => c.filter_chain_match), [{ transport_protocol: 'tls' }, { transport_protocol: 'raw_buffer' }]);
  const disabled = inboundChains('DISABLE', filters, []);
  assert.deepEqual(disabled.listener_filters, []);
  assert.equal(disabled.filter_chains.length, 1);
  assert.equal(disabled.filter_chains[0].transport_socket, undefined);
  for (const x of [strict, permissive, disabled]) assert.ok(listener(x).value.length > 0);
});
