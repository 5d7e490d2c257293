// Which HTTP protocol a cluster speaks upstream: HTTP/1.1 by default; HTTP/2 (h2c) when the
// cluster says so — the legacy `http2_protocol_options`, or HttpProtocolOptions in
// typed_extension_protocol_options with explicit_http_config.http2_protocol_options — or the
// downstream's protocol (use_downstream_protocol_config), as Istio sets for h2UpgradePolicy and
// for ports it does not know. HTTP/2 options beyond max_concurrent_streams are refused.
import { HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../api/envoy.js';
import type { UpstreamHttpProtocol } from './model.js';
import { anyTypeUrl, has, join, obj, wrapped, type Problems, type Raw } from './validate-common.js';

/** Fields of HttpProtocolOptions this module decides; others are for the caller to judge. */
const handled = new Set(['@type', 'explicit_http_config', 'use_downstream_protocol_config']);

export interface UpstreamProtocolOptions {
  protocol: UpstreamHttpProtocol;
  /** http2_protocol_options.max_concurrent_streams: streams per session this side opens (0: the peer's limit). */
  http2MaxConcurrentStreams: number;
  /** HttpProtocolOptions fields for the caller to judge (common_http_protocol_options, …). */
  rest: Raw;
}

export function upstreamHttpProtocol(raw: Raw, p: Problems): UpstreamProtocolOptions {
  if (has(raw, 'http2_protocol_options')) {
    return { protocol: 'http2', http2MaxConcurrentStreams: http2Options(obj(raw.http2_protocol_options), 'http2_protocol_options', p), rest: {} };
  }
  const opts = obj(raw.typed_extension_protocol_options);
  for (const key of Object.keys(opts)) {
    if (key !== HTTP_PROTOCOL_OPTIONS_KEY) p.add(`typed_extension_protocol_options[${JSON.stringify(key)}]`, 'not supported');
  }
  const hpo = obj(opts[HTTP_PROTOCOL_OPTIONS_KEY]);
  const at = `typed_extension_protocol_options[${JSON.stringify(HTTP_PROTOCOL_OPTIONS_KEY)}]`;
  if (Object.keys(hpo).length === 0) return { protocol: 'http1', http2MaxConcurrentStreams: 0, rest: {} };
  if (anyTypeUrl(hpo) !== HTTP_PROTOCOL_OPTIONS_TYPE_URL) p.add(at, `expected ${HTTP_PROTOCOL_OPTIONS_TYPE_URL}`);
  const rest: Raw = {};
  for (const k of Object.keys(hpo)) if (!handled.has(k)) rest[k] = hpo[k];
  if (has(hpo, 'auto_config')) p.add(join(at, 'auto_config'), 'not supported (ALPN needs TLS)');
  if (has(hpo, 'use_downstream_protocol_config')) {
    const d = obj(hpo.use_downstream_protocol_config);
    const streams = has(d, 'http2_protocol_options') ? http2Options(obj(d.http2_protocol_options), join(at, 'use_downstream_protocol_config.http2_protocol_options'), p) : 0;
    return { protocol: 'downstream', http2MaxConcurrentStreams: streams, rest };
  }
  const explicit = obj(hpo.explicit_http_config);
  if (has(explicit, 'http2_protocol_options')) {
    const streams = http2Options(obj(explicit.http2_protocol_options), join(at, 'explicit_http_config.http2_protocol_options'), p);
    return { protocol: 'http2', http2MaxConcurrentStreams: streams, rest };
  }
  if (has(explicit, 'http3_protocol_options')) p.add(join(at, 'explicit_http_config.http3_protocol_options'), 'HTTP/3 is not supported');
  return { protocol: 'http1', http2MaxConcurrentStreams: 0, rest };
}

/** Returns max_concurrent_streams (0 when unset); every other HTTP/2 option is refused. */
function http2Options(raw: Raw, path: string, p: Problems): number {
  for (const k of Object.keys(raw)) if (k !== 'max_concurrent_streams') p.add(join(path, k), 'not supported');
  const n = has(raw, 'max_concurrent_streams') ? wrapped(raw.max_concurrent_streams, 0) : 0;
  if (n < 0 || n > 2 ** 31 - 1) p.add(join(path, 'max_concurrent_streams'), `must be 1..2147483647, got ${n}`);
  return n;
}
