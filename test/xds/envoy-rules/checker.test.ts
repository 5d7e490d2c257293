// The validate.rules checker, table-driven: a message that satisfies every rule of validate.proto
// (rules-test.proto, one field per rule kind), then one case per rule that breaks exactly that rule
// and must be reported with its field path; then the same on Envoy's own types; and every rule kind
// Envoy's loaded protos use is one the checker implements.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { HCM_TYPE_URL, protoIncludeDirs, resourceRoot, TypeUrl } from '../../../src/api/envoy.js';
import { checkResource, formatViolation, IMPLEMENTED_RULES } from '../../../src/controlplane/xds/envoy-rules/check.js';
import { ruleInventory } from '../../../src/controlplane/xds/envoy-rules/field-rules.js';
import { repoRoot } from '../../helpers/paths.js';

function rulesRoot(): protobuf.Root {
  resourceRoot(); // registers descriptor.proto, which validate.proto extends
  const r = new protobuf.Root();
  const dirs = [path.join(repoRoot, 'test/xds/envoy-rules'), ...protoIncludeDirs];
  r.resolvePath = (_o, target) => (path.isAbsolute(target) ? target : (dirs.map((d) => path.join(d, target)).find((p) => fs.existsSync(p)) ?? target));
  r.loadSync('rules-test.proto', { keepCase: true });
  r.resolveAll();
  return r;
}
const root = rulesRoot();
const INNER = 'type.googleapis.com/weft.rulestest.Inner';

const BASE: Record<string, unknown> = {
  s_len_range: 'abc', s_bytes: 'ab', s_len: 'abc', s_pattern: 'abc', s_affix: 'xmy', s_in: 'a', s_not_in: 'ok', s_const: 'c',
  s_hostname: 'reviews.default.svc.cluster.local', s_ip: '::1', s_ipv4: '127.0.0.1', s_ipv6: 'fe80::1', s_email: 'ops@example.com',
  s_uri: 'https://example.com/x', s_uri_ref: '/relative?q=1', s_address: 'example.com', s_uuid: '123e4567-e89b-12d3-a456-426614174000',
  s_header_name: 'x-request-id', s_header_name_loose: 'x odd name', s_header_value: 'text/plain; q=1', s_ignore_empty: '',
  u32_range: 5, u32_outside: 2, i64_range: -5, d_range: 0.5, f_const: 1.5, u32_in: 2, u32_not_in: 4, s32_ignore_empty: 0, b_const: true,
  by: Buffer.from('ab'), color: 'RED',
  rep: ['a'], pairs: { ab: 'v' }, inners: [{ name: 'x' }],
  inner: { name: 'x' }, skipped: { name: '' }, choice_a: 'x',
  dur: { seconds: 1 }, dur_const: { seconds: 1 }, ts: { seconds: 2000 }, ts_past: { seconds: 1000 },
  any: { '@type': INNER, name: 'x' }, wrapped: { value: 1 },
};

