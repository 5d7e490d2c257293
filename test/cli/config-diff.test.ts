// The pieces of `weft proxy-status PROXY`'s diff and `weft proxy-config log` that are pure: the line
// diff, the per-type comparison of two dumps (with VHDS hosts merged into a Delta proxy's routes), and
// the /logging query. The end-to-end behaviour with real processes is in proxy-config.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareDumps } from '../../src/cli/proxy-config/config-diff.js';
import { unifiedDiff } from '../../src/cli/proxy-config/line-diff.js';
import { VIRTUAL_HOSTS_DUMP } from '../../src/api/config-dump-types.js';
import { Loggers, parseLogLevelQuery } from '../../src/proxy/log.js';
import { describeDomains } from '../../src/cli/proxy-config/routes.js';

const lines = (n: number, change?: [number, string]) => Array.from({ length: n }, (_, i) => (change && change[0] === i ? change[1] : `line ${i}`)).join('\n');

const diffCases: Array<{ name: string; a: string; b: string; want: string[] }> = [
  { name: 'equal', a: lines(5), b: lines(5), want: [] },
  { name: 'one line changed, three of context', a: lines(10), b: lines(10, [5, 'new']), want: ['@@ -3,7 +3,7 @@', ' line 2', ' line 3', ' line 4', '-line 5', '+new', ' line 6', ' line 7', ' line 8'] },
  { name: 'a line added at the end', a: 'x\ny', b: 'x\ny\nz', want: ['@@ -1,2 +1,3 @@', ' x', ' y', '+z'] },
  { name: 'changes far apart are two hunks', a: lines(20), b: lines(20, [1, 'A']).replace('line 18', 'B'), want: ['@@ -1,5 +1,5 @@', ' line 0', '-line 1', '+A', ' line 2', ' line 3', ' line 4', '@@ -16,5 +16,5 @@', ' line 15', ' line 16', ' line 17', '-line 18', '+B', ' line 19'] },
];
for (const c of diffCases) test(`line diff: ${c.name}`, () => assert.deepEqual(unifiedDiff(c.a, c.b), c.want));

const dump = (o: { clusters?: object[]; routes?: object[]; vhosts?: object[] }) => ({
  configs: [
    { '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump', dynamic_active_clusters: (o.clusters ?? []).map((cluster) => ({ cluster })) },
    { '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump', dynamic_route_configs: (o.routes ?? []).map((route_config) => ({ route_config })) },
    ...(o.vhosts ? [{ '@type': VIRTUAL_HOSTS_DUMP, dynamic_virtual_hosts: o.vhosts.map((virtual_host) => ({ virtual_host })) }] : []),
  ],
});

test('compare: key order does not matter; a missing cluster is a whole-resource diff', () => {
  const cp = dump({ clusters: [{ name: 'a', type: 'EDS', connect_timeout: '1s' }, { name: 'b' }] });
  const proxy = dump({ clusters: [{ connect_timeout: '1s', type: 'EDS', name: 'a' }] });
  const [clusters] = compareDumps(cp, proxy);
  assert.equal(clusters.match, false);
  assert.deepEqual(clusters.lines, ['--- control plane cluster b', '+++ proxy cluster b (absent)', '@@ -1,3 +0,0 @@', '-{', '-  "name": "b"', '-}']);
  assert.equal(compareDumps(proxy, proxy)[0].match, true);
});

test("compare: a Delta proxy's VHDS hosts merged into its route config match the control plane's route config without them", () => {
  const vh = { name: 'out/reviews:9080', domains: ['reviews'] };
  const cp = dump({ routes: [{ name: 'out', vhds: { config_source: { ads: {} } } }], vhosts: [vh, { name: 'out/ratings:9080', domains: ['ratings'] }] });
  const proxy = dump({ routes: [{ name: 'out', vhds: { config_source: { ads: {} } }, virtual_hosts: [vh] }], vhosts: [vh] });
  const byTitle = Object.fromEntries(compareDumps(cp, proxy).map((r) => [r.title, r.match]));
  // ratings was never asked for: not a difference (on demand).
  assert.deepEqual(byTitle, { Clusters: true, Listeners: true, Endpoints: true, Routes: true, 'Virtual Hosts': true });
  const stale = dump({ routes: [{ name: 'out', vhds: { config_source: { ads: {} } }, virtual_hosts: [{ ...vh, domains: ['old'] }] }], vhosts: [{ ...vh, domains: ['old'] }] });
  const vhosts = compareDumps(cp, stale).find((r) => r.title === 'Virtual Hosts')!;
  assert.equal(vhosts.match, false);
  assert.ok(vhosts.lines.includes('-    "reviews"') && vhosts.lines.includes('+    "old"'), vhosts.lines.join('\n'));
});

const logCases: Array<{ name: string; query: string; want?: Record<string, string>; error?: RegExp }> = [
  { name: 'nothing: a listing', query: '', want: { http: 'info', config: 'info' } },
  { name: 'level for all', query: 'level=debug', want: { http: 'debug', config: 'debug', main: 'debug' } },
  { name: 'one logger', query: 'http=trace', want: { http: 'trace', config: 'info' } },
  { name: 'unknown level', query: 'level=loud', error: /level=loud: unknown level/ },
  { name: 'unknown logger', query: 'router=debug', error: /router: unknown logger/ },
];
for (const c of logCases)
  test(`/logging query: ${c.name}`, () => {
    const loggers = new Loggers(() => {});
    const r = parseLogLevelQuery(new URLSearchParams(c.query));
    if (c.error) return assert.match(r.ok ? '' : r.error, c.error);
    assert.ok(r.ok);
    if (r.change) loggers.apply(r.change);
    const levels = loggers.levels() as Record<string, string>;
    for (const [k, v] of Object.entries(c.want!)) assert.equal(levels[k], v, k);
  });

test('a logger at info builds no debug line and flags it off; at debug it writes a tagged line', () => {
  const out: string[] = [];
  const loggers = new Loggers((l) => out.push(l));
  const http = loggers.get('http');
  assert.equal(http.debugOn, false);
  http.debug('hidden');
  http.info('shown');
  loggers.apply({ each: { http: 'debug' } });
  assert.equal(http.debugOn, true);
  http.debug('now shown');
  loggers.apply({ all: 'error' });
  http.info('hidden again');
  http.error('bad');
  assert.deepEqual(out, ['shown', '[debug][http] now shown', '[error][http] bad']);
});

const domainCases: Array<{ domains: string[]; want: string }> = [
  { domains: ['*'], want: '*' },
  { domains: ['reviews.default.svc.cluster.local', 'reviews.default.svc.cluster.local:9080', 'reviews', 'reviews:9080', 'reviews.default.svc', 'reviews.default', '240.240.0.3'], want: 'reviews, reviews.default + 1 more...' },
  { domains: ['[fd00:10:96::7fc7]', '[fd00:10:96::7fc7]:9080', 'a.b'], want: '[fd00:10:96::7fc7], a.b' },
];
for (const c of domainCases) test(`routes DOMAINS column: ${c.domains.join(' ')}`, () => assert.equal(describeDomains(c.domains), c.want));
