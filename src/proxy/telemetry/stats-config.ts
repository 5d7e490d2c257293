// Istio's stats filter config (istio.stats, `type.googleapis.com/stats.PluginConfig`, the same type
// URL for the HTTP and the network filter). Weft takes Istio's type so its control plane's output
// is what Istio's proxies read; of PluginConfig only the defaults are implemented, so a field that
// would change the metrics (custom dimensions, a gateway reporter) is a NACK, not a silent skip.
import { join, type Problems, type Raw } from '../xds/validate-common.js';

export { ISTIO_STATS_FILTER, ISTIO_STATS_TYPE_URL } from '../../api/mesh-names.js';

/** Fields accepted when set to their defaults, or without effect on what is reported here. */
const accepted = new Set(['@type', 'disable_host_header_fallback', 'tcp_reporting_duration', 'rescoping_duration', 'scope_grace_period_duration']);

export function statsPluginConfig(raw: Raw, path: string, p: Problems): object {
  for (const k of Object.keys(raw)) {
    if (accepted.has(k)) continue;
    const v = raw[k];
    const isDefault = v === undefined || v === null || v === 0 || v === '' || v === 'UNSPECIFIED' || (Array.isArray(v) && v.length === 0);
    if (!isDefault) p.add(join(path, k), 'not supported (Istio\'s default metrics only)');
  }
  return {};
}
