// The proxy's side of Delta and VHDS, through its real applier, route store and on-demand registry
// (a Proxy that is never started: responses are handed to it as its Delta client would):
// VHDS virtual hosts merge into the route table, are validated like inline ones (every error in one
// NACK), answer waiting on-demand requests, and a state-of-the-world proxy refuses `vhds`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ON_DEMAND_TYPE_URL, packAny, TypeUrl } from '../../src/api/envoy.js';
import { Proxy } from '../../src/proxy/proxy.js';
import type { DeltaResource } from '../../src/proxy/xds/delta-client.js';
import { validateResource } from '../../src/proxy/xds/decode.js';
import { hcmListener, routerFilter } from './helpers/resources.js';

const workload = { service: 'w', namespace: 'default', labels: {}, serviceAccount: 'default', address: '127.0.0.1', appPort: 1, servicePort: 1, outboundPort: 0, inboundPort: 0, protocol: 'HTTP' };
const onDemandFilter = { name: 'envoy.filters.http.on_demand', typed_config: { '@type': ON_DEMAND_TYPE_URL } };
const ads = { ads: {}, resource_api_version: 'V3' };
const listener = hcmListener('out', 0, { rds: { route_config_name: 'out', config_source: ads }, http_filters: [onDemandFilter, routerFilter] });
const vhdsRoute = { name: 'out', vhds: { config_source: ads } };
const vhost = (name: string, domains: string[], extra: object = {}) => ({ name, domains, routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }], ...extra });
const res = (type: keyof typeof TypeUrl, body: { name: string }, aliases: string[] = []): DeltaResource => ({ name: body.name, version: 'v', aliases, resource: packAny(TypeUrl[type], body) });

describe('VHDS in the proxy', () => {
  const proxy = new Proxy({ xdsAddress: '127.0.0.1:1', workload, adminPort: 0 });
  const apply = proxy.applier.handleDelta;
  /** The virtual hosts of a route configuration as the route table has them, in order. */
  const vhostsOf = (routeConfig: string) => proxy.routes.get(routeConfig)!.config.virtualHosts.map((v) => v.name);

  before(async () => {
    const lds = await apply('listener', { resources: [res('listener', listener as { name: string })], removed: [], version: 'l1' });
    assert.deepEqual(lds, { ok: true, subscriptions: { route: ['out'], virtualHost: [] } });
    const rds = await apply('route', { resources: [res('route', vhdsRoute)], removed: [], version: 'r1' });
    assert.deepEqual(rds, { ok: true, subscriptions: { route: ['out'], virtualHost: ['out'] } }, 'a vhds route configuration subscribes its VHDS namespace');
  });
  after(() => proxy.destroy());

  it('merges virtual hosts into the table and answers waiting requests', async () => {
    assert.equal(proxy.routes.get('out')!.selectVirtualHost('a.local'), undefined);
    const waiting = proxy.onDemand.request('out', 'A.local');
    const missing = proxy.onDemand.request('out', 'nosuch');
    assert.deepEqual(proxy.onDemand.names(), ['out', 'out/a.local', 'out/nosuch'], 'one subscription per host, lower-cased');
    const r = await apply('virtualHost', {
      resources: [res('virtualHost', vhost('out/a', ['a.local']), ['out/a.local']), { name: 'out/nosuch', version: '', aliases: ['out/nosuch'], resource: undefined }],
      removed: [],
      version: 'vh1',
    });
    assert.deepEqual(r, { ok: true });
    assert.equal(await waiting, 'found');
    assert.equal(await missing, 'missing');
    assert.equal(await proxy.onDemand.request('out', 'nosuch'), 'missing', 'a known-missing host is answered at once');
    assert.equal(proxy.routes.get('out')!.selectVirtualHost('a.local')!.vhost.name, 'out/a');
    const dump = proxy.configDump() as { configs: { dynamic_route_configs?: { route_config: { virtual_hosts: { name: string }[] } }[] }[] };
    assert.deepEqual(dump.configs[2].dynamic_route_configs![0].route_config.virtual_hosts.map((v) => v.name), ['out/a']);
  });

  it('keeps VHDS virtual hosts across an update of their route configuration', async () => {
    assert.deepEqual(await apply('route', { resources: [res('route', { ...vhdsRoute, request_headers_to_remove: ['x-debug'] } as { name: string })], removed: [], version: 'r2' }), {
      ok: true,
      subscriptions: { route: ['out'], virtualHost: ['out', 'out/a.local', 'out/nosuch'] },
    });
    assert.ok(proxy.routes.get('out')!.selectVirtualHost('a.local'));
  });

  it('NACKs invalid virtual hosts with every error, and changes nothing', async () => {
    const r = await apply('virtualHost', {
      resources: [
        res('virtualHost', vhost('out/bad', ['x*y*'], { routes: [{ match: {}, route: { cluster: 'c' } }] })),
        res('virtualHost', vhost('out/dup', ['a.local'])),
        res('virtualHost', vhost('other/b', ['b.local'])),
        res('virtualHost', vhost('noslash', ['c.local'])),
      ],
      removed: [],
      version: 'vh-bad',
    });
    assert.equal(r.ok, false);
    const message = (r as { message: string }).message;
    for (const want of [
      /virtual host out\/bad: domains\[0\]: "x\*y\*": only one wildcard allowed/,
      /virtual host out\/bad: routes\[0\]\.match: one of prefix, path, safe_regex, path_separated_prefix is required/,
      /virtual host noslash: name: "noslash" must be <route configuration name>\/<virtual host name>/,
    ]) assert.match(message, want);
    assert.deepEqual(vhostsOf('out'), ['out/a'], 'the NACKed batch changed nothing');
    // Valid on their own, but one names an unknown route configuration and one reuses a domain; the
    // third is fine and must not be applied either, since the batch is refused whole.
    const r2 = await apply('virtualHost', {
      resources: [res('virtualHost', vhost('out/dup', ['a.local'])), res('virtualHost', vhost('other/b', ['b.local'])), res('virtualHost', vhost('out/fine', ['fine.local']))],
      removed: [],
      version: 'vh-bad2',
    });
    assert.equal(r2.ok, false);
    assert.match((r2 as { message: string }).message, /route out: virtual host out\/dup: domain "a\.local" is also in virtual host "out\/a"/);
    assert.match((r2 as { message: string }).message, /virtual host other\/b: route configuration "other" is not one this proxy runs with vhds/);
    assert.deepEqual(vhostsOf('out'), ['out/a'], 'the NACKed batch changed nothing');
    assert.equal(proxy.routes.get('out')!.selectVirtualHost('fine.local'), undefined);
    assert.equal(proxy.applier.status.virtualHost.version, 'vh1', 'the NACKed version is not recorded');
  });

  it('a removed virtual host leaves the table, and the hosts it answered are missing', async () => {
    assert.deepEqual(await apply('virtualHost', { resources: [], removed: ['out/a'], version: 'vh2' }), { ok: true });
    assert.equal(proxy.routes.get('out')!.selectVirtualHost('a.local'), undefined);
    assert.equal(await proxy.onDemand.request('out', 'a.local'), 'missing');
  });
});

