// Virtual-host selection and route matching, table-driven, on compiled route tables.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import type { RequestView } from '../../src/proxy/http/stream.js';
import { RouteTable } from '../../src/proxy/http/route-table.js';
import { validateResource } from '../../src/proxy/xds/decode.js';
import type { RouteConfiguration } from '../../src/proxy/xds/model.js';

function table(raw: object): RouteTable {
  const v = validateResource('route', unpackAny(packAny(TypeUrl.route, raw)));
  if (!v.valid) throw new Error(v.errors.join('\n'));
  return new RouteTable(v.result as RouteConfiguration);
}

class View implements RequestView {
  readonly path: string;
  private readonly headers: Record<string, string>;
  private readonly query: URLSearchParams;
  constructor(
    readonly url: string,
    headers: Record<string, string> = {},
    readonly method = 'GET',
    readonly authority = 'host',
  ) {
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
    this.query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    this.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  }
  header(name: string): string | undefined {
    if (name === ':authority') return this.authority;
    if (name === ':path') return this.url;
    if (name === ':method') return this.method;
    return this.headers[name];
  }
  queryParam(name: string): string | undefined {
    return this.query.get(name) ?? undefined;
  }
}

describe('virtual host selection (like Envoy)', () => {
  const vh = (name: string, domains: string[]) => ({ name, domains, routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] });
  const t = table({
    name: 'r',
    virtual_hosts: [
      vh('exact', ['reviews', 'reviews:9080', 'Reviews.Default.svc.cluster.local:9080']),
      vh('suffix-long', ['*.svc.cluster.local']),
      vh('suffix-short', ['*.local']),
      vh('suffix-dash', ['*-api.example.com']),
      vh('prefix', ['api.*']),
      vh('prefix-longer', ['api.internal.*']),
      vh('catch-all', ['*']),
    ],
  });
  const cases = [
    { name: 'exact', host: 'reviews', want: 'exact' },
    { name: 'exact with port', host: 'reviews:9080', want: 'exact' },
    { name: 'case-insensitive', host: 'REVIEWS.default.SVC.cluster.local:9080', want: 'exact' },
    { name: 'longest suffix wins', host: 'ratings.default.svc.cluster.local', want: 'suffix-long' },
    { name: 'shorter suffix', host: 'foo.local', want: 'suffix-short' },
    { name: 'suffix wildcard needs a character', host: '.local', want: 'catch-all' },
    { name: 'suffix with dash', host: 'orders-api.example.com', want: 'suffix-dash' },
    { name: 'exact beats wildcards', host: 'reviews', want: 'exact' },
    { name: 'suffix beats prefix', host: 'api.svc.cluster.local', want: 'suffix-long' },
    { name: 'prefix wildcard', host: 'api.example.org', want: 'prefix' },
    { name: 'longest prefix wins', host: 'api.internal.x', want: 'prefix-longer' },
    { name: 'fallback', host: 'unknown:80', want: 'catch-all' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(t.selectVirtualHost(c.host)?.vhost.name, c.want);
      // Second lookup goes through the cache and must agree.
      assert.equal(t.selectVirtualHost(c.host)?.vhost.name, c.want);
    });
  }
  it('no match without a catch-all', () => {
    const t2 = table({ name: 'r', virtual_hosts: [vh('only', ['a'])] });
    assert.equal(t2.selectVirtualHost('b'), undefined);
  });
});

