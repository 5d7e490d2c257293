// envoy.transport_sockets.tls: DownstreamTlsContext (a filter chain's transport_socket) and
// UpstreamTlsContext (a cluster's transport_socket and transport_socket_matches) → the typed
// CommonTlsContext. Every field this proxy does not implement is a problem with its path (NACK):
// a TLS setting silently ignored would weaken what the operator asked for.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { WORKLOAD_SECRET, ROOT_CA_SECRET } from '../tls/secret-store.js';
import type { CommonTlsContext, DownstreamTransport, SanMatcher, SecretSource, TlsVersion, TransportSocketMatch, UpstreamTransport } from './model.js';
import { anyTypeUrl, has, join, list, obj, Problems, str, stringMatcher, wrapped, type Raw } from './validate-common.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const DOWNSTREAM_TLS_CONTEXT_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS_CONTEXT_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RAW_BUFFER_NAME = 'envoy.transport_sockets.raw_buffer';
const RAW_BUFFER_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
/** Istio's name for the cluster that reaches the local SDS agent (pilot-agent); here: the identity agent. */
import { AGENT_SDS_CLUSTER } from '../../api/mesh-names.js';
export { AGENT_SDS_CLUSTER };
/** The metadata key Envoy reads an endpoint's transport_socket_matches labels from. */
export const TRANSPORT_SOCKET_MATCH_KEY = 'envoy.transport_socket_match';

const tlsVersions: Record<string, TlsVersion | undefined> = { TLS_AUTO: undefined, TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' };

/** A filter chain's transport_socket. */
export function downstreamTransport(raw: Raw, path: string, p: Problems): DownstreamTransport {
  const cfg = transportSocketConfig(raw, path, p, DOWNSTREAM_TLS_CONTEXT_TYPE_URL);
  if (!cfg) return { kind: 'raw_buffer' };
  const at = join(path, 'typed_config');
  for (const k of ['session_ticket_keys', 'session_ticket_keys_sds_secret_config', 'session_timeout']) if (has(cfg, k)) p.add(join(at, k), 'not supported');
  for (const k of ['require_sni', 'full_scan_certs_on_sni_mismatch', 'prefer_client_ciphers']) if (isTrue(cfg[k])) p.add(join(at, k), 'not supported');
  if (has(cfg, 'ocsp_staple_policy') && str(cfg.ocsp_staple_policy) !== 'LENIENT_STAPLING') p.add(join(at, 'ocsp_staple_policy'), 'only LENIENT_STAPLING (no stapling) is supported');
  const context = commonTlsContext(obj(cfg.common_tls_context), join(at, 'common_tls_context'), p);
  if (!context.certificate) p.add(join(at, 'common_tls_context'), 'a server needs a certificate (tls_certificates or tls_certificate_sds_secret_configs)');
  const requireClientCertificate = wrapped(cfg.require_client_certificate, false);
  if (requireClientCertificate && !context.validation?.trustedCa) p.add(join(at, 'require_client_certificate'), 'needs a validation context with a trusted CA');
  return { kind: 'tls', context, requireClientCertificate };
}

/** A cluster's transport_socket (undefined: plaintext). */
export function upstreamTransport(raw: Raw, path: string, p: Problems): UpstreamTransport {
  const cfg = transportSocketConfig(raw, path, p, UPSTREAM_TLS_CONTEXT_TYPE_URL);
  if (!cfg) return { kind: 'plaintext' };
  const at = join(path, 'typed_config');
  for (const k of ['allow_renegotiation', 'auto_host_sni', 'auto_sni_san_validation', 'enforce_rsa_key_usage']) if (isTrue(cfg[k])) p.add(join(at, k), 'not supported');
  // max_session_keys only tunes resumption; any value is harmless to accept.
  return { kind: 'tls', context: commonTlsContext(obj(cfg.common_tls_context), join(at, 'common_tls_context'), p), sni: str(cfg.sni) };
}

/** Cluster.transport_socket_matches, in order (Envoy takes the first that matches). */
export function transportSocketMatches(raw: unknown, path: string, p: Problems): TransportSocketMatch[] {
  return list(raw).map((m, i) => {
    const o = obj(m);
    const at = `${path}[${i}]`;
    const match = structStrings(o.match, join(at, 'match'), p);
    if (!str(o.name)) p.add(join(at, 'name'), 'is required');
    return { name: str(o.name), match, transport: upstreamTransport(obj(o.transport_socket), join(at, 'transport_socket'), p) };
  });
}

/** A google.protobuf.Struct of string values (decoded: {fields: {k: {stringValue}}}) → a plain map. */
export function structStrings(v: unknown, path: string, p: Problems): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(obj(obj(v).fields))) {
    const s = obj(value).stringValue ?? obj(value).string_value;
    if (typeof s === 'string') out[k] = s;
    else p.add(join(path, k), 'only string values are supported');
  }
  return out;
}