describe('on-demand filter and vhds validation', () => {
  it('the on-demand filter validates its typed_config and its place', () => {
    const bad = hcmListener('l', 0, {
      rds: { route_config_name: 'out', config_source: ads },
      http_filters: [routerFilter, { name: 'envoy.filters.http.on_demand', typed_config: { '@type': ON_DEMAND_TYPE_URL, odcds: { source: ads } } }],
    }) as Record<string, unknown>;
    const v = validateResource('listener', JSON.parse(JSON.stringify(bad)));
    assert.equal(v.valid, false);
    const errors = (v as { errors: string[] }).errors.join('\n');
    assert.match(errors, /http_filters\[1\]\.typed_config\.odcds: on-demand cluster discovery is not supported/);
    assert.match(errors, /http_filters\[0\]: the terminal filter "envoy\.filters\.http\.router" must be last/);
  });

  it('vhds must come from ADS, and only on an RDS route configuration', () => {
    const v = validateResource('route', { name: 'out', vhds: { config_source: { path: '/etc/vhds' } } });
    assert.deepEqual(v, { valid: false, errors: ['route out: vhds.config_source: only ads config sources are supported'] });
  });

  it('a state-of-the-world proxy refuses a route configuration with vhds', async () => {
    const sotw = new Proxy({ xdsAddress: '127.0.0.1:1', xdsProtocol: 'sotw', workload, adminPort: 0 });
    try {
      await sotw.applier.handle('listener', [packAny(TypeUrl.listener, listener)], 'l1');
      const r = await sotw.applier.handle('route', [packAny(TypeUrl.route, vhdsRoute)], 'r1');
      assert.deepEqual(r, { ok: false, message: 'route out: vhds: needs the Delta xDS protocol (weft proxy --xds-protocol delta)' });
    } finally {
      sotw.destroy();
    }
  });
});
