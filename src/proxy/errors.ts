// Stable error codes of the sidecar. Mapped to HTTP status / gRPC status only at the edges
// (local replies, NACK error_detail, CLI exit codes).

export const ProxyErrorCodes = {
  WEFT_E_BAD_FLAG: 'a `weft proxy` or `weft bootstrap` command-line flag is missing or malformed',
  WEFT_E_XDS_DECODE: 'an xDS resource could not be decoded from its Any',
  WEFT_E_XDS_INVALID: 'an xDS resource failed validation (the response is NACKed)',
  WEFT_E_LISTENER_BIND: 'a listener could not bind its address (the LDS response is NACKed)',
  WEFT_E_XDS_STREAM: 'the ADS stream to the control plane failed; the proxy reconnects with backoff',
  WEFT_E_DOWNSTREAM_PROTOCOL: 'a client sent a malformed or unsafe HTTP/1.1 request (answered 400, or 431 for oversized headers, and the connection closed)',
  WEFT_E_UPSTREAM_PROTOCOL: 'an upstream sent a malformed HTTP/1.1 response, or a request could not be written as HTTP/1.1 (treated as an upstream reset)',
  WEFT_E_UPSTREAM_TLS: 'an upstream TLS handshake failed or its certificate was refused (chain not trusted, or no SAN matched match_typed_subject_alt_names): a connect failure (503 UF)',
  WEFT_E_ORIGINAL_DST_UNAVAILABLE:
    'transparent proxy mode needs SO_ORIGINAL_DST (Linux, and the native addon native/build/original_dst.node that `npm install` builds with cc); the proxy refuses to start without it',
  WEFT_E_DOWNSTREAM_TLS: 'a downstream TLS handshake failed or the client certificate was refused (the connection is closed; counted in ssl_connection_error)',
} as const;

export type ProxyErrorCode = keyof typeof ProxyErrorCodes;

export class ProxyError extends Error {
  readonly code: ProxyErrorCode;
  constructor(code: ProxyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProxyError';
    this.code = code;
  }
}
