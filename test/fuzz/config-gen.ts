// Generators of the Istio-API documents Weft reads (VirtualService, DestinationRule, ServiceEntry,
// WorkloadEntry): plausible resources built from the schema, then mutated (a subtree replaced by a
// wrong type, a huge number, deep nesting, a shared or cyclic reference — which YAML writes as
// anchors and aliases), and YAML text that is cut or sprinkled with stray characters.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { prototypeNames } from './http1-gen.js';

type Json = unknown;

/** An object whose keys are taken as they are: a `__proto__` entry is an own key, as YAML gives it. */
export const objectOf = (entries: (readonly [string, Json])[]): Record<string, Json> => Object.fromEntries(entries);

const userKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...prototypeNames) },
  { weight: 4, arbitrary: fc.constantFrom('app', 'version', 'x-user', 'end-user', 'cookie', 'a.b/c', 'Upper', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const dictOf = (value: fc.Arbitrary<Json>, key = userKey) => fc.array(fc.tuple(key, value), { maxLength: 3 }).map(objectOf);
const labels = (value: fc.Arbitrary<Json>) => dictOf(value, mostly(fc.constantFrom('app', 'version', 'a.b/c'), userKey));

/** Mostly valid values, sometimes not: validators must see both. */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: invalid });
const host = mostly(fc.constantFrom('reviews', 'reviews.default.svc.cluster.local', '*.example.com', 'example.com'), fc.constantFrom('*', '1.2.3.4', 'Bad_Host', '', 'a..b'));
const shortStr = mostly(fc.constantFrom('v1', 'v2', 'a', '/x', 'default'), fc.string({ maxLength: 10 }));
const duration = mostly(fc.constantFrom('1s', '500ms', '1h', '2m', '1h30m', '99999999999h'), fc.constantFrom('0s', '0', '-1s', '1.5ms', '1e3s', '', '1s2', '100us'));
const port = mostly(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, 65536, -1, 1.5, 1e300));
const regex = mostly(fc.constantFrom('^/a.*', '(?i)x', '(?P<n>a)', '.*'), fc.constantFrom('(a', 'a)|(b', '(?=x)', '\\1'));
const stringMatch = mostly(fc.oneof(fc.record({ exact: shortStr }), fc.record({ prefix: shortStr }), fc.record({ regex })), fc.oneof(fc.constant({}), fc.record({ exact: shortStr, prefix: shortStr })));
const destination = fc.record({ host, subset: fc.option(shortStr, { nil: undefined }), port: fc.option(fc.record({ number: port }), { nil: undefined }) }, { requiredKeys: ['host'] });
const headerOps = fc.record({ set: dictOf(shortStr), add: dictOf(shortStr), remove: fc.array(userKey, { maxLength: 2 }) }, { requiredKeys: [] });
const headers = fc.record({ request: headerOps, response: headerOps }, { requiredKeys: [] });
const match = fc.record(
  {
    uri: stringMatch,
    method: stringMatch,
    headers: dictOf(stringMatch),
    withoutHeaders: dictOf(stringMatch),
    queryParams: dictOf(stringMatch),
    sourceLabels: labels(shortStr),
    port,
    ignoreUriCase: fc.boolean(),
  },
  { requiredKeys: [] },
);
const routeAction = fc.oneof(
  { weight: 6, arbitrary: fc.record({ route: fc.array(fc.record({ destination, weight: mostly(fc.nat({ max: 100 }), fc.constantFrom(-1, 2 ** 31, 1e300)), headers }, { requiredKeys: ['destination'] }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ redirect: fc.record({ uri: shortStr, authority: shortStr, redirectCode: mostly(fc.constantFrom(301, 302), fc.constant(200)) }, { requiredKeys: ['uri'] }) }) },
  { weight: 1, arbitrary: fc.record({ directResponse: fc.record({ status: mostly(fc.constantFrom(200, 503), fc.constantFrom(99, 600)), body: fc.record({ string: shortStr }) }, { requiredKeys: ['status'] }) }) },
  { weight: 1, arbitrary: fc.constant({}) },
);
const httpRoute = fc
  .tuple(
    routeAction,
    fc.record(
      {
        name: shortStr,
        match: fc.array(match, { maxLength: 2 }),
        rewrite: fc.record({ uri: shortStr, authority: shortStr }, { requiredKeys: ['uri'] }),
        timeout: duration,
        retries: fc.record({ attempts: mostly(fc.constantFrom(1, 3), fc.constantFrom(0, -1)), perTryTimeout: duration, retryOn: mostly(fc.constantFrom('5xx', '5xx,reset', '503'), fc.constant('nope')) }, { requiredKeys: [] }),
        fault: fc.oneof(
          fc.record({ delay: fc.record({ fixedDelay: duration, percentage: fc.record({ value: mostly(fc.constantFrom(0, 50, 100), fc.constantFrom(101, -1)) }) }, { requiredKeys: ['fixedDelay'] }) }),
          fc.record({ abort: fc.record({ httpStatus: mostly(fc.constantFrom(500, 555), fc.constantFrom(100, 600)), percentage: fc.record({ value: mostly(fc.constantFrom(0, 10.5), fc.constant(100.5)) }) }, { requiredKeys: ['httpStatus'] }) }),
        ),
        headers,
      },
      { requiredKeys: [] },
    ),
  )
  .map(([action, rest]) => ({ ...rest, ...action }));

const metadata = fc.record({ name: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('reviews', 'r1', 'a-b') }, { weight: 1, arbitrary: fc.constantFrom(...prototypeNames, '', 'UP') }), namespace: mostly(fc.constantFrom('default', 'ns1'), fc.constant('Bad')), labels: labels(shortStr) }, { requiredKeys: ['name'] });
const apiVersion = mostly(fc.constantFrom('networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'), fc.constantFrom('networking.istio.io/v2', 'v1', 'other.io/v1'));

