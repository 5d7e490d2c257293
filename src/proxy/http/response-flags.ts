// Envoy's response flags: the short code that says why a stream ended the way it did. Every local
// reply and every upstream-caused failure carries one, in the stream record, in the reason header
// (`x-weft-reason: UF upstream_connect_failure`), in per-listener counters and, later, access logs
// and metrics. Names follow https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#config-access-log-format-response-flags
export const ResponseFlag = {
  noHealthyUpstream: 'UH',
  upstreamConnectionFailure: 'UF',
  upstreamOverflow: 'UO',
  noRouteFound: 'NR',
  upstreamRetryLimitExceeded: 'URX',
  upstreamConnectionTermination: 'UC',
  upstreamRemoteReset: 'UR',
  upstreamRequestTimeout: 'UT',
  upstreamProtocolError: 'UPE',
  downstreamProtocolError: 'DPE',
  faultInjected: 'FI',
  delayInjected: 'DI',
  localReset: 'LR',
  downstreamConnectionTermination: 'DC',
  noClusterFound: 'NC',
  streamIdleTimeout: 'SI',
  overloadManager: 'OM',
  noFilterChainFound: 'NFCF',
  invalidEnvoyRequestHeaders: 'IH',
  rbacAccessDenied: 'RBAC',
} as const;
export type ResponseFlag = (typeof ResponseFlag)[keyof typeof ResponseFlag];

export const ALL_RESPONSE_FLAGS: readonly ResponseFlag[] = Object.values(ResponseFlag);
