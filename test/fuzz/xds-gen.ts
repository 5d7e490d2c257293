// Generators of xDS resources as a proxy receives them: valid Envoy messages (shaped like the
// control plane's, from test/proxy/helpers/resources.ts) with fields replaced by wrong, huge or
// self-referring values, encoded with the protobufjs Root of src/api/envoy.ts; then, at the wire
// level, bytes flipped, cut or inserted, and Any envelopes with the wrong type URL.
import fc from 'fast-check';
import { HCM_TYPE_URL, packAny, TypeUrl, type AnyWire } from '../../src/api/envoy.js';
import type { ProxyXdsType } from '../../src/proxy/xds/decode.js';
import type { DeltaUpdate } from '../../src/proxy/xds/delta-client.js';
import { cla, edsCluster, FAULT_TYPE, faultFilter, hcmListener, rdsListener, routerFilter, staticCluster } from '../proxy/helpers/resources.js';
import { prototypeNames, rarely } from './http1-gen.js';

type Json = unknown;

const fault = { '@type': FAULT_TYPE, delay: { fixed_delay: { seconds: 1 }, percentage: { numerator: 50 } }, abort: { http_status: 503, percentage: { numerator: 10, denominator: 'HUNDRED' } } };

function routeConfig(name: string): Record<string, Json> {
  return {
    name,
    request_headers_to_add: [{ header: { key: 'x-a', value: 'v' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    response_headers_to_remove: ['x-b'],
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['reviews', 'reviews:9080', '*.example.com'],
        retry_policy: { retry_on: '5xx,connect-failure', num_retries: { value: 2 }, per_try_timeout: { seconds: 1 } },
        routes: [
          {
            match: { prefix: '/a', headers: [{ name: 'x-user', string_match: { exact: 'u' } }, { name: 'constructor', present_match: true }], query_parameters: [{ name: 'q', string_match: { prefix: 'p' } }] },
            route: { weighted_clusters: { clusters: [{ name: 'c1', weight: { value: 90 } }, { name: 'c2', weight: { value: 10 } }] }, timeout: { seconds: 15 }, regex_rewrite: { pattern: { regex: '^/a' }, substitution: '/b' } },
            typed_per_filter_config: { 'envoy.filters.http.fault': fault },
          },
          { match: { safe_regex: { regex: '/r/[0-9]+' } }, redirect: { host_redirect: 'h', response_code: 'FOUND' } },
          { match: { path: '/d' }, direct_response: { status: 200, body: { inline_string: 'ok' } } },
          { match: { prefix: '/' }, route: { cluster: 'c1', retry_policy: { retry_on: 'reset', retriable_status_codes: [503] } } },
        ],
      },
    ],
  };
}

const inlineListener = hcmListener('inline', 0, { route_config: routeConfig('inline'), http_filters: [{ ...faultFilter, typed_config: fault }, routerFilter], request_timeout: { seconds: 30 }, common_http_protocol_options: { idle_timeout: { seconds: 60 } } }) as { filter_chains: Record<string, Json>[] };
inlineListener.filter_chains[0].filter_chain_match = {
  destination_port: { value: 9080 },
  prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: { value: 8 } }, { address_prefix: '::ffff:1.2.3.4', prefix_len: { value: 128 } }],
  source_prefix_ranges: [{ address_prefix: 'fd00::', prefix_len: { value: 16 } }],
};

/** One valid resource of each kind, and the names they refer to each other by. */
export const bases: Record<Exclude<ProxyXdsType, 'virtualHost' | 'secret'>, () => Record<string, Json>[]> = {
  cluster: () => [
    edsCluster('c1') as Record<string, Json>,
    staticCluster('c2', [8080], { circuit_breakers: { thresholds: [{ max_connections: { value: 10 }, max_retries: { value: 1 } }] }, lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: { value: 3 } } }) as Record<string, Json>,
    { name: 'c3', type: 'STRICT_DNS', load_assignment: cla('c3', [80], 'localhost'), dns_refresh_rate: { seconds: 5 }, dns_lookup_family: 'V4_ONLY' },
  ],
  endpoint: () => [cla('c1', [8080, 8081]) as Record<string, Json>],
  listener: () => [rdsListener('l', 0, 'r') as Record<string, Json>, inlineListener as Record<string, Json>, rdsListener('lv', 0, 'v') as Record<string, Json>],
  route: () => [routeConfig('r'), { name: 'v', vhds: { config_source: { ads: {}, resource_api_version: 'V3' } } }],
};

