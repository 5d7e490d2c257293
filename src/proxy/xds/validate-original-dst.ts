// The transparent-mode parts of envoy.config.cluster.v3.Cluster: type ORIGINAL_DST with lb_policy
// CLUSTER_PROVIDED (original_dst_lb_config, cleanup_interval) and upstream_bind_config.source_address
// (Istio binds its inbound passthrough connections to 127.0.0.6). Envoy's rules: each of ORIGINAL_DST
// and CLUSTER_PROVIDED needs the other, and an ORIGINAL_DST cluster has no endpoints of its own.
import { isIP } from 'node:net';
import type { OriginalDstConfig } from './model.js';
import { durationMs, has, join, num, obj, Problems, str, wrapped, type Raw } from './validate-common.js';

/** Envoy's defaults (cluster.proto OriginalDstLbConfig, cleanup_interval). */
export const ORIGINAL_DST_HEADER = 'x-envoy-original-dst-host';
const DEFAULT_CLEANUP_INTERVAL_MS = 5_000;

/** The ORIGINAL_DST settings of a cluster of that type; problems for the fields that need it. */
export function originalDstOf(raw: Raw, typeName: string, lbName: string, p: Problems): OriginalDstConfig | undefined {
  const isOriginalDst = typeName === 'ORIGINAL_DST';
  if (isOriginalDst && lbName !== 'CLUSTER_PROVIDED') p.add('lb_policy', `${lbName} is not valid for an ORIGINAL_DST cluster (only CLUSTER_PROVIDED)`);
  if (!isOriginalDst && lbName === 'CLUSTER_PROVIDED') p.add('lb_policy', 'CLUSTER_PROVIDED is only valid for an ORIGINAL_DST cluster');
  if (!isOriginalDst) {
    if (has(raw, 'original_dst_lb_config')) p.add('original_dst_lb_config', 'only applies to an ORIGINAL_DST cluster');
    return undefined;
  }
  const lb = obj(raw.original_dst_lb_config);
  const at = 'original_dst_lb_config';
  if (has(lb, 'metadata_key')) p.add(join(at, 'metadata_key'), 'not supported (the host comes from the original destination or the header)');
  const headerName = (str(lb.http_header_name) || ORIGINAL_DST_HEADER).toLowerCase();
  if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(headerName)) p.add(join(at, 'http_header_name'), `"${str(lb.http_header_name)}" is not a header name`);
  let portOverride: number | undefined;
  if (has(lb, 'upstream_port_override')) {
    portOverride = wrapped(lb.upstream_port_override, 0);
    if (!Number.isInteger(portOverride) || portOverride < 1 || portOverride > 65535) p.add(join(at, 'upstream_port_override'), `${portOverride} is not a port`);
  }
  const cleanupIntervalMs = durationMs(raw.cleanup_interval, 'cleanup_interval', p) ?? DEFAULT_CLEANUP_INTERVAL_MS;
  if (has(raw, 'cleanup_interval') && cleanupIntervalMs <= 0) p.add('cleanup_interval', 'must be positive');
  return { useHttpHeader: lb.use_http_header === true, httpHeaderName: headerName, portOverride, cleanupIntervalMs: Math.max(cleanupIntervalMs, 1) };
}

/** upstream_bind_config: the source address upstream sockets bind (any port). */
export function upstreamBindAddressOf(raw: Raw, p: Problems): string | undefined {
  if (!has(raw, 'upstream_bind_config')) return undefined;
  const bind = obj(raw.upstream_bind_config);
  const at = 'upstream_bind_config';
  for (const k of ['freebind', 'socket_options', 'additional_source_addresses', 'extra_source_addresses', 'local_address_selector']) {
    const v = bind[k];
    if (has(bind, k) && !(Array.isArray(v) && v.length === 0) && !(k === 'freebind' && wrapped(v, false) === false)) p.add(join(at, k), 'not supported');
  }
  const sa = obj(bind.source_address);
  const address = str(sa.address);
  if (isIP(address) === 0) {
    p.add(join(at, 'source_address.address'), address ? `"${address}" is not an IP address` : 'is required');
    return undefined;
  }
  // A fixed source port would allow one upstream connection at a time.
  if (num(sa.port_value) !== 0) p.add(join(at, 'source_address.port_value'), 'must be 0 (any port)');
  if (has(sa, 'protocol') && str(sa.protocol) !== 'TCP') p.add(join(at, 'source_address.protocol'), `${str(sa.protocol)} is not supported`);
  return address;
}