/** Secret names a transport needs over ADS (SDS), for subscriptions. */
export function sdsNames(ctx: CommonTlsContext | undefined): { ads: string[]; agent: string[] } {
  const out = { ads: [] as string[], agent: [] as string[] };
  for (const s of [ctx?.certificate, ctx?.validation?.trustedCa]) if (s?.kind === 'sds') out[s.provider].push(s.name);
  return out;
}

/** The typed_config of a transport socket when it is TLS; undefined for raw_buffer (or none). */
function transportSocketConfig(raw: Raw, path: string, p: Problems, want: string): Raw | undefined {
  if (Object.keys(raw).length === 0) return undefined;
  const type = anyTypeUrl(raw.typed_config);
  // raw_buffer by type, or by name alone (its empty config message need not be sent or known).
  if (type === RAW_BUFFER_TYPE_URL || (!type && str(raw.name) === RAW_BUFFER_NAME)) return undefined;
  if (type !== want) {
    p.add(join(path, 'typed_config'), `unsupported transport socket ${type || '(no typed_config)'} "${str(raw.name)}" (supported: ${want}, raw_buffer)`);
    return undefined;
  }
  return obj(raw.typed_config);
}

function commonTlsContext(raw: Raw, path: string, p: Problems): CommonTlsContext {
  for (const k of [
    'tls_certificate_provider_instance',
    'tls_certificate_certificate_provider',
    'tls_certificate_certificate_provider_instance',
    'validation_context_certificate_provider',
    'validation_context_certificate_provider_instance',
    'custom_handshaker',
    'key_log',
    'custom_tls_certificate_selector',
    'tls_certificate_selector',
  ]) {
    if (has(raw, k)) p.add(join(path, k), 'not supported');
  }
  const certs = [
    ...list(raw.tls_certificates).map((c, i) => inlineCertificate(obj(c), `${join(path, 'tls_certificates')}[${i}]`, p)),
    ...list(raw.tls_certificate_sds_secret_configs).map((c, i) => sdsSecret(obj(c), `${join(path, 'tls_certificate_sds_secret_configs')}[${i}]`, p)),
  ];
  if (certs.length > 1) p.add(path, 'at most one certificate (tls_certificates or tls_certificate_sds_secret_configs) is supported');
  const validation = validationOf(raw, path, p);
  const params = obj(raw.tls_params);
  const pp = join(path, 'tls_params');
  for (const k of ['signature_algorithms', 'compliance_policies']) if (list(params[k]).length > 0) p.add(join(pp, k), 'not supported');
  const version = (field: string) => {
    const name = str(params[field]) || 'TLS_AUTO';
    if (!(name in tlsVersions)) p.add(join(pp, field), `${name} is not supported (TLS_AUTO, TLSv1_2, TLSv1_3)`);
    return tlsVersions[name];
  };
  const minVersion = version('tls_minimum_protocol_version');
  const maxVersion = version('tls_maximum_protocol_version');
  if (minVersion === 'TLSv1.3' && maxVersion === 'TLSv1.2') p.add(pp, 'tls_minimum_protocol_version is above tls_maximum_protocol_version');
  const alpnProtocols = list(raw.alpn_protocols).map((a) => str(a));
  alpnProtocols.forEach((a, i) => {
    if (!a || a.length > 255) p.add(`${join(path, 'alpn_protocols')}[${i}]`, 'must be 1 to 255 characters');
  });
  return {
    certificate: certs[0],
    validation,
    alpnProtocols,
    minVersion,
    maxVersion,
    ciphers: list(params.cipher_suites).map((c) => str(c)).join(':'),
    ecdhCurves: list(params.ecdh_curves).map((c) => str(c)).join(':'),
  };
}