const check = (patch: Record<string, unknown>) => {
  const body: Record<string, unknown> = { ...BASE, ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete body[k];
  return checkResource('weft.rulestest.Rules', body, { root, now: Date.UTC(2026, 0, 1) });
};

interface Case {
  name: string;
  patch: Record<string, unknown>;
  /** [path, rule] of every violation expected. */
  want: Array<[string, string]>;
}

const cases: Case[] = [
  { name: 'string min_len (code points, not bytes)', patch: { s_len_range: 'é' }, want: [['s_len_range', 'string.min_len']] },
  { name: 'string max_len', patch: { s_len_range: 'abcdef' }, want: [['s_len_range', 'string.max_len']] },
  { name: 'string min_bytes', patch: { s_bytes: '' }, want: [['s_bytes', 'string.min_bytes']] },
  { name: 'string max_bytes (é is two bytes)', patch: { s_bytes: 'ééé' }, want: [['s_bytes', 'string.max_bytes']] },
  { name: 'string len and len_bytes', patch: { s_len: 'ééé' }, want: [['s_len', 'string.len_bytes']] },
  { name: 'string pattern', patch: { s_pattern: 'ABC' }, want: [['s_pattern', 'string.pattern']] },
  { name: 'string prefix', patch: { s_affix: 'amy' }, want: [['s_affix', 'string.prefix']] },
  { name: 'string suffix', patch: { s_affix: 'xma' }, want: [['s_affix', 'string.suffix']] },
  { name: 'string contains', patch: { s_affix: 'xay' }, want: [['s_affix', 'string.contains']] },
  { name: 'string not_contains', patch: { s_affix: 'xmzy' }, want: [['s_affix', 'string.not_contains']] },
  { name: 'string in', patch: { s_in: 'c' }, want: [['s_in', 'string.in']] },
  { name: 'string not_in', patch: { s_not_in: 'bad' }, want: [['s_not_in', 'string.not_in']] },
  { name: 'string const', patch: { s_const: 'd' }, want: [['s_const', 'string.const']] },
  { name: 'string hostname: a label may not start with "-"', patch: { s_hostname: '-bad.example' }, want: [['s_hostname', 'string.hostname']] },
  { name: 'string hostname: a label of 64 characters', patch: { s_hostname: `${'a'.repeat(64)}.example` }, want: [['s_hostname', 'string.hostname']] },
  { name: 'string ip', patch: { s_ip: '1.2.3' }, want: [['s_ip', 'string.ip']] },
  { name: 'string ipv4 refuses IPv6', patch: { s_ipv4: '::1' }, want: [['s_ipv4', 'string.ipv4']] },
  { name: 'string ipv6 refuses IPv4', patch: { s_ipv6: '127.0.0.1' }, want: [['s_ipv6', 'string.ipv6']] },
  { name: 'string email', patch: { s_email: 'no-at-sign' }, want: [['s_email', 'string.email']] },
  { name: 'string uri must be absolute', patch: { s_uri: '/relative' }, want: [['s_uri', 'string.uri']] },
  { name: 'string uri_ref', patch: { s_uri_ref: 'http://[bad' }, want: [['s_uri_ref', 'string.uri_ref']] },
  { name: 'string address', patch: { s_address: 'not an address' }, want: [['s_address', 'string.address']] },
  { name: 'string uuid', patch: { s_uuid: '123e4567' }, want: [['s_uuid', 'string.uuid']] },
  { name: 'HTTP_HEADER_NAME (strict) refuses a space', patch: { s_header_name: 'x a' }, want: [['s_header_name', 'string.well_known_regex.HTTP_HEADER_NAME']] },
  { name: 'HTTP_HEADER_NAME (strict) refuses the empty name', patch: { s_header_name: '' }, want: [['s_header_name', 'string.well_known_regex.HTTP_HEADER_NAME']] },
  { name: 'HTTP_HEADER_NAME strict: false refuses only NUL, CR, LF', patch: { s_header_name_loose: 'x\na' }, want: [['s_header_name_loose', 'string.well_known_regex.HTTP_HEADER_NAME']] },
  { name: 'HTTP_HEADER_VALUE (strict) refuses control characters', patch: { s_header_value: 'a\u0001' }, want: [['s_header_value', 'string.well_known_regex.HTTP_HEADER_VALUE']] },
  { name: 'ignore_empty: a non-empty value is checked', patch: { s_ignore_empty: 'ab' }, want: [['s_ignore_empty', 'string.min_len']] },
  { name: 'uint32 gt/lt range', patch: { u32_range: 10 }, want: [['u32_range', 'uint32.gt_lt']] },
  { name: 'uint32 exclusive range (gt above lt): inside is refused', patch: { u32_outside: 7 }, want: [['u32_outside', 'uint32.gt_lt']] },
  { name: 'int64 gte/lte', patch: { i64_range: 6 }, want: [['i64_range', 'int64.gte_lte']] },
  { name: 'double gt/lte: zero', patch: { d_range: 0 }, want: [['d_range', 'double.gt_lte']] },
  { name: 'float const', patch: { f_const: 2 }, want: [['f_const', 'float.const']] },
  { name: 'uint32 in', patch: { u32_in: 3 }, want: [['u32_in', 'uint32.in']] },
  { name: 'uint32 not_in', patch: { u32_not_in: 3 }, want: [['u32_not_in', 'uint32.not_in']] },
  { name: 'sint32 ignore_empty: non-zero is checked', patch: { s32_ignore_empty: 4 }, want: [['s32_ignore_empty', 'sint32.gte']] },
  { name: 'bool const', patch: { b_const: false }, want: [['b_const', 'bool.const']] },
  { name: 'bytes min_len', patch: { by: Buffer.alloc(0) }, want: [['by', 'bytes.min_len'], ['by', 'bytes.prefix']] },
  { name: 'bytes max_len', patch: { by: Buffer.from('abcd') }, want: [['by', 'bytes.max_len']] },
  { name: 'bytes prefix', patch: { by: Buffer.from('ba') }, want: [['by', 'bytes.prefix']] },
  { name: 'enum defined_only', patch: { color: 7 }, want: [['color', 'enum.defined_only']] },
  { name: 'enum not_in', patch: { color: 'GREEN' }, want: [['color', 'enum.not_in']] },
  { name: 'repeated min_items', patch: { rep: [] }, want: [['rep', 'repeated.min_items']] },
  { name: 'repeated max_items', patch: { rep: ['a', 'b', 'c'] }, want: [['rep', 'repeated.max_items']] },
  { name: 'repeated unique', patch: { rep: ['a', 'a'] }, want: [['rep', 'repeated.unique']] },
  { name: 'repeated items: the item path', patch: { rep: ['a', ''] }, want: [['rep[1]', 'string.min_len']] },
  { name: 'repeated messages: each one checked', patch: { inners: [{ name: 'x' }, { name: '' }] }, want: [['inners[1].name', 'string.min_len']] },
  { name: 'map min_pairs', patch: { pairs: {} }, want: [['pairs', 'map.min_pairs']] },
  { name: 'map max_pairs', patch: { pairs: { ab: 'v', cd: 'v', ef: 'v' } }, want: [['pairs', 'map.max_pairs']] },
  { name: 'map keys', patch: { pairs: { a: 'v' } }, want: [['pairs["a"] (key)', 'string.min_len']] },
  { name: 'map values', patch: { pairs: { ab: '' } }, want: [['pairs["ab"]', 'string.min_len']] },
  { name: 'message required', patch: { inner: undefined }, want: [['inner', 'message.required']] },
  { name: 'a nested message is checked by its own rules', patch: { inner: { name: '' } }, want: [['inner.name', 'string.min_len']] },
  { name: 'oneof required', patch: { choice_a: undefined }, want: [['choice', 'oneof.required']] },
  { name: 'a oneof member is checked when it is the one set', patch: { choice_a: undefined, choice_b: 3 }, want: [['choice_b', 'uint32.gt']] },
  { name: 'duration required', patch: { dur: undefined }, want: [['dur', 'duration.required']] },
  { name: 'duration gt {} (zero)', patch: { dur: { seconds: 0 } }, want: [['dur', 'duration.gt_lt']] },
  { name: 'duration lt', patch: { dur: { seconds: 11 } }, want: [['dur', 'duration.gt_lt']] },
  { name: 'duration const', patch: { dur_const: { seconds: 2 } }, want: [['dur_const', 'duration.const']] },
  { name: 'timestamp required', patch: { ts: undefined }, want: [['ts', 'timestamp.required']] },
  { name: 'timestamp gt', patch: { ts: { seconds: 10 } }, want: [['ts', 'timestamp.gt']] },
  { name: 'timestamp lt_now', patch: { ts_past: { seconds: 4_000_000_000 } }, want: [['ts_past', 'timestamp.lt_now']] },
  { name: 'any required', patch: { any: undefined }, want: [['any', 'any.required']] },
  { name: 'any in', patch: { any: { '@type': 'type.googleapis.com/google.protobuf.Duration', seconds: 1 } }, want: [['any', 'any.in']] },
  { name: 'any: the packed message is decoded and checked', patch: { any: { '@type': INNER, name: '' } }, want: [['any.name', 'string.min_len']] },
  { name: 'any: a type URL the protos do not define', patch: { any: { type_url: 'type.googleapis.com/weft.rulestest.Unknown', value: Buffer.alloc(0) } }, want: [['any', 'any.type']] },
  { name: 'wrapper: the rule applies to the wrapped value', patch: { wrapped: { value: 0 } }, want: [['wrapped', 'uint32.gte']] },
  { name: 'wrapper: unset is not checked', patch: { wrapped: undefined }, want: [] },
  { name: 'message skip: the skipped message is not checked', patch: { skipped: { name: '' } }, want: [] },
];

describe('validate.rules checker (rules-test.proto: every rule kind)', () => {
  it('the base message satisfies every rule', () => {
    assert.deepEqual(check({}).map(formatViolation), []);
  });
  for (const c of cases) {
    it(c.name, () => {
      const got = check(c.patch);
      assert.deepEqual(got.map((v) => [v.path, v.rule]), c.want, got.map(formatViolation).join('\n'));
      for (const v of got) assert.ok(v.message.length > 0);
    });
  }
});

describe('validate.rules checker on Envoy types', () => {
  const hcmListener = (hcm: Record<string, unknown>) => ({
    name: 'l',
    address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
    filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM_TYPE_URL, ...hcm } }] }],
  });
  const rds = { rds: { route_config_name: 'r', config_source: { ads: {}, resource_api_version: 'V3' } } };
  const table: Array<{ name: string; type: string; body: Record<string, unknown>; want: string[] }> = [
    { name: 'a valid HCM listener', type: TypeUrl.listener, body: hcmListener({ stat_prefix: 'x', ...rds }), want: [] },
    {
      name: 'HCM without stat_prefix, inside the Any of a filter chain',
      type: TypeUrl.listener,
      body: hcmListener(rds),
      want: ['filter_chains[0].filters[0].typed_config.stat_prefix: value length must be at least 1'],
    },
    {
      name: 'HCM without a route specifier (a required oneof)',
      type: TypeUrl.listener,
      body: hcmListener({ stat_prefix: 'x' }),
      want: ['filter_chains[0].filters[0].typed_config.route_specifier: value is required: one of rds, route_config, scoped_routes'],
    },
    {
      name: 'cluster: empty name, zero connect_timeout, undefined lb_policy',
      type: TypeUrl.cluster,
      body: { name: '', type: 'STATIC', connect_timeout: { seconds: 0 }, lb_policy: 99 },
      want: ['name: value length must be at least 1', 'connect_timeout: value must be greater than 0s', 'lb_policy: value 99 must be one of the defined enum values'],
    },
    {
      name: 'route: a virtual host without domains, a match without a path specifier, a status out of range',
      type: TypeUrl.route,
      body: { name: 'r', virtual_hosts: [{ name: 'v', domains: [], routes: [{ match: {}, direct_response: { status: 99 } }] }] },
      want: [
        'virtual_hosts[0].domains: value must contain at least 1 item(s)',
        'virtual_hosts[0].routes[0].match.path_specifier: value is required: one of prefix, path, safe_regex, connect_matcher, path_separated_prefix, path_match_policy',
        'virtual_hosts[0].routes[0].direct_response.status: value must be greater than or equal to 200 and less than 600',
      ],
    },
    {
      name: 'endpoint: a port above 65535 and a locality weight of 0',
      type: TypeUrl.endpoint,
      body: { cluster_name: 'c', endpoints: [{ load_balancing_weight: { value: 0 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 70000 } } } }] }] },
      want: [
        'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: value must be less than or equal to 65535',
        'endpoints[0].load_balancing_weight: value must be greater than or equal to 1',
      ],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      assert.deepEqual(checkResource(c.type, c.body).map(formatViolation).sort(), [...c.want].sort());
    });
  }

  it('implements every rule kind the loaded Envoy protos use', () => {
    const used = [...ruleInventory(resourceRoot()).keys()].map((k) => k.replace(/^(repeated\.items|map\.keys|map\.values)\./, ''));
    assert.ok(used.length > 40, `${used.length} rule kinds found`);
    const missing = [...new Set(used)].filter((k) => !IMPLEMENTED_RULES.has(k));
    assert.deepEqual(missing, []);
  });
});
