// envoy.extensions.filters.http.fault.v3.HTTPFault → FaultConfig. Used for the filter's own
// config in the HCM and for typed_per_filter_config on routes and virtual hosts.
import type { FaultConfig } from './model.js';
import { durationMs, has, join, obj, num, percent, Problems, type Raw } from './validate-common.js';

export const FAULT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';

/** Fields that would change behaviour in ways this proxy does not implement yet. */
const unsupported = ['header_abort', 'header_delay', 'response_rate_limit', 'headers', 'upstream_cluster', 'downstream_nodes'];

export function faultConfig(raw: Raw, path: string, p: Problems): FaultConfig {
  const out: FaultConfig = { delay: undefined, abort: undefined };
  for (const f of unsupported) if (has(raw, f)) p.add(join(path, f), 'not supported');
  if (has(raw, 'delay')) {
    const d = obj(raw.delay);
    const at = join(path, 'delay');
    for (const f of unsupported) if (has(d, f)) p.add(join(at, f), 'not supported');
    const fixedDelayMs = durationMs(d.fixed_delay, join(at, 'fixed_delay'), p);
    if (fixedDelayMs === undefined && !has(d, 'header_delay')) p.add(join(at, 'fixed_delay'), 'is required');
    out.delay = { fixedDelayMs: fixedDelayMs ?? 0, percent: percent(d.percentage, join(at, 'percentage'), p) };
  }
  if (has(raw, 'abort')) {
    const a = obj(raw.abort);
    const at = join(path, 'abort');
    for (const f of unsupported) if (has(a, f)) p.add(join(at, f), 'not supported');
    const grpc = has(a, 'grpc_status') ? num(a.grpc_status) : undefined;
    if (grpc !== undefined && (!Number.isInteger(grpc) || grpc < 0 || grpc > 16)) p.add(join(at, 'grpc_status'), `must be a gRPC status code 0..16, got ${grpc}`);
    const httpStatus = has(a, 'http_status') || grpc === undefined ? num(a.http_status) : 503;
    if (!has(a, 'header_abort') && (httpStatus < 200 || httpStatus >= 600)) {
      p.add(join(at, 'http_status'), `must be 200..599, got ${httpStatus}`);
    }
    out.abort = { httpStatus, grpcStatus: grpc, percent: percent(a.percentage, join(at, 'percentage'), p) };
  }
  return out;
}
