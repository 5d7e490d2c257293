// Shared inputs for translation tests: config from YAML (through the real parser) and proxy nodes.
import fs from 'node:fs';
import path from 'node:path';
import { addTo, emptyConfigSet } from '../../src/config/kinds.js';
import { parseConfigText } from '../../src/config/parse.js';
import type { ConfigSet } from '../../src/config/types.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { buildSnapshot, TLS_MODE_LABEL, type MeshSnapshot } from '../../src/controlplane/model/snapshot.js';
import { parseVipRange, type VipRange } from '../../src/controlplane/model/vips.js';
import type { MeshConfig } from '../../src/config/mesh-config.js';
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
    interceptionMode: 'NONE',
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

/** A captured sidecar (INTERCEPTION_MODE REDIRECT): peers reach it on the app's own port. */
export const capturedProxy = (service: string, version: string, n: number, overrides: Partial<ProxyNode> = {}): ProxyNode =>
  proxy(service, version, n, { interceptionMode: 'REDIRECT', ports: [{ servicePort: 9080, endpointPort: 9080, appPort: 9080, protocol: 'HTTP' }], ...overrides });

export const capturedBookinfoProxies = (): ProxyNode[] => bookinfoProxies().map((p) => ({ ...p, interceptionMode: 'REDIRECT', ports: p.ports.map((q) => ({ ...q, endpointPort: q.appPort })) }));

/** VIPs for tests come from 198.19.0.0/16 (inside the network rule's 198.18.0.0/15). */
export const TEST_VIP_RANGE = (parseVipRange('198.19.0.0/16') as { ok: true; range: VipRange }).range;

export function snapshot(config: ConfigSet, proxies = bookinfoProxies(), mesh?: MeshConfig): MeshSnapshot {
  return buildSnapshot({ config, proxies, domain: 'cluster.local', vipRange: TEST_VIP_RANGE, ...(mesh ? { mesh } : {}) });
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

/** Egress beyond HTTP: a TCP ServiceEntry with an address (STATIC), a TCP one by DNS with an
 * auto-allocated VIP, and a resolution NONE range passed through to the original destination. */
export const EGRESS_TCP = yaml('egress-tcp.yaml', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: mysql-vm }
spec:
  hosts: [mysqldb.vm.example]
  addresses: [198.18.7.10]
  ports: [{ number: 3306, name: tcp-mysql, protocol: TCP }]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: 198.18.7.10 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: smtp }
spec:
  hosts: [smtp.example.com]
  ports: [{ number: 25, name: tcp-smtp, protocol: TCP }]
  location: MESH_EXTERNAL
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: lab-range }
spec:
  hosts: [lab.example]
  addresses: [198.18.64.0/24]
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
  location: MESH_EXTERNAL
  resolution: NONE
`);
