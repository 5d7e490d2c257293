// The filter configs every listener layout shares (explicit and captured, inbound and outbound), in
// one place: the router, fault and istio.stats HTTP filters, and tcp_proxy with the istio.stats
// network filter before it.
import { ROUTER_TYPE_URL, TCP_PROXY_TYPE_URL } from '../../api/envoy.js';
import { ISTIO_STATS_FILTER, ISTIO_STATS_TYPE_URL } from '../../api/mesh-names.js';
import { FAULT_FILTER, ROUTER_FILTER } from './names.js';
import { ISTIO_METRIC_SELECTORS, type DirectionTelemetry, type MetricsOverride } from '../../config/telemetry-types.js';

const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';

export const routerFilter = { name: ROUTER_FILTER, typed_config: { '@type': ROUTER_TYPE_URL } };
export const faultFilter = { name: FAULT_FILTER, typed_config: { '@type': FAULT_TYPE_URL } };

/** Istio's istio.stats: an HTTP filter last before the router on every sidecar HCM, and a network
 * filter right before every tcp_proxy; the listener's traffic_direction makes it report as source
 * (outbound) or destination (inbound). The direction's Telemetry metric overrides become its
 * PluginConfig.metrics; with no metrics provider for the direction every metric is dropped, and the
 * filter stays for the peer metadata exchange it carries (the other side still learns who called;
 * the app never sees the header). Spread the result into the filter list. */
export function istioStatsFilters(t: DirectionTelemetry | undefined): Record<string, unknown>[] {
  const metrics = t?.metricsDisabled ? [{ name: '', drop: true }] : (t?.metricOverrides ?? []).map(pluginMetric);
  return [{ name: ISTIO_STATS_FILTER, typed_config: { '@type': ISTIO_STATS_TYPE_URL, ...(metrics.length ? { metrics } : {}) } }];
}

/** One Telemetry override → one PluginConfig.MetricConfig (name '' is every metric, as Istio's filter reads it). */
function pluginMetric(o: MetricsOverride): Record<string, unknown> {
  const dimensions: Record<string, string> = {};
  const tagsToRemove: string[] = [];
  for (const [tag, op] of Object.entries(o.tagOverrides)) {
    if (op.operation === 'REMOVE') tagsToRemove.push(tag);
    else dimensions[tag] = op.value;
  }
  return {
    name: o.metric === 'ALL_METRICS' ? '' : ISTIO_METRIC_SELECTORS[o.metric],
    ...(Object.keys(dimensions).length ? { dimensions } : {}),
    ...(tagsToRemove.length ? { tags_to_remove: tagsToRemove } : {}),
    ...(o.disabled ? { drop: true } : {}),
  };
}

/** A tcp_proxy filter to one cluster; `extra`: more of its config (access_log.ts accessLogFields). */
export function tcpProxyFilter(statPrefix: string, cluster: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: TCP_PROXY_FILTER, typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: statPrefix, cluster, ...extra } };
}