const userName = fc.oneof(fc.constantFrom(...prototypeNames, 'c1', 'c2', 'r', 'l', 'missing', ''), fc.string({ maxLength: 6 }));
const duration = fc.oneof(
  fc.record({ seconds: fc.constantFrom(0, 1, 2 ** 31, 315_576_000_000, 1e15, 2 ** 53, -1), nanos: fc.constantFrom(0, 1, 999_999_999, 2 ** 31 - 1, -1) }, { requiredKeys: [] }),
);
const anyOf = fc.oneof(
  fc.record({ '@type': fc.constantFrom(FAULT_TYPE, HCM_TYPE_URL, TypeUrl.cluster, TypeUrl.route, 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', 'type.googleapis.com/google.protobuf.Struct') }),
  fc.record({ type_url: fc.constantFrom('type.googleapis.com/nope.Nope', 'x/', '', '/', FAULT_TYPE, HCM_TYPE_URL), value: fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)) }),
);
/** Values a field may be replaced with: some fit the field's type (and pack), others do not. */
const replacement: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom(0, 1, -1, 65536, 2 ** 32, 2 ** 53, 1e300, 0.5, true, false, '', 'x', [], {}, null),
  fc.constantFrom('STATIC', 'EDS', 'ORIGINAL_DST', 'RING_HASH', 'HUNDRED', 'MILLION', 'APPEND_IF_EXISTS_OR_ADD', 'TCP', 'UDP', '::1', '1:2:3:4:5:6:7:8%a::b:c', '10.0.0.0', 'fe80::1%eth0', 'localhost'),
  userName,
  duration,
  anyOf,
  fc.record({ regex: fc.constantFrom('(', 'a)|(b', '(?=x)', '\\1', '.*', '(?i)A', '[') }),
  fc.record({ header: fc.record({ key: fc.constantFrom(...prototypeNames, 'Host', ':path', 'x\r\ny', 'x'), value: fc.constantFrom('v', 'a\r\nb', '\x00') }), append_action: fc.constantFrom('ADD_IF_ABSENT', 'NOPE') }),
  fc.array(userName, { maxLength: 3 }),
);

type Container = Record<string, Json> | Json[];
const isContainer = (v: Json): v is Container => typeof v === 'object' && v !== null && !Buffer.isBuffer(v);

function slots(root: Json): { parent: Container; key: string | number }[] {
  const out: { parent: Container; key: string | number }[] = [];
  const walk = (v: Json) => {
    if (!isContainer(v)) return;
    for (const key of Array.isArray(v) ? v.keys() : Object.keys(v)) {
      out.push({ parent: v, key });
      walk((v as Record<string | number, Json>)[key]);
    }
  };
  walk(root);
  return out;
}

const strings = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('::1', '1:2:3:4:5:6:7:8%a::b:c', 'fe80::1%eth0', '10.0.0.0', '::ffff:1.2.3.4', '1::2::3', 'localhost', '256.1.1.1') },
  { weight: 2, arbitrary: fc.constantFrom('STATIC', 'EDS', 'ORIGINAL_DST', 'RING_HASH', 'MILLION', 'TCP', 'UDP', '(', 'a)|(b', '(?=x)', '[', '(?i)A', '*', '*.*', 'a*b', 'x\r\ny', '') },
  { weight: 1, arbitrary: userName },
);
const numbers = fc.constantFrom(0, 1, -1, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 53, 1e300, 0.5);
const mutation = fc.record({ at: fc.nat(), value: replacement, str: strings, num: numbers, field: fc.option(fc.constantFrom('vhds', 'cluster_header', 'transport_socket', 'use_original_dst', 'prefix_ranges', 'name', 'domains', 'typed_per_filter_config', 'retry_policy', 'timeout', 'num_retries', 'idle_timeout', 'fixed_delay', 'connect_timeout', 'dns_refresh_rate', 'per_try_timeout', 'request_timeout'), { nil: undefined }) });
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** Replace one field (or add a named one) somewhere in the resource. */
function mutate(root: Record<string, Json>, m: Mutation): void {
  const all = slots(root);
  if (all.length === 0) return;
  const { parent, key } = all[m.at % all.length];
  if (m.field !== undefined && !Array.isArray(parent)) return void (parent[m.field] = m.value);
  // A value of the field's own kind mostly: it gets past protobufjs and reaches the validators.
  const current = (parent as Record<string | number, Json>)[key];
  const value = typeof current === 'string' ? m.str : typeof current === 'number' ? m.num : m.value;
  (parent as Record<string | number, Json>)[key] = value;
}

/** VHDS virtual hosts of route configuration "v" (and of others, which must be refused). */
export const virtualHostBodies = fc
  .tuple(fc.constantFrom('v/a', 'v/b', 'r/a', 'v', 'nope/x', 'v/__proto__'), fc.array(mutation, { maxLength: 2 }))
  .map(([name, ms]) => {
    const vh = { ...(structuredClone((routeConfig('x').virtual_hosts as Record<string, Json>[])[0]) as Record<string, Json>), name, domains: [name.slice(name.indexOf('/') + 1) || 'a'] };
    for (const m of ms) mutate(vh, m);
    return vh;
  });

/** A route configuration with `n` virtual hosts of `n` routes' worth of weighted clusters each. */
export const hugeRoute = fc.integer({ min: 1, max: 2000 }).map((n) => ({
  name: 'r',
  virtual_hosts: Array.from({ length: n }, (_, i) => ({
    name: `vh${i}`,
    domains: [`h${i}`, `h${i}:80`],
    routes: [{ match: { prefix: `/${i}` }, route: { weighted_clusters: { clusters: Array.from({ length: Math.min(n, 8) }, (_, j) => ({ name: `c${j}`, weight: { value: 1 } })) } } }],
  })),
}));

