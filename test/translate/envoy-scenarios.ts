// Configs that exercise every translator (traffic, resilience, load balancing, security, telemetry,
// egress, SMI, Gateway API): every YAML fixture under ../shared/fixtures that the parser takes, the
// goldens' inputs, and hand-written ones for what the fixtures lack. The Envoy rules test runs each
// through every client kind's composition.
import fs from 'node:fs';
import path from 'node:path';
import { parseConfigText } from '../../src/config/parse.js';
import { parseMeshConfig, type MeshConfig } from '../../src/config/mesh-config.js';
import type { ConfigSet } from '../../src/config/types.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { bookinfoProxies, configFrom, EGRESS_TCP, fixturesDir, MYSQL_TRAFFIC_TARGET, mysqldb, proxy, ratingsForReviewsOnly, yaml } from './fixtures.js';

export interface Scenario {
  name: string;
  config: ConfigSet;
  proxies: ProxyNode[];
  mesh?: MeshConfig;
}

const DR_ALL = 'istio/bookinfo/networking/destination-rule-all.yaml';
const read = (rel: string) => yaml(path.basename(rel), fs.readFileSync(path.join(fixturesDir, rel), 'utf8'));

/** Every fixture file under `dirs` that parses on its own (with the bookinfo DestinationRules beside it). */
function fixtureFiles(dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(fixturesDir, rel), { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      if (e.isDirectory()) walk(child);
      else if (/\.ya?ml$/.test(e.name) && parseConfigText(fs.readFileSync(path.join(fixturesDir, child), 'utf8'), e.name).ok) out.push(child);
    }
  };
  for (const d of dirs) walk(d);
  return out.sort();
}

const vs = (name: string, body: string) => yaml(`${name}.yaml`, `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: ${name} }\nspec:\n${body}`);
const dr = (name: string, body: string) => yaml(`${name}-dr.yaml`, `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: ${name} }\nspec:\n${body}`);

/** What the fixtures do not show: resilience, hashing, locality, TLS origination, rewrites, mirrors, CORS, JWT. */
const HAND_WRITTEN = [
  vs('reviews-resilience', `  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /api }, headers: { x-test: { regex: "a.*" } }, queryParams: { q: { exact: "1" } } }]
    rewrite: { uri: /v2/api, authority: reviews.internal }
    timeout: 2s
    retries: { attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,reset,connect-failure,retriable-status-codes" }
    fault: { delay: { percentage: { value: 10 }, fixedDelay: 1s }, abort: { percentage: { value: 5 }, httpStatus: 503 } }
    mirror: { host: ratings }
    mirrorPercentage: { value: 25 }
    corsPolicy: { allowOrigins: [{ exact: "https://example.com" }], allowMethods: [GET, POST], allowHeaders: [x-a], maxAge: 24h, allowCredentials: true }
    headers: { request: { set: { x-set: a }, add: { x-add: b }, remove: [x-rm] }, response: { set: { x-r: c } } }
    route: [{ destination: { host: reviews, subset: v1 }, weight: 70 }, { destination: { host: reviews, subset: v2 }, weight: 30 }]
  - match: [{ uri: { exact: /moved } }]
    redirect: { uri: /new, authority: example.com, redirectCode: 308 }
  - match: [{ uri: { exact: /gone } }]
    directResponse: { status: 410, body: { string: "gone" } }
  - route: [{ destination: { host: reviews, subset: v3 } }]
    retries: { attempts: 0 }
`),
  dr('reviews-resilience', `  host: reviews
  trafficPolicy:
    connectionPool:
      tcp: { maxConnections: 10, connectTimeout: 250ms, tcpKeepalive: { time: 30s } }
      http: { http1MaxPendingRequests: 2, http2MaxRequests: 3, maxRetries: 4, maxRequestsPerConnection: 5, idleTimeout: 60s, h2UpgradePolicy: UPGRADE }
    outlierDetection: { consecutive5xxErrors: 3, interval: 10s, baseEjectionTime: 30s, maxEjectionPercent: 50 }
    loadBalancer: { consistentHash: { httpHeaderName: x-user } }
  subsets:
  - { name: v1, labels: { version: v1 }, trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: session, ttl: 60s } } } } }
  - { name: v2, labels: { version: v2 }, trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } } }
  - { name: v3, labels: { version: v3 }, trafficPolicy: { loadBalancer: { simple: RANDOM } } }
`),
  dr('ratings-lb', `  host: ratings
  trafficPolicy:
    loadBalancer: { simple: LEAST_REQUEST, localityLbSetting: { enabled: true, failover: [{ from: r1, to: r2 }] } }
    outlierDetection: { consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 1s }
    tls: { mode: ISTIO_MUTUAL }
  subsets: [{ name: v1, labels: { version: v1 } }]
`),
  dr('details-ring', `  host: details
  trafficPolicy:
    loadBalancer: { consistentHash: { ringHash: { minimumRingSize: 1024 }, httpQueryParameterName: user } }
    tls: { mode: SIMPLE, sni: details.example }
`),
  yaml('jwt.yaml', `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: reviews-jwt }
spec:
  selector: { matchLabels: { app: reviews } }
  jwtRules:
  - issuer: https://issuer.example
    jwks: '{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1","alg":"ES256"}]}'
    forwardOriginalToken: true
    outputPayloadToHeader: x-jwt-payload
    fromHeaders: [{ name: x-token, prefix: "Bearer " }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-jwt }
spec:
  selector: { matchLabels: { app: reviews } }
  rules:
  - from: [{ source: { requestPrincipals: ["https://issuer.example/*"], ipBlocks: [127.0.0.0/8], notNamespaces: [evil] } }]
    to: [{ operation: { methods: [GET], paths: ["/api/*", "*/info"], hosts: [reviews], notPorts: ["9999"] } }]
    when: [{ key: "request.auth.claims[group]", values: [admin] }, { key: "request.headers[x-a]", notValues: [b] }]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: reviews }
spec:
  selector: { matchLabels: { app: reviews } }
  mtls: { mode: STRICT }
  portLevelMtls: { 9080: { mode: PERMISSIVE } }
`),
  yaml('telemetry.yaml', `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing: [{ providers: [{ name: otel }], randomSamplingPercentage: 50, customTags: { env: { literal: { value: prod } }, user: { header: { name: x-user, defaultValue: none } } } }]
  accessLogging: [{ providers: [{ name: json-file }, { name: als }] }]
  metrics: [{ providers: [{ name: prometheus }], overrides: [{ match: { metric: REQUEST_COUNT }, tagOverrides: { response_code: { operation: REMOVE }, request_protocol: { value: "request.headers['x-a']" } } }] }]
`),
];

