// Names both ends of the mesh agree on, in Istio's spelling so Envoy and Istio tooling carry over:
// the SDS names of the workload certificate and the trust bundle, the cluster through which the
// proxy's own agent serves them, and the label that says a workload's sidecar holds mesh certificates.
export const WORKLOAD_SECRET = 'default';
export const ROOT_CA_SECRET = 'ROOTCA';
export const AGENT_SDS_CLUSTER = 'sds-grpc';
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
/** Istio's stats filter (HTTP and network), its name and config type (`stats.PluginConfig`). */
export const ISTIO_STATS_FILTER = 'istio.stats';
export const ISTIO_STATS_TYPE_URL = 'type.googleapis.com/stats.PluginConfig';
/** Node metadata key: the proxy's admin address (HOST:PORT, loopback), which the control plane
 * shows in /debug/syncz so `weft proxy-config PROXY` can find it. Weft's own (Istio's CLI port-forwards). */
export const ADMIN_ADDRESS_METADATA = 'WEFT_ADMIN_ADDRESS';
