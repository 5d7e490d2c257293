// gRPC deadlines (Envoy's route max_stream_duration.grpc_timeout_header_max): a gRPC client's
// `grpc-timeout` header becomes the request's timeout, capped by the route's maximum (0: no cap)
// and shortened by the offset. Istio sets grpc_timeout_header_max 0 on routes without a timeout,
// so a gRPC deadline holds through the mesh.

/** The route's setting: undefined leaves grpc-timeout alone (the route timeout applies). */
export interface GrpcTimeoutPolicy {
  /** Cap on the header's value; 0: none. */
  headerMaxMs: number;
  /** Subtracted from the header's value (room for the response to travel back). */
  headerOffsetMs: number;
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** The gRPC wire form: 1 to 8 digits and a unit (H, M, S, m, u, n); undefined if malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** The timeout a request gets: from its grpc-timeout header when the route honours it (Envoy keeps
 * the route timeout for a missing or malformed header), else the route's. 0 means none. */
export function effectiveTimeoutMs(routeTimeoutMs: number, policy: GrpcTimeoutPolicy | undefined, header: string | undefined): number {
  if (!policy) return routeTimeoutMs;
  const asked = parseGrpcTimeout(header);
  if (asked === undefined) return routeTimeoutMs;
  let t = policy.headerMaxMs > 0 ? Math.min(asked, policy.headerMaxMs) : asked;
  // Envoy applies the offset only when it leaves time to run; a deadline of 0 means "already due":
  // keep at least 1 ms so the timer still fires (0 would mean "no timeout").
  if (policy.headerOffsetMs > 0 && t > policy.headerOffsetMs) t -= policy.headerOffsetMs;
  return Math.max(1, Math.ceil(t));
}
