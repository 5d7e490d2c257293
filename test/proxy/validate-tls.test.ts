// Table-driven validation of Envoy's TLS config as the proxy receives it (a real protobuf round trip):
// DownstreamTlsContext on filter chains, UpstreamTlsContext and transport_socket_matches on clusters,
// SDS Secrets, server_names / transport_protocol matching. What is not implemented is a NACK whose
// message names the field path.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HCM_TYPE_URL, packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { validateResource, type ProxyXdsType } from '../../src/proxy/xds/decode.js';
import type { Cluster, Listener, SecretResource } from '../../src/proxy/xds/model.js';
import { createTestCa, type Leaf, type TestCa } from '../helpers/certs.js';
import { routerFilter } from './helpers/resources.js';
import { caSecret, certSecret, downstreamTls, DOWNSTREAM_TLS, sds, struct, TLS_INSPECTOR, upstreamTls, UPSTREAM_TLS } from './helpers/tls-resources.js';

function roundTrip<K extends ProxyXdsType>(type: K, obj: object) {
  return validateResource<K>(type, unpackAny(packAny(TypeUrl[type], obj)));
}

const hcm = { name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM_TYPE_URL, stat_prefix: 's', rds: { route_config_name: 'r', config_source: { ads: {} } }, http_filters: [routerFilter] } };
const listener = (chains: object[], extra: object = {}) => ({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 15006 } }, filter_chains: chains, ...extra });
const cluster = (extra: object) => ({ name: 'c', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, ...extra });
const tlsSocket = (type: string, body: object) => ({ name: 'envoy.transport_sockets.tls', typed_config: { '@type': type, ...body } });

let ca: TestCa;
let leaf: Leaf;
before(() => {
  ca = createTestCa();
  leaf = ca.leaf('reviews');
});
after(() => ca.dispose());