const MESH_TEXT = `extensionProviders:
- name: otel
  opentelemetry: { service: 127.0.0.1, port: 4318, http: { path: /v1/traces } }
- name: otel-grpc
  opentelemetry: { service: otel-collector.observability.svc.cluster.local, port: 4317 }
- name: als
  envoyOtelAls: { service: otel-collector.observability.svc.cluster.local, port: 4317, logName: weft }
- name: json-file
  envoyFileAccessLog: { path: /tmp/access.json, logFormat: { labels: { code: "%RESPONSE_CODE%" } } }
defaultProviders: { tracing: [otel] }
accessLogFile: /dev/stdout
outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`;

function mesh(): MeshConfig {
  const r = parseMeshConfig(MESH_TEXT, 'mesh.yaml');
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.mesh;
}

export function envoyScenarios(): Scenario[] {
  const withTcp = [...bookinfoProxies(), mysqldb()];
  const located = bookinfoProxies().map((p, i) => ({ ...p, locality: i % 2 ? 'r1/z1/s1' : 'r2/z1/s1' }));
  const tcpPolicies = yaml('tcp.yaml', MYSQL_TRAFFIC_TARGET);
  const out: Scenario[] = [
    { name: 'no config', config: configFrom(), proxies: withTcp },
    { name: 'goldens: jason v2/v3 + egress', config: configFrom(read(DR_ALL), read('istio/bookinfo/networking/virtual-service-reviews-jason-v2-v3.yaml'), read('istio/bookinfo/networking/egress-rule-google-apis.yaml'), EGRESS_TCP), proxies: withTcp },
    { name: 'source labels + SMI TCP', config: configFrom(ratingsForReviewsOnly, tcpPolicies, read(DR_ALL)), proxies: withTcp },
    { name: 'hand-written: every traffic, security and telemetry feature', config: configFrom(...HAND_WRITTEN), proxies: [...located, mysqldb(), proxy('reviews', 'v1', 10, { labels: { app: 'reviews', version: 'v1', 'security.istio.io/tlsMode': 'istio' } })], mesh: mesh() },
  ];
  for (const rel of fixtureFiles(['istio/bookinfo/networking', 'istio/security', 'smi', 'gateway-api'])) {
    const docs = rel === DR_ALL ? [read(rel)] : [read(DR_ALL), read(rel)];
    out.push({ name: rel, config: configFrom(...docs), proxies: withTcp });
  }
  return out;
}
