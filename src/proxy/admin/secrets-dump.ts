// The secrets section of /config_dump (Envoy's SecretsConfigDump, reduced): each certificate by serial,
// SPIFFE ID and validity only. Never a key, never a PEM.
import crypto from 'node:crypto';
import { splitPemCertificates } from '../../api/pem.js';
import type { SecretStore } from '../tls/secret-store.js';

interface CertificateSummary {
  serial_number: string;
  subject_alt_names: string[];
  valid_from: string;
  expiration_time: string;
}

function summarize(pem: string): CertificateSummary[] {
  return splitPemCertificates(pem).map((b) => {
    const c = new crypto.X509Certificate(b);
    return {
      serial_number: c.serialNumber,
      subject_alt_names: (c.subjectAltName ?? '').split(/,\s*/).filter(Boolean),
      valid_from: new Date(c.validFrom).toISOString(),
      expiration_time: new Date(c.validTo).toISOString(),
    };
  });
}

export function renderSecretsDump(secrets: SecretStore): Record<string, unknown> {
  return {
    '@type': 'type.googleapis.com/envoy.admin.v3.SecretsConfigDump',
    dynamic_active_secrets: secrets.names().map((name) => {
      const s = secrets.get(name)!;
      return s.kind === 'tls_certificate'
        ? { name, tls_certificate: { cert_chain: summarize(s.certificateChain) } }
        : { name, validation_context: { trusted_ca: summarize(s.trustedCa) } };
    }),
  };
}
