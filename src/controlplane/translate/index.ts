// Translation: a pure function of (mesh snapshot, proxy) to the xDS resources that proxy should run.
import type { ProxyNode } from '../model/proxy-node.js';
import type { MeshSnapshot } from '../model/snapshot.js';
import { inboundClusters, outboundClusters } from './clusters.js';
import { clusterLoadAssignments } from './endpoints.js';
import { listeners } from './listeners.js';
import { outboundRouteConfig } from './routes.js';
import type { ResourceSet } from './types.js';

export function translate(snap: MeshSnapshot, proxy: ProxyNode): ResourceSet {
  return {
    cluster: [...outboundClusters(snap, proxy.namespace), ...inboundClusters(proxy)],
    endpoint: clusterLoadAssignments(snap, proxy.namespace, { locality: proxy.locality ?? '', labels: proxy.labels }),
    listener: listeners(proxy),
    route: [outboundRouteConfig(snap, proxy)],
    secret: [],
  };
}

export type { ResourceSet, XdsResource } from './types.js';