function validationOf(raw: Raw, path: string, p: Problems): CommonTlsContext['validation'] {
  const direct = has(raw, 'validation_context');
  const sds = has(raw, 'validation_context_sds_secret_config');
  const combined = has(raw, 'combined_validation_context');
  if (Number(direct) + Number(sds) + Number(combined) > 1) p.add(path, 'validation_context, validation_context_sds_secret_config and combined_validation_context are exclusive');
  if (direct) {
    const at = join(path, 'validation_context');
    const v = certificateValidationContext(obj(raw.validation_context), at, p);
    return { trustedCa: v.trustedCa, subjectAltNames: v.subjectAltNames };
  }
  if (sds) return { trustedCa: sdsSecret(obj(raw.validation_context_sds_secret_config), join(path, 'validation_context_sds_secret_config'), p), subjectAltNames: [] };
  if (!combined) return undefined;
  const c = obj(raw.combined_validation_context);
  const at = join(path, 'combined_validation_context');
  for (const k of ['validation_context_certificate_provider', 'validation_context_certificate_provider_instance']) if (has(c, k)) p.add(join(at, k), 'not supported');
  const dflt = certificateValidationContext(obj(c.default_validation_context), join(at, 'default_validation_context'), p);
  const bundle = has(c, 'validation_context_sds_secret_config') ? sdsSecret(obj(c.validation_context_sds_secret_config), join(at, 'validation_context_sds_secret_config'), p) : undefined;
  if (bundle && dflt.trustedCa) p.add(join(at, 'default_validation_context.trusted_ca'), 'with validation_context_sds_secret_config, the trust bundle comes from SDS');
  return { trustedCa: bundle ?? dflt.trustedCa, subjectAltNames: dflt.subjectAltNames };
}

/** CertificateValidationContext: trusted_ca and match_typed_subject_alt_names. */
export function certificateValidationContext(raw: Raw, path: string, p: Problems): { trustedCa: SecretSource | undefined; subjectAltNames: SanMatcher[] } {
  for (const k of [
    'ca_certificate_provider_instance',
    'watched_directory',
    'verify_certificate_spki',
    'verify_certificate_hash',
    'match_subject_alt_names',
    'crl',
    'custom_validator_config',
    'system_root_certs',
  ]) {
    if (has(raw, k) && !(Array.isArray(raw[k]) && (raw[k] as unknown[]).length === 0)) p.add(join(path, k), 'not supported');
  }
  for (const k of ['require_signed_certificate_timestamp', 'allow_expired_certificate', 'only_verify_leaf_cert_crl']) if (isTrue(raw[k])) p.add(join(path, k), 'not supported');
  if (has(raw, 'trust_chain_verification') && str(raw.trust_chain_verification) !== 'VERIFY_TRUST_CHAIN') p.add(join(path, 'trust_chain_verification'), 'only VERIFY_TRUST_CHAIN is supported');
  if (has(raw, 'max_verify_depth')) p.add(join(path, 'max_verify_depth'), 'not supported');
  let trustedCa: SecretSource | undefined;
  if (has(raw, 'trusted_ca')) {
    const pem = dataSource(raw.trusted_ca, join(path, 'trusted_ca'), p);
    if (pem) checkCertificates(pem, join(path, 'trusted_ca'), p);
    trustedCa = { kind: 'inline_validation', trustedCa: pem };
  }
  const subjectAltNames: SanMatcher[] = [];
  list(raw.match_typed_subject_alt_names).forEach((m, i) => {
    const o = obj(m);
    const at = `${join(path, 'match_typed_subject_alt_names')}[${i}]`;
    const type = str(o.san_type);
    if (type !== 'URI' && type !== 'DNS') return p.add(join(at, 'san_type'), `${type || 'SAN_TYPE_UNSPECIFIED'} is not supported (URI, DNS)`);
    const matcher = stringMatcher(o.matcher, join(at, 'matcher'), p);
    if (!matcher) return;
    if (matcher.kind !== 'exact' && matcher.kind !== 'prefix') return p.add(join(at, 'matcher'), `${matcher.kind} is not supported for SANs (exact, prefix)`);
    subjectAltNames.push({ type, matcher });
  });
  return { trustedCa, subjectAltNames };
}

