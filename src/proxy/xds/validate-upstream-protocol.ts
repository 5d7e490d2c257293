// Which HTTP protocol a cluster speaks upstream: HTTP/1.1 by default; HTTP/2 (h2c) when the
// cluster says so — the legacy `http2_protocol_options`, or HttpProtocolOptions in
// typed_extension_protocol_options with explicit_http_config.http2_protocol_options — or the
// downstream's protocol (use_downstream_protocol_config), as Istio sets for h2UpgradePolicy and
// for ports it does not know. HTTP/2 options beyond max_concurrent_streams are refused.
import { HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../api/envoy.js';
import type { UpstreamHttpProtocol } from './model.js';
import { anyTypeUrl, has, join, obj, type Problems, type Raw } from './validate-common.js';

/** Fields of HttpProtocolOptions this module decides; others are for the caller to judge. */
const handled = new Set(['@type', 'explicit_http_config', 'use_downstream_protocol_config']);

export function upstreamHttpProtocol(raw: Raw, p: Problems): { protocol: UpstreamHttpProtocol; rest: Raw } {
  if (has(raw, 'http2_protocol_options')) {
    http2Options(obj(raw.http2_protocol_options), 'http2_protocol_options', p);
    return { protocol: 'http2', rest: {} };
  }
  const opts = obj(raw.typed_extension_protocol_options);
  for (const key of Object.keys(opts)) {
    if (key !== HTTP_PROTOCOL_OPTIONS_KEY) p.add(`typed_extension_protocol_options[${JSON.stringify(key)}]`, 'not supported');
  }
  const hpo = obj(opts[HTTP_PROTOCOL_OPTIONS_KEY]);
  const at = `typed_extension_protocol_options[${JSON.stringify(HTTP_PROTOCOL_OPTIONS_KEY)}]`;
  if (Object.keys(hpo).length === 0) return { protocol: 'http1', rest: {} };
  if (anyTypeUrl(hpo) !== HTTP_PROTOCOL_OPTIONS_TYPE_URL) p.add(at, `expected ${HTTP_PROTOCOL_OPTIONS_TYPE_URL}`);
  const rest: Raw = {};
  for (const k of Object.keys(hpo)) if (!handled.has(k)) rest[k] = hpo[k];
  if (has(hpo, 'auto_config')) p.add(join(at, 'auto_config'), 'not supported (ALPN needs TLS)');
  if (has(hpo, 'use_downstream_protocol_config')) {
    const d = obj(hpo.use_downstream_protocol_config);
    if (has(d, 'http2_protocol_options')) http2Options(obj(d.http2_protocol_options), join(at, 'use_downstream_protocol_config.http2_protocol_options'), p);
    return { protocol: 'downstream', rest };
  }
  const explicit = obj(hpo.explicit_http_config);
  if (has(explicit, 'http2_protocol_options')) {
    http2Options(obj(explicit.http2_protocol_options), join(at, 'explicit_http_config.http2_protocol_options'), p);
    return { protocol: 'http2', rest };
  }
  if (has(explicit, 'http3_protocol_options')) p.add(join(at, 'explicit_http_config.http3_protocol_options'), 'HTTP/3 is not supported');
  return { protocol: 'http1', rest };
}

function http2Options(raw: Raw, path: string, p: Problems): void {
  for (const k of Object.keys(raw)) if (k !== 'max_concurrent_streams') p.add(join(path, k), 'not supported');
}