const trafficPolicy = fc.record(
  {
    loadBalancer: fc.oneof(fc.record({ simple: mostly(fc.constantFrom('ROUND_ROBIN', 'LEAST_CONN', 'RANDOM'), fc.constant('NOPE')) }), fc.record({ consistentHash: fc.record({ httpHeaderName: shortStr }) })),
    connectionPool: fc.record({ tcp: fc.record({ maxConnections: mostly(fc.constantFrom(1, 0), fc.constantFrom(-1, 2 ** 40)), connectTimeout: duration }, { requiredKeys: [] }), http: fc.record({ http1MaxPendingRequests: mostly(fc.constant(1), fc.constant(2 ** 31)), idleTimeout: duration }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    outlierDetection: fc.record({ consecutive5xxErrors: mostly(fc.constant(5), fc.constant(-1)), interval: duration, baseEjectionTime: duration, maxEjectionPercent: mostly(fc.constant(10), fc.constant(101)) }, { requiredKeys: [] }),
    tls: fc.record({ mode: mostly(fc.constantFrom('DISABLE', 'ISTIO_MUTUAL', 'SIMPLE'), fc.constantFrom('MUTUAL', 'x')) }, { requiredKeys: [] }),
    portLevelSettings: fc.array(fc.record({ port: fc.record({ number: port }), loadBalancer: fc.record({ simple: fc.constant('RANDOM') }) }, { requiredKeys: [] }), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

const workloadEntrySpec = fc.record(
  { address: mostly(fc.constantFrom('10.0.0.1', '::1', 'example.com', 'unix:///sock'), fc.constantFrom('unix://', '*.x', '')), ports: dictOf(port, mostly(fc.constantFrom('http', 'grpc-web'), userKey)), labels: labels(shortStr), weight: mostly(fc.constant(1), fc.constantFrom(-1, 2 ** 32)), serviceAccount: mostly(fc.constantFrom('default', 'sa-1'), shortStr) },
  { requiredKeys: [] },
);

const specs = {
  VirtualService: fc.record({ hosts: fc.array(host, { minLength: 1, maxLength: 3 }), gateways: fc.array(mostly(fc.constantFrom('mesh', 'ns/gw', 'gw'), fc.constant('Bad/')), { maxLength: 2 }), http: fc.array(httpRoute, { minLength: 1, maxLength: 3 }), tcp: fc.array(fc.record({ route: fc.array(fc.record({ destination })) }), { maxLength: 1 }), exportTo: fc.array(mostly(fc.constantFrom('.', 'ns'), fc.constantFrom('*', '~')), { maxLength: 2 }) }, { requiredKeys: ['hosts', 'http'] }),
  DestinationRule: fc.record({ host, trafficPolicy, subsets: fc.array(fc.record({ name: mostly(fc.constantFrom('v1', 'v2', 'v3'), shortStr), labels: labels(shortStr), trafficPolicy }, { requiredKeys: ['name'] }), { maxLength: 3 }), exportTo: fc.array(fc.constantFrom('.', '*'), { maxLength: 2 }) }, { requiredKeys: ['host'] }),
  ServiceEntry: fc.record(
    {
      hosts: fc.array(host, { minLength: 1, maxLength: 2 }),
      addresses: fc.array(mostly(fc.constantFrom('10.0.0.0/8', '1.2.3.4', '::/0'), fc.constantFrom('10.0.0.0/33', 'x')), { maxLength: 2 }),
      ports: fc.array(fc.record({ number: port, name: fc.constantFrom('http', 'grpc-web', 'tcp-x', 'http-a', 'Bad'), protocol: mostly(fc.constantFrom('HTTP', 'tcp'), fc.constant('NOPE')) }, { requiredKeys: ['number'] }), { maxLength: 3 }),
      location: mostly(fc.constantFrom('MESH_EXTERNAL', 'MESH_INTERNAL'), fc.constant('x')),
      resolution: mostly(fc.constantFrom('STATIC', 'DNS', 'DNS_ROUND_ROBIN'), fc.constantFrom('NONE', 'x')),
      endpoints: fc.array(workloadEntrySpec, { maxLength: 2 }),
    },
    { requiredKeys: ['hosts', 'ports', 'resolution', 'endpoints'] },
  ),
  WorkloadEntry: workloadEntrySpec,
};

export const resource = fc.constantFrom(...(Object.keys(specs) as (keyof typeof specs)[])).chain((kind) =>
  mostly(
    fc.record({ apiVersion, kind: fc.constant(kind), metadata, spec: specs[kind] as fc.Arbitrary<Json> }),
    fc.record({ apiVersion, kind: fc.constant(kind), metadata, spec: specs[kind] as fc.Arbitrary<Json> }, { requiredKeys: ['kind', 'spec'] }),
  ),
);

/** Small valid resources of each kind: one mutation away from the interesting edge cases. */
const validResource = fc.constantFrom(
  () => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'r', labels: { app: 'r' } }, spec: { hosts: ['reviews'], http: [{ match: [{ uri: { prefix: '/a' }, headers: { 'x-a': { exact: 'v' } } }], route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 90 }, { destination: { host: 'reviews', subset: 'v2' }, weight: 10 }], timeout: '1s', retries: { attempts: 2, perTryTimeout: '500ms' } }], tcp: [{ route: [{ destination: { host: 'db' } }] }] } }),
  () => ({ apiVersion: 'networking.istio.io/v1beta1', kind: 'DestinationRule', metadata: { name: 'r' }, spec: { host: 'reviews', trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } }, connectionPool: { tcp: { connectTimeout: '1s' } } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] } }),
  () => ({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'ServiceEntry', metadata: { name: 'ext', namespace: 'ns1' }, spec: { hosts: ['example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.1', ports: { http: 8080 }, labels: { app: 'x' } }] } }),
  () => ({ apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: { name: 'w' }, spec: { address: '10.0.0.2', ports: { http: 9080 }, labels: { app: 'w' }, serviceAccount: 'sa' } }),
).map((make) => make() as Json);