/** TlsCertificate with inline (or file) PEM; used by tls_certificates and by SDS Secrets. */
export function inlineCertificate(raw: Raw, path: string, p: Problems): SecretSource {
  for (const k of ['pkcs12', 'watched_directory', 'private_key_provider', 'password', 'ocsp_staple', 'signed_certificate_timestamp']) {
    if (has(raw, k) && !(Array.isArray(raw[k]) && (raw[k] as unknown[]).length === 0)) p.add(join(path, k), 'not supported');
  }
  if (!has(raw, 'certificate_chain')) p.add(join(path, 'certificate_chain'), 'is required');
  if (!has(raw, 'private_key')) p.add(join(path, 'private_key'), 'is required');
  const certificateChain = has(raw, 'certificate_chain') ? dataSource(raw.certificate_chain, join(path, 'certificate_chain'), p) : '';
  const privateKey = has(raw, 'private_key') ? dataSource(raw.private_key, join(path, 'private_key'), p) : '';
  if (certificateChain) checkCertificates(certificateChain, join(path, 'certificate_chain'), p);
  if (privateKey) {
    try {
      crypto.createPrivateKey(privateKey);
    } catch {
      // The message of a key parse error may quote the key: never put it in a NACK.
      p.add(join(path, 'private_key'), 'is not a PEM private key');
    }
  }
  return { kind: 'inline_certificate', certificateChain, privateKey };
}

/** Every PEM block must be an X.509 certificate (a NACK beats a handshake that fails later). */
export function checkCertificates(pem: string, path: string, p: Problems): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return p.add(path, 'holds no PEM certificate');
  blocks.forEach((b, i) => {
    try {
      new crypto.X509Certificate(b);
    } catch (err) {
      p.add(path, `certificate ${i + 1}: ${(err as Error).message}`);
    }
  });
}

function sdsSecret(raw: Raw, path: string, p: Problems): SecretSource {
  const name = str(raw.name);
  if (!name) p.add(join(path, 'name'), 'is required');
  const cs = obj(raw.sds_config);
  const at = join(path, 'sds_config');
  if (has(cs, 'ads')) return { kind: 'sds', name, provider: 'ads' };
  const grpcServices = list(obj(cs.api_config_source).grpc_services);
  const cluster = str(obj(obj(grpcServices[0]).envoy_grpc).cluster_name);
  if (grpcServices.length === 1 && cluster === AGENT_SDS_CLUSTER) {
    // Istio's convention: the local agent serves the workload certificate and the trust bundle only.
    if (name !== WORKLOAD_SECRET && name !== ROOT_CA_SECRET) p.add(join(path, 'name'), `the identity agent (${AGENT_SDS_CLUSTER}) serves only "${WORKLOAD_SECRET}" and "${ROOT_CA_SECRET}"`);
    return { kind: 'sds', name, provider: 'agent' };
  }
  if (Object.keys(cs).length === 0) p.add(at, 'is required (ads, or the sds-grpc cluster of the identity agent)');
  else p.add(at, `only ads and the "${AGENT_SDS_CLUSTER}" cluster are supported as SDS sources`);
  return { kind: 'sds', name, provider: 'ads' };
}

/** envoy.config.core.v3.DataSource → its text (PEM). */
export function dataSource(v: unknown, path: string, p: Problems): string {
  const o = obj(v);
  if (typeof o.inline_string === 'string') return o.inline_string;
  if (typeof o.inline_bytes === 'string') return Buffer.from(o.inline_bytes, 'base64').toString();
  if (o.inline_bytes instanceof Uint8Array) return Buffer.from(o.inline_bytes).toString();
  if (typeof o.filename === 'string' && o.filename) {
    try {
      return fs.readFileSync(o.filename, 'utf8');
    } catch (err) {
      p.add(join(path, 'filename'), `cannot read ${o.filename}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return '';
    }
  }
  if (has(o, 'environment_variable')) p.add(join(path, 'environment_variable'), 'not supported');
  else p.add(path, 'needs inline_bytes, inline_string or filename');
  return '';
}

/** A bool or google.protobuf.BoolValue that is set to true. */
function isTrue(v: unknown): boolean {
  return v === true || (typeof v === 'object' && v !== null && (v as Raw).value === true);
}