describe('TLS config validation', () => {
  it('a DownstreamTlsContext with SDS secrets and SAN matchers becomes the typed TLS transport', () => {
    const r = roundTrip('listener', listener([{ filter_chain_match: { transport_protocol: 'tls', server_names: ['Reviews.default'] }, transport_socket: downstreamTls({ cert: 'default', ca: 'ROOTCA', from: 'agent', sans: ['spiffe://cluster.local/ns/default/sa/productpage'], alpn: ['h2', 'http/1.1'] }), filters: [hcm] }], { listener_filters: [TLS_INSPECTOR] }));
    assert.ok(r.valid, !r.valid ? r.errors.join('; ') : '');
    const chain = (r.result as Listener).filterChains[0];
    assert.deepEqual(chain.match.serverNames, ['reviews.default']);
    assert.equal(chain.match.transportProtocol, 'tls');
    assert.equal(chain.transport.kind, 'tls');
    if (chain.transport.kind !== 'tls') return;
    assert.equal(chain.transport.requireClientCertificate, true);
    assert.deepEqual(chain.transport.context.certificate, { kind: 'sds', name: 'default', provider: 'agent' });
    assert.deepEqual(chain.transport.context.validation?.trustedCa, { kind: 'sds', name: 'ROOTCA', provider: 'agent' });
    assert.deepEqual(chain.transport.context.validation?.subjectAltNames, [{ type: 'URI', matcher: { kind: 'exact', value: 'spiffe://cluster.local/ns/default/sa/productpage', ignoreCase: false } }]);
    assert.deepEqual(chain.transport.context.alpnProtocols, ['h2', 'http/1.1']);
  });

  it('an UpstreamTlsContext with inline certificates, SNI, tls_params and transport_socket_matches (Istio auto-mTLS)', () => {
    const inline = tlsSocket(UPSTREAM_TLS, {
      sni: 'outbound_.9080_._.reviews.default.svc.cluster.local',
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { inline_string: leaf.chain }, private_key: { inline_bytes: Buffer.from(leaf.key).toString('base64') } }],
        validation_context: { trusted_ca: { inline_string: ca.root }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://cluster.local/ns/default/' } }] },
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3', cipher_suites: ['ECDHE-ECDSA-AES128-GCM-SHA256'], ecdh_curves: ['P-256'] },
      },
    });
    const r = roundTrip('cluster', cluster({ transport_socket_matches: [{ name: 'tlsMode-istio', match: struct({ tlsMode: 'istio' }), transport_socket: inline }, { name: 'tlsMode-disabled', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } } }] }));
    assert.ok(r.valid, !r.valid ? r.errors.join('; ') : '');
    const c = r.result as Cluster;
    assert.equal(c.transport.kind, 'plaintext');
    assert.deepEqual(c.transportMatches.map((m) => [m.name, m.match, m.transport.kind]), [
      ['tlsMode-istio', { tlsMode: 'istio' }, 'tls'],
      ['tlsMode-disabled', {}, 'plaintext'],
    ]);
    const t = c.transportMatches[0].transport;
    assert.ok(t.kind === 'tls');
    assert.equal(t.sni, 'outbound_.9080_._.reviews.default.svc.cluster.local');
    assert.equal(t.context.minVersion, 'TLSv1.2');
    assert.equal(t.context.ciphers, 'ECDHE-ECDSA-AES128-GCM-SHA256');
    assert.ok(t.context.certificate?.kind === 'inline_certificate' && t.context.certificate.privateKey === leaf.key, 'inline_bytes are decoded');
  });

  it('endpoint metadata for transport_socket_matches is read from filter_metadata["envoy.transport_socket_match"]', () => {
    const r = roundTrip('endpoint', {
      cluster_name: 'c',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 9080 } } }, metadata: { filter_metadata: { 'envoy.transport_socket_match': { fields: { tlsMode: { stringValue: 'istio' } } } } } }] }],
    });
    assert.ok(r.valid, !r.valid ? r.errors.join('; ') : '');
    assert.deepEqual(r.result.endpoints[0].transportSocketMatch, { tlsMode: 'istio' });
  });

  it('SDS secrets: a certificate and a trust bundle', () => {
    const cert = roundTrip('secret', certSecret('default', leaf));
    assert.ok(cert.valid);
    assert.deepEqual((cert.result as SecretResource).secret, { kind: 'tls_certificate', certificateChain: leaf.chain, privateKey: leaf.key });
    const bundle = roundTrip('secret', caSecret('ROOTCA', ca.root));
    assert.ok(bundle.valid);
    assert.deepEqual((bundle.result as SecretResource).secret, { kind: 'validation_context', trustedCa: ca.root });
  });

  const down = (common: object, extra: object = {}) => listener([{ transport_socket: tlsSocket(DOWNSTREAM_TLS, { common_tls_context: { tls_certificate_sds_secret_configs: [sds('default')], ...common }, ...extra }), filters: [hcm] }]);
  const bad: { name: string; type: ProxyXdsType; input: () => object; error: RegExp }[] = [
    { name: 'another transport socket', type: 'listener', input: () => listener([{ transport_socket: tlsSocket(UPSTREAM_TLS, {}), filters: [hcm] }]), error: /filter_chains\[0\]\.transport_socket\.typed_config: unsupported transport socket type\.googleapis\.com\/envoy\.extensions\.transport_sockets\.tls\.v3\.UpstreamTlsContext "envoy\.transport_sockets\.tls"/ },
    { name: 'session ticket keys', type: 'listener', input: () => down({}, { session_ticket_keys: { keys: [{ inline_string: 'x' }] } }), error: /filter_chains\[0\]\.transport_socket\.typed_config\.session_ticket_keys: not supported/ },
    { name: 'a server without a certificate', type: 'listener', input: () => listener([{ transport_socket: tlsSocket(DOWNSTREAM_TLS, { common_tls_context: {} }), filters: [hcm] }]), error: /typed_config\.common_tls_context: a server needs a certificate/ },
    { name: 'client certificates required without a trust bundle', type: 'listener', input: () => down({}, { require_client_certificate: { value: true } }), error: /typed_config\.require_client_certificate: needs a validation context with a trusted CA/ },
    { name: 'SPKI pinning', type: 'listener', input: () => down({ validation_context: { trusted_ca: { inline_string: ca.root }, verify_certificate_spki: ['abc'] } }), error: /common_tls_context\.validation_context\.verify_certificate_spki: not supported/ },
    { name: 'regex SAN matcher', type: 'listener', input: () => down({ validation_context: { trusted_ca: { inline_string: ca.root }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { safe_regex: { regex: 'spiffe://.*' } } }] } }), error: /match_typed_subject_alt_names\[0\]\.matcher: regex is not supported for SANs/ },
    { name: 'email SAN type', type: 'listener', input: () => down({ validation_context: { trusted_ca: { inline_string: ca.root }, match_typed_subject_alt_names: [{ san_type: 'EMAIL', matcher: { exact: 'a@b' } }] } }), error: /match_typed_subject_alt_names\[0\]\.san_type: EMAIL is not supported/ },
    { name: 'TLS 1.0', type: 'listener', input: () => down({ tls_params: { tls_minimum_protocol_version: 'TLSv1_0' } }), error: /common_tls_context\.tls_params\.tls_minimum_protocol_version: TLSv1_0 is not supported/ },
    { name: 'SDS from a file', type: 'listener', input: () => listener([{ transport_socket: tlsSocket(DOWNSTREAM_TLS, { common_tls_context: { tls_certificate_sds_secret_configs: [{ name: 'x', sds_config: { path_config_source: { path: '/x' } } }] } }), filters: [hcm] }]), error: /tls_certificate_sds_secret_configs\[0\]\.sds_config: only ads and the "sds-grpc" cluster are supported/ },
    { name: 'the agent serves default and ROOTCA only', type: 'listener', input: () => listener([{ transport_socket: tlsSocket(DOWNSTREAM_TLS, { common_tls_context: { tls_certificate_sds_secret_configs: [sds('other', 'agent')] } }), filters: [hcm] }]), error: /tls_certificate_sds_secret_configs\[0\]\.name: the identity agent \(sds-grpc\) serves only "default" and "ROOTCA"/ },
    { name: 'certificate provider instances', type: 'cluster', input: () => cluster({ transport_socket: tlsSocket(UPSTREAM_TLS, { common_tls_context: { tls_certificate_provider_instance: { instance_name: 'x' } } }) }), error: /transport_socket\.typed_config\.common_tls_context\.tls_certificate_provider_instance: not supported/ },
    { name: 'inline garbage instead of a certificate', type: 'cluster', input: () => cluster({ transport_socket: tlsSocket(UPSTREAM_TLS, { common_tls_context: { validation_context: { trusted_ca: { inline_string: 'not a pem' } } } }) }), error: /common_tls_context\.validation_context\.trusted_ca: holds no PEM certificate/ },
    { name: 'a file that is not there', type: 'cluster', input: () => cluster({ transport_socket: tlsSocket(UPSTREAM_TLS, { common_tls_context: { validation_context: { trusted_ca: { filename: '/nonexistent/root.pem' } } } }) }), error: /trusted_ca\.filename: cannot read \/nonexistent\/root\.pem: ENOENT/ },
    { name: 'renegotiation', type: 'cluster', input: () => cluster({ transport_socket: upstreamTls({}), transport_socket_matches: [{ name: 'm', match: { tlsMode: 'istio' }, transport_socket: tlsSocket(UPSTREAM_TLS, { allow_renegotiation: true }) }] }), error: /transport_socket_matches\[0\]\.transport_socket\.typed_config\.allow_renegotiation: not supported/ },
    { name: 'a server name with an inner wildcard', type: 'listener', input: () => listener([{ filter_chain_match: { server_names: ['a.*.com'] }, filters: [hcm] }], { listener_filters: [TLS_INSPECTOR] }), error: /filter_chain_match\.server_names\[0\]: "a\.\*\.com" is not a server name/ },
    { name: 'server_names without the TLS inspector', type: 'listener', input: () => listener([{ filter_chain_match: { server_names: ['a.com'] }, filters: [hcm] }]), error: /listener_filters: a filter chain matches server_names or transport_protocol "tls", which needs the tls_inspector listener filter/ },
    { name: 'a secret with session ticket keys', type: 'secret', input: () => ({ name: 's', session_ticket_keys: { keys: [{ inline_string: 'k' }] } }), error: /^secret s: session_ticket_keys: not supported/ },
    { name: 'a secret with neither kind', type: 'secret', input: () => ({ name: 's' }), error: /^secret s: a secret needs tls_certificate or validation_context/ },
    { name: 'a secret whose key is not a key', type: 'secret', input: () => ({ name: 's', tls_certificate: { certificate_chain: { inline_string: leaf.chain }, private_key: { inline_string: 'secret-material' } } }), error: /^secret s: tls_certificate\.private_key: is not a PEM private key$/ },
    { name: 'SAN matchers inside an SDS trust bundle', type: 'secret', input: () => ({ name: 's', validation_context: { trusted_ca: { inline_string: ca.root }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { exact: 'x' } }] } }), error: /validation_context\.match_typed_subject_alt_names: not supported in an SDS secret/ },
  ];
  for (const c of bad) {
    it(`NACK: ${c.name}`, () => {
      const r = roundTrip(c.type, c.input());
      assert.equal(r.valid, false);
      if (r.valid) return;
      assert.ok(r.errors.some((e) => c.error.test(e)), `errors: ${r.errors.join(' | ')}`);
      // A NACK never carries key material.
      assert.ok(!r.errors.join(' ').includes('PRIVATE KEY'));
    });
  }
});