/** Values that do not belong where they are put. */
const weird: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(null, '', 0, -1, 1e308, -1e308, 2 ** 53 + 1, 0.5, true, [], {}, '__proto__', 'x'.repeat(300)),
  fc.nat({ max: 200 }).map((depth) => {
    let v: Json = 'deep';
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
    return v;
  }),
  fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true }),
);

type Container = Record<string, Json> | Json[];
const isContainer = (v: Json): v is Container => typeof v === 'object' && v !== null;

/** Every object and list inside `root` with its parent key, in a stable order. */
function slots(root: Json): { parent: Container; key: string | number }[] {
  const out: { parent: Container; key: string | number }[] = [];
  const seen = new Set<Container>();
  const walk = (v: Json, depth: number) => {
    // Shared and cyclic references (earlier mutations) are walked once.
    if (!isContainer(v) || depth > 12 || seen.has(v)) return;
    seen.add(v);
    for (const key of Array.isArray(v) ? v.keys() : Object.keys(v)) {
      out.push({ parent: v, key });
      walk((v as Record<string | number, Json>)[key], depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

type Mutation = { kind: 'replace'; at: number; value: Json } | { kind: 'cycle'; at: number; to: number } | { kind: 'share'; at: number; to: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: weird }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cycle' as const), at: fc.nat(), to: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('share' as const), at: fc.nat(), to: fc.nat() }) },
);

function mutate(root: Json, m: Mutation): void {
  const all = slots(root);
  if (all.length === 0) return;
  const { parent, key } = all[m.at % all.length];
  const set = (v: Json) => Object.defineProperty(parent, key, { value: v, enumerable: true, writable: true, configurable: true });
  if (m.kind === 'replace') return void set(m.value);
  // A reference to an ancestor is a recursive alias once written as YAML; to any other node, an alias.
  const containers = [root, ...all.map((s) => (s.parent as Record<string | number, Json>)[s.key])].filter(isContainer);
  if (m.kind === 'cycle') {
    const ancestors = containers.filter((c) => c === parent || slots(c).some((s) => s.parent === parent));
    set(ancestors[m.to % ancestors.length]);
  } else set(containers[m.to % containers.length]);
}

/** One YAML file: a few documents (sometimes a kind: List), resources mutated, text sometimes damaged. */
export const configText = fc
  .record({
    docs: fc.array(fc.tuple(fc.oneof(resource, validResource), fc.array(mutation, { maxLength: 2 })), { minLength: 1, maxLength: 3 }),
    asList: fc.boolean(),
    damage: mostly(fc.constant(undefined), fc.tuple(fc.nat(), fc.constantFrom('', ':', '\t', '&x ', '*x', '---\n', '[', '"', '\n  - ', '<<: *a\n', '!!binary '))),
  })
  .map(({ docs, asList, damage }) => {
    const values = docs.map(([r, ms]) => {
      for (const m of ms) mutate(r, m);
      return r;
    });
    let text = asList ? stringify({ apiVersion: 'v1', kind: 'List', items: values }) : values.map((v) => stringify(v)).join('---\n');
    if (damage) {
      const at = damage[0] % (text.length + 1);
      text = text.slice(0, at) + damage[1] + text.slice(at);
    }
    return text;
  });

/** YAML-ish text from its own punctuation. */
export const yamlNoise = fc.string({ unit: fc.constantFrom(...'ab:- \n\t[]{},&*!|>\'"#?%@`0.~<'.split(''), 'kind: ', 'apiVersion: networking.istio.io/v1\n', 'spec:\n', '&a ', '*a', '<<: '), maxLength: 80 });
