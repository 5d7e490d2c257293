// Shared inputs for translation tests: config from YAML (through the real parser) and proxy nodes.
import fs from 'node:fs';
import path from 'node:path';
import { addTo, emptyConfigSet } from '../../src/config/kinds.js';
import { parseConfigText } from '../../src/config/parse.js';
import type { ConfigSet } from '../../src/config/types.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { buildSnapshot, TLS_MODE_LABEL, type MeshSnapshot } from '../../src/controlplane/model/snapshot.js';
import { fixturesDir } from '../helpers/paths.js';

export { fixturesDir };

export function configFrom(...docs: Array<{ file: string; text: string }>): ConfigSet {
  const set = emptyConfigSet();
  for (const d of docs) {
    const r = parseConfigText(d.text, d.file);
    if (!r.ok) throw new Error(`${d.file}: ${JSON.stringify(r.errors)}`);
    for (const res of r.resources) addTo(set, res);
  }
  return set;
}

export const yaml = (file: string, text: string) => ({ file, text });
/** ratings: app=reviews clients get v1, everyone else v2 (a sourceLabels match). */
export const ratingsForReviewsOnly = yaml('src.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - match: [{ sourceLabels: { app: reviews } }]
    route: [{ destination: { host: ratings, subset: v1 } }]
  - route: [{ destination: { host: ratings, subset: v2 } }]
`);

/** A VirtualService sending every reviews request to one subset. */
export const reviewsTo = (subset: string) =>
  yaml(
    'reviews.yaml',
    `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews, subset: ${subset} } }]
`,
  );

export const fixture = (rel: string) => yaml(path.basename(rel), fs.readFileSync(path.join(fixturesDir, rel), 'utf8'));

export function proxy(service: string, version: string, n: number, overrides: Partial<ProxyNode> = {}): ProxyNode {
  const address = `127.0.0.${n}`;
  return {
    id: `sidecar~${address}~${service}-${version}.default~default.svc.cluster.local`,
    service,
    namespace: 'default',
    labels: { app: service, version },
    serviceAccount: `bookinfo-${service}`,
    address,
    workloadName: `${service}-${version}`,
    ports: [{ servicePort: 9080, endpointPort: 15006, appPort: 9080, protocol: 'HTTP' }],
    outboundPort: 15001,
    inboundPort: 15006,
    ...overrides,
  };
}

export const bookinfoProxies = (): ProxyNode[] => [
  proxy('productpage', 'v1', 2),
  proxy('details', 'v1', 3),
  proxy('reviews', 'v1', 4),
  proxy('reviews', 'v2', 5),
  proxy('reviews', 'v3', 6),
  proxy('ratings', 'v1', 7),
];

export function snapshot(config: ConfigSet, proxies = bookinfoProxies()): MeshSnapshot {
  return buildSnapshot({ config, proxies, domain: 'cluster.local' });
}

/** A TCP workload (mysqldb, port 3306; `protocol` its declared protocol), meshed unless told not. */
export function mysqldb(protocol = 'TCP', meshed = true): ProxyNode {
  return proxy('mysqldb', 'v1', 9, {
    labels: { app: 'mysqldb', version: 'v1', ...(meshed ? { [TLS_MODE_LABEL]: 'istio' } : {}) },
    ports: [{ servicePort: 3306, endpointPort: 15006, appPort: 3306, protocol }],
  });
}

/** SMI: reviews may open TCP connections to mysqldb's port 3306. */
export const MYSQL_TRAFFIC_TARGET = `kind: TCPRoute
metadata: { name: mysql }
spec: { matches: { ports: [3306] } }
---
kind: TrafficTarget
metadata: { name: mysql-clients }
spec:
  destination: { kind: ServiceAccount, name: bookinfo-mysqldb }
  rules: [{ kind: TCPRoute, name: mysql }]
  sources: [{ kind: ServiceAccount, name: bookinfo-reviews }]
`;
