// `weft proxy-config secrets`: istioctl's columns (RESOURCE NAME, TYPE, STATUS, VALID CERT, SERIAL
// NUMBER, NOT AFTER, NOT BEFORE) plus the certificate's SPIFFE ID, from the admin's secrets section,
// which holds serials, SANs and validity only — no key or PEM ever reaches the CLI.
import { list, obj, str, type Raw } from './dump.js';
import { textTable } from './text-table.js';

export interface SecretFilter {
  name?: string;
}

export const filterSecrets = (secrets: Raw[], f: SecretFilter): Raw[] => secrets.filter((s) => f.name === undefined || str(s.name) === f.name);

/** Seconds precision, as istioctl prints times. */
const rfc3339 = (iso: string) => (iso ? iso.replace(/\.\d+Z$/, 'Z') : '');

export function secretsTable(secrets: Raw[], now: Date): string {
  const rows = secrets.map((s) => {
    const isChain = s.tls_certificate !== undefined;
    const certs = list(isChain ? obj(s.tls_certificate).cert_chain : obj(s.validation_context).trusted_ca);
    const c = certs[0];
    if (!c) return [str(s.name), isChain ? 'Cert Chain' : 'CA', 'WARMING', 'false', '', '', '', ''];
    const from = str(c.valid_from);
    const to = str(c.expiration_time);
    const valid = Date.parse(from) <= now.getTime() && now.getTime() < Date.parse(to);
    // istioctl prints the serial as a hex number: lower case, no leading zeros.
    const serial = str(c.serial_number).toLowerCase().replace(/^0+(?=.)/, '');
    const spiffe = (list(c.subject_alt_names) as unknown as string[]).map((n) => /^URI:(spiffe:\/\/.*)$/.exec(n)?.[1]).find(Boolean) ?? '';
    return [str(s.name), isChain ? 'Cert Chain' : 'CA', 'ACTIVE', String(valid), serial, rfc3339(to), rfc3339(from), spiffe];
  });
  return textTable(['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE', 'SPIFFE ID'], rows, 5);
}
