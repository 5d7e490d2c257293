// What the control plane needs from any workload registry: the in-memory one of universal mode
// (proxy-registry.ts), the etcd one shared by several replicas, the Kubernetes one fed by informers.
// The ADS server admits its own streams through `connect`; `proxies` is every workload the mesh
// knows, whichever replica (or the API server) it came from.
import type { ProxyNode } from '../model/proxy-node.js';
import type { Admission, StreamClaim } from './proxy-registry.js';

export interface Registry {
  /** Registers a stream's node on this replica, or says why not; `release` is called when the stream ends. */
  connect(node: ProxyNode, claim: StreamClaim): Admission;
  /** Every registered workload, sorted by id (the same array until something changes). */
  proxies(): ProxyNode[];
  readonly size: number;
  /** Called after every change of `proxies()`; returns an unsubscribe function. */
  onChange(cb: () => void): () => void;
  close(): void;
}
