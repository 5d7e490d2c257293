// envoy.extensions.transport_sockets.tls.v3.Secret (SDS) → the SecretStore's Secret: a
// tls_certificate (chain and key) or a validation_context (trust bundle). Session ticket keys and
// generic secrets have no user here: NACKed with their field.
import type { SecretResource } from './model.js';
import { certificateValidationContext, inlineCertificate } from './validate-tls.js';
import { has, obj, Problems, str, type Raw, type ValidationResult } from './validate-common.js';

export function validateSecret(raw: Raw): ValidationResult<SecretResource> {
  const p = new Problems();
  const name = str(raw.name);
  if (!name) p.add('name', 'is required');
  for (const k of ['session_ticket_keys', 'generic_secret']) if (has(raw, k)) p.add(k, 'not supported');
  let result: SecretResource | undefined;
  if (has(raw, 'tls_certificate')) {
    const c = inlineCertificate(obj(raw.tls_certificate), 'tls_certificate', p);
    if (c.kind === 'inline_certificate') result = { name, secret: { kind: 'tls_certificate', certificateChain: c.certificateChain, privateKey: c.privateKey } };
  } else if (has(raw, 'validation_context')) {
    const v = certificateValidationContext(obj(raw.validation_context), 'validation_context', p);
    // SAN matchers belong to the context that references the bundle (combined_validation_context).
    if (v.subjectAltNames.length > 0) p.add('validation_context.match_typed_subject_alt_names', 'not supported in an SDS secret; set it in combined_validation_context.default_validation_context');
    if (v.trustedCa?.kind !== 'inline_validation') p.add('validation_context.trusted_ca', 'is required');
    else result = { name, secret: { kind: 'validation_context', trustedCa: v.trustedCa.trustedCa } };
  } else if (!has(raw, 'session_ticket_keys') && !has(raw, 'generic_secret')) {
    p.add('', 'a secret needs tls_certificate or validation_context');
  }
  if (!p.empty || !result) return { valid: false, errors: p.list.map((e) => `secret ${name || '(unnamed)'}: ${e}`) };
  return { valid: true, result };
}

/** The secret as /config_dump may show it: the private key never leaves the proxy. */
export function redactSecret(raw: Raw): Raw {
  if (!has(raw, 'tls_certificate')) return raw;
  return { ...raw, tls_certificate: { ...obj(raw.tls_certificate), private_key: { inline_string: '[redacted]' } } };
}
