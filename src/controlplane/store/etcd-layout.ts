// Where Weft keeps its state in etcd: one prefix (--etcd-prefix, default /weft/) with
//   <prefix>config/<group>/<Kind>/<namespace>/<name>  a config resource as its JSON object
//                                                     (apiVersion, kind, metadata, spec), validated on
//                                                     write (weft apply) and again on read
//   <prefix>registry/<node id>                        a proxy's registration (JSON), under the lease of
//                                                     the replica its ADS stream is on
//   <prefix>replicas/<replica id>                     a live replica (JSON: addresses, started), under its lease
//   <prefix>ca/root                                   the mesh CA's root, encrypted with the operator's key
// The store, the registry, `weft apply/get/delete` and the replicas all read this one table.
export const DEFAULT_ETCD_PREFIX = '/weft/';

export interface EtcdLayout {
  prefix: string;
  configPrefix: string;
  registryPrefix: string;
  replicasPrefix: string;
  caRootKey: string;
  configKey(group: string, kind: string, namespace: string, name: string): string;
  registryKey(nodeId: string): string;
  replicaKey(replicaId: string): string;
}

export function etcdLayout(prefix = DEFAULT_ETCD_PREFIX): EtcdLayout {
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return {
    prefix: p,
    configPrefix: `${p}config/`,
    registryPrefix: `${p}registry/`,
    replicasPrefix: `${p}replicas/`,
    caRootKey: `${p}ca/root`,
    // The core group (Kubernetes Service) is written as "core".
    configKey: (group, kind, namespace, name) => `${p}config/${group || 'core'}/${kind}/${namespace}/${name}`,
    registryKey: (nodeId) => `${p}registry/${encodeURIComponent(nodeId)}`,
    replicaKey: (replicaId) => `${p}replicas/${encodeURIComponent(replicaId)}`,
  };
}

/** How to reach etcd: `--etcd-endpoints`, and the TLS client options. */
export interface EtcdConnection {
  endpoints: string[];
  prefix: string;
  /** PEM file paths; all three for mutual TLS, the CA alone for server-verified TLS. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}
