// What a TLS handshake proved about the peer, and whether it is the peer we want: the chain verified
// against the trust bundle, then Envoy's match_typed_subject_alt_names (any matcher matching any SAN
// of its type; no matchers: any certificate the bundle verifies). Shared by both directions.
import { X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import type { TlsInfo } from '../listener/connection-info.js';
import type { SanMatcher, StringMatcher } from '../xds/model.js';

export interface Sans {
  uri: string[];
  dns: string[];
}

/** X509Certificate#subjectAltName ("DNS:a, URI:spiffe://…"; entries with a comma are JSON-quoted). */
export function parseSubjectAltName(text: string | undefined): Sans {
  const out: Sans = { uri: [], dns: [] };
  if (!text) return out;
  const re = /(DNS|URI|IP Address|email|othername|DirName|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of text.matchAll(re)) {
    const value = m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2];
    if (m[1] === 'URI') out.uri.push(value);
    else if (m[1] === 'DNS') out.dns.push(value);
  }
  return out;
}

export function sansOf(cert: X509Certificate | undefined): Sans {
  return parseSubjectAltName(cert?.subjectAltName);
}

/** The subject in RFC 2253 order (most specific last in X509Certificate#subject, first here). */
export function rfc2253(subject: string | undefined): string {
  return subject ? subject.split('\n').filter(Boolean).reverse().join(',') : '';
}

function matches(m: StringMatcher, v: string): boolean {
  const a = m.kind === 'regex' ? v : m.ignoreCase ? v.toLowerCase() : v;
  switch (m.kind) {
    case 'exact':
      return a === (m.ignoreCase ? m.value.toLowerCase() : m.value);
    case 'prefix':
      return a.startsWith(m.ignoreCase ? m.value.toLowerCase() : m.value);
    case 'suffix':
      return a.endsWith(m.ignoreCase ? m.value.toLowerCase() : m.value);
    case 'contains':
      return a.includes(m.ignoreCase ? m.value.toLowerCase() : m.value);
    case 'regex':
      return m.regex.test(v);
  }
}

/** undefined: acceptable; otherwise why not. */
export function sanMismatch(matchers: readonly SanMatcher[], sans: Sans): string | undefined {
  if (matchers.length === 0) return undefined;
  for (const m of matchers) for (const v of m.type === 'URI' ? sans.uri : sans.dns) if (matches(m.matcher, v)) return undefined;
  const got = [...sans.uri.map((u) => `URI:${u}`), ...sans.dns.map((d) => `DNS:${d}`)].join(', ') || 'none';
  const want = matchers.map((m) => `${m.type}:${m.matcher.kind === 'regex' ? m.matcher.regex.source : `${m.matcher.kind} ${m.matcher.value}`}`).join(', ');
  return `SAN mismatch: the peer certificate has ${got}; wanted ${want}`;
}

/** The peer's certificate, read once: Node hands out the X509Certificate only on the first call. */
export function peerCertificate(socket: tls.TLSSocket): X509Certificate | undefined {
  return socket.getPeerX509Certificate();
}

/** Verify a finished handshake: undefined when the peer is accepted, else the TLS failure. */
export function verifyPeer(socket: tls.TLSSocket, cert: X509Certificate | undefined, o: { verifyChain: boolean; requireCertificate: boolean; sans: readonly SanMatcher[] }): string | undefined {
  if (!cert) return o.requireCertificate ? 'peer did not present a certificate' : undefined;
  if (o.verifyChain && !socket.authorized) return `CERTIFICATE_VERIFY_FAILED: ${String(socket.authorizationError)}`;
  return sanMismatch(o.sans, sansOf(cert));
}

/** ConnectionInfo.tls / StreamInfo's view of a handshake. */
export function tlsInfoOf(socket: tls.TLSSocket, cert: X509Certificate | undefined, localUriSan: string, sni: string | undefined): TlsInfo {
  const sans = sansOf(cert);
  return {
    sni,
    alpn: socket.alpnProtocol || undefined,
    peerUriSans: sans.uri,
    peerDnsSans: sans.dns,
    peerSubject: rfc2253(cert?.subject),
    localUriSan,
    version: socket.getProtocol() ?? undefined,
  };
}

/** The first URI SAN of a PEM chain's leaf ('' if none or unreadable). */
export function leafUriSan(chainPem: string): string {
  try {
    return sansOf(new X509Certificate(chainPem)).uri[0] ?? '';
  } catch {
    return '';
  }
}