describe('route matching: first match wins', () => {
  const r = (name: string, match: object) => ({ name, match, route: { cluster: name } });
  const t = table({
    name: 'r',
    virtual_hosts: [
      {
        name: 'v',
        domains: ['*'],
        routes: [
          r('exact-path', { path: '/exact' }),
          r('ci-prefix', { prefix: '/CI/', case_sensitive: { value: false } }),
          r('cs-prefix', { prefix: '/api/' }),
          r('regex', { safe_regex: { regex: '/items/[0-9]+' } }),
          r('header-exact', { prefix: '/h', headers: [{ name: 'x-user', string_match: { exact: 'jason' } }] }),
          r('header-ci-prefix', { prefix: '/h', headers: [{ name: 'x-user', string_match: { prefix: 'AD', ignore_case: true } }] }),
          r('header-regex', { prefix: '/h', headers: [{ name: 'x-user', string_match: { safe_regex: { regex: 'u[0-9]+' } } }] }),
          r('header-absent', { prefix: '/h', headers: [{ name: 'x-user', present_match: true, invert_match: true }] }),
          r('method', { prefix: '/m', headers: [{ name: ':method', string_match: { exact: 'POST' } }] }),
          r('authority', { prefix: '/a', headers: [{ name: ':authority', string_match: { suffix: '.internal' } }] }),
          r('query', { prefix: '/q', query_parameters: [{ name: 'v', string_match: { exact: '2' } }] }),
          r('query-present', { prefix: '/q', query_parameters: [{ name: 'debug', present_match: true }] }),
          r('separated', { path_separated_prefix: '/sep' }),
          r('default', { prefix: '/' }),
        ],
      },
    ],
  });
  const cases: { name: string; view: View; want: string }[] = [
    { name: 'exact path', view: new View('/exact'), want: 'exact-path' },
    { name: 'exact path ignores the query', view: new View('/exact?x=1'), want: 'exact-path' },
    { name: 'exact path is exact', view: new View('/exact/more'), want: 'default' },
    { name: 'case-insensitive prefix', view: new View('/ci/thing'), want: 'ci-prefix' },
    { name: 'prefix is case-sensitive by default', view: new View('/api/x'), want: 'cs-prefix' },
    { name: 'case-sensitive prefix: another case does not match', view: new View('/API/x'), want: 'default' },
    { name: 'exact path: another case does not match', view: new View('/Exact'), want: 'default' },
    { name: 'regex is a full match', view: new View('/items/42'), want: 'regex' },
    { name: 'regex does not match a longer path', view: new View('/items/42/x'), want: 'default' },
    { name: 'header exact', view: new View('/h', { 'x-user': 'jason' }), want: 'header-exact' },
    { name: 'header exact is case-sensitive', view: new View('/h', { 'x-user': 'Jason' }), want: 'default' },
    { name: 'header exact is not a prefix match', view: new View('/h', { 'x-user': 'jasonx' }), want: 'default' },
    { name: 'header prefix ignore_case', view: new View('/h', { 'x-user': 'admin' }), want: 'header-ci-prefix' },
    { name: 'header regex', view: new View('/h', { 'x-user': 'u17' }), want: 'header-regex' },
    { name: 'present + invert = absent', view: new View('/h'), want: 'header-absent' },
    { name: 'present header, no matcher fits', view: new View('/h', { 'x-user': 'zed' }), want: 'default' },
    { name: ':method pseudo-header', view: new View('/m', {}, 'POST'), want: 'method' },
    { name: ':method mismatch', view: new View('/m', {}, 'GET'), want: 'default' },
    { name: ':authority pseudo-header', view: new View('/a', {}, 'GET', 'svc.internal'), want: 'authority' },
    { name: 'suffix match is not a contains match', view: new View('/a', {}, 'GET', 'svc.internal.example'), want: 'default' },
    { name: 'query exact', view: new View('/q?v=2'), want: 'query' },
    { name: 'query present', view: new View('/q?debug'), want: 'query-present' },
    { name: 'query missing', view: new View('/q?v=3'), want: 'default' },
    { name: 'separated prefix exact', view: new View('/sep'), want: 'separated' },
    { name: 'separated prefix segment', view: new View('/sep/x'), want: 'separated' },
    { name: 'separated prefix is not a string prefix', view: new View('/separate'), want: 'default' },
  ];
  const vh = t.selectVirtualHost('anything')!;
  for (const c of cases) {
    it(c.name, () => assert.equal(vh.match(c.view)?.route.name, c.want));
  }

  it('no route matched', () => {
    const t2 = table({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [r('only', { path: '/only' })] }] });
    assert.equal(t2.selectVirtualHost('x')!.match(new View('/other')), undefined);
  });

  it('string matchers on an absent header do not match even when inverted', () => {
    const t2 = table({
      name: 'r',
      virtual_hosts: [
        { name: 'v', domains: ['*'], routes: [r('inv', { prefix: '/', headers: [{ name: 'x', string_match: { exact: 'a' }, invert_match: true }] })] },
      ],
    });
    const vh2 = t2.selectVirtualHost('x')!;
    assert.equal(vh2.match(new View('/'))?.route.name, undefined);
    assert.equal(vh2.match(new View('/', { x: 'b' }))?.route.name, 'inv');
    assert.equal(vh2.match(new View('/', { x: 'a' }))?.route.name, undefined);
  });
});

describe('weighted cluster pick', () => {
  it('splits in proportion to the weights', () => {
    const t = table({
      name: 'r',
      virtual_hosts: [
        {
          name: 'v',
          domains: ['*'],
          routes: [
            {
              match: { prefix: '/' },
              route: {
                weighted_clusters: {
                  clusters: [
                    { name: 'a', weight: { value: 70 } },
                    { name: 'zero', weight: { value: 0 } },
                    { name: 'b', weight: { value: 20 } },
                    { name: 'c', weight: { value: 10 } },
                  ],
                },
              },
            },
          ],
        },
      ],
    });
    const route = t.selectVirtualHost('x')!.match(new View('/'))!;
    // A counted RNG walks [0, 1) evenly, so the split is exact.
    const N = 1000;
    let i = 0;
    const counted = () => (i++ % N) / N;
    const counts: Record<string, number> = {};
    for (let k = 0; k < N; k++) {
      const c = route.pickCluster(counted);
      counts[c] = (counts[c] ?? 0) + 1;
    }
    assert.deepEqual(counts, { a: 700, b: 200, c: 100 });
  });
});