/** Pack; a mutation protobufjs cannot encode (a string where a message goes) is dropped. */
function pack(type: ProxyXdsType, body: Record<string, Json>, fallback: Record<string, Json>): AnyWire {
  try {
    return packAny(TypeUrl[type], body);
  } catch {
    return packAny(TypeUrl[type], fallback);
  }
}

const wireEdit = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);
type WireEdit = typeof wireEdit extends fc.Arbitrary<infer W> ? W : never;

function edit(value: Uint8Array, e: WireEdit): Buffer {
  const b = Buffer.from(value);
  if (b.length === 0) return b;
  const at = e.at % b.length;
  if (e.op === 'flip') b[at] = e.byte;
  else if (e.op === 'cut') return b.subarray(0, at);
  else return Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
  return b;
}

/** The resource bodies of one response of `type`, mutated (as plain objects, before packing). */
export function mutatedBodies(type: Exclude<ProxyXdsType, 'virtualHost' | 'secret'>, o: ResponseOptions): fc.Arbitrary<{ body: Record<string, Json>; original: Record<string, Json> }[]> {
  const base = bases[type]();
  return fc.tuple(fc.subarray(base.map((_, i) => i), { minLength: 1 }), fc.array(mutation, { maxLength: 3 }), fc.nat()).map(([picked, ms, which]) => {
    const bodies = picked.map((i) => ({ body: structuredClone(base[i]), original: base[i] }));
    for (const m of ms) mutate(bodies[which % bodies.length].body, m);
    if (o.loopbackListeners && type === 'listener') for (const b of bodies) b.body.address = loopback;
    return bodies;
  });
}

const loopback = { socket_address: { address: '127.0.0.1', port_value: 0 } };

export interface ResponseOptions {
  /** Listeners bind 127.0.0.1 port 0 whatever the mutation (for responses that are applied). */
  loopbackListeners?: boolean;
}

/** A response of `type`: mutated resources, sometimes damaged on the wire or under another type URL. */
export function response(type: Exclude<ProxyXdsType, 'virtualHost' | 'secret'>, o: ResponseOptions = {}): fc.Arbitrary<AnyWire[]> {
  return fc
    .tuple(
      mutatedBodies(type, o),
      rarely(wireEdit, 3),
      rarely(fc.constantFrom(...Object.values(TypeUrl), 'type.googleapis.com/nope', ''), 10),
    )
    .map(([bodies, wire, url]) => {
      const anys = bodies.map(({ body, original }) => pack(type, body, original));
      if (o.loopbackListeners && type === 'listener') {
        // Damage could move the address too: keep such a response to what was packed.
      } else if (wire) anys[0] = { type_url: anys[0].type_url, value: edit(anys[0].value, wire) };
      if (url !== undefined) anys[anys.length - 1] = { type_url: url, value: anys[anys.length - 1].value };
      return anys;
    });
}

export const xdsType = fc.constantFrom<Exclude<ProxyXdsType, 'virtualHost' | 'secret'>>('cluster', 'endpoint', 'listener', 'route');

// Every base packs and validates: a fuzz run that starts from broken resources tests nothing.
for (const [type, make] of Object.entries(bases)) for (const b of make()) packAny(TypeUrl[type as keyof typeof bases], b);

const nameOf = (v: Json): string => (typeof v === 'string' ? v : '');
const removedNames = fc.array(fc.constantFrom('c1', 'c2', 'c3', 'l', 'lv', 'inline', 'r', 'v', 'v/a', 'v/b', 'missing', ...prototypeNames), { maxLength: 3 });

/** One Delta response: upserts (a body, or none for a name that does not exist) and removals. */
export const deltaStep: fc.Arbitrary<[ProxyXdsType, DeltaUpdate]> = fc.oneof(
  {
    weight: 4,
    arbitrary: xdsType.chain((type) => fc.tuple(fc.constant(type), mutatedBodies(type, { loopbackListeners: true }), removedNames)).map(([type, bodies, removed]): [ProxyXdsType, DeltaUpdate] => [
      type,
      {
        resources: bodies.map(({ body, original }) => ({ name: nameOf(body[type === 'endpoint' ? 'cluster_name' : 'name']), version: '1', aliases: [], resource: pack(type, body, original) })),
        removed,
        version: 'd',
      },
    ]),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.array(fc.tuple(virtualHostBodies, fc.boolean(), fc.array(fc.constantFrom('v/a', 'v/x.example.com', 'v/__proto__'), { maxLength: 2 })), { minLength: 1, maxLength: 3 }), removedNames).map(([vhs, removed]): [ProxyXdsType, DeltaUpdate] => [
      'virtualHost',
      { resources: vhs.map(([vh, absent, aliases]) => ({ name: nameOf(vh.name), version: '1', aliases, resource: absent ? undefined : pack('virtualHost', vh, { name: 'v/a', domains: ['a'] }) })), removed, version: 'vh' },
    ]),
  },
);
