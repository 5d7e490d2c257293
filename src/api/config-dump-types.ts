// The @type names of /config_dump sections, shared by the proxy's admin, the control plane's
// /debug/config_dump and `weft proxy-config`. Envoy's admin.v3 dumps, plus one of Weft's own: the
// virtual hosts a Delta proxy received over VHDS (Envoy shows them only merged into their route
// configuration, which the routes section also does).
export const ADMIN_DUMP_PREFIX = 'type.googleapis.com/envoy.admin.v3.';
export const DUMP_TYPES = {
  bootstrap: `${ADMIN_DUMP_PREFIX}BootstrapConfigDump`,
  listeners: `${ADMIN_DUMP_PREFIX}ListenersConfigDump`,
  clusters: `${ADMIN_DUMP_PREFIX}ClustersConfigDump`,
  routes: `${ADMIN_DUMP_PREFIX}RoutesConfigDump`,
  endpoints: `${ADMIN_DUMP_PREFIX}EndpointsConfigDump`,
  secrets: `${ADMIN_DUMP_PREFIX}SecretsConfigDump`,
} as const;
export const VIRTUAL_HOSTS_DUMP = 'type.googleapis.com/weft.admin.v1.VirtualHostsConfigDump';
