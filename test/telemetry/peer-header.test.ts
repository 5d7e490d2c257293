// Where the peer header goes, through a real in-process sidecar: to endpoints the control plane
// names as mesh workloads (EDS istio metadata) only, never to an external service; an app's own
// value never goes out; a response header from upstream is taken off before the app.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { toStruct } from '../../src/api/envoy.js';
import { ISTIO_STATS_FILTER, ISTIO_STATS_TYPE_URL } from '../../src/api/mesh-names.js';
import { PEER_HEADER } from '../../src/api/peer-metadata.js';
import type { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from '../proxy/helpers/ads-server.js';
import { startSotwProxy } from '../proxy/helpers/proxy-under-test.js';
import { hcmListener, request, routerFilter, startUpstream, type Upstream } from '../proxy/helpers/resources.js';

const ads = new TestAdsServer();
let proxy: Proxy;
let mesh: Upstream;
let external: Upstream;
let port = 0;

const cluster = (name: string, upstream: Upstream, workload?: string) => ({
  name,
  type: 'STATIC',
  connect_timeout: { seconds: 1 },
  load_assignment: {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstream.port } } }, ...(workload ? { metadata: { filter_metadata: { istio: toStruct({ workload }) } } } : {}) }] }],
  },
});

before(async () => {
  // The meshed upstream answers as a sidecar would: with its own peer header.
  mesh = await startUpstream('mesh', (_req, res) => {
    res.writeHead(200, { [PEER_HEADER]: 'w=reviews-v2;n=default;a=reviews;v=v2;c=Kubernetes' }).end('ok');
    return true;
  });
  external = await startUpstream('external');
  await ads.start();
  ads.set('cluster', 'c1', [cluster('outbound|9080||reviews.default.svc.cluster.local', mesh, 'reviews-v2;default;reviews;v2;Kubernetes'), cluster('outbound|443||api.example.com', external)]);
  const routes = (host: string, c: string) => ({ name: host, domains: [host], routes: [{ match: { prefix: '/' }, route: { cluster: c } }] });
  ads.set('listener', 'l1', [
    {
      ...(hcmListener('out', 0, {
        http_filters: [{ name: ISTIO_STATS_FILTER, typed_config: { '@type': ISTIO_STATS_TYPE_URL } }, routerFilter],
        route_config: { name: 'out', virtual_hosts: [routes('reviews', 'outbound|9080||reviews.default.svc.cluster.local'), routes('api.example.com', 'outbound|443||api.example.com')] },
      }) as object),
      traffic_direction: 'OUTBOUND',
    },
  ]);
  proxy = await startSotwProxy(ads);
  port = proxy.listenerPort('out')!;
});

after(async () => {
  proxy?.destroy();
  await ads.stop();
  await mesh?.close();
  await external?.close();
});

test("a mesh endpoint gets this sidecar's peer header (not the app's; no app label: app is the workload name, as Istio's canonical service); the answer's header is taken off", async () => {
  const r = await request(port, { host: 'reviews', headers: { [PEER_HEADER]: 'w=spoofed;n=x' } });
  assert.equal(r.status, 200);
  assert.equal(mesh.seen.at(-1)!.headers[PEER_HEADER], 'w=client-v1;n=default;a=client-v1;v=v1;c=Kubernetes');
  assert.equal(r.headers[PEER_HEADER], undefined);
});

test('an external service gets no peer header at all', async () => {
  const r = await request(port, { host: 'api.example.com', headers: { [PEER_HEADER]: 'w=spoofed;n=x' } });
  assert.equal(r.status, 200);
  assert.equal(external.seen.at(-1)!.headers[PEER_HEADER], undefined);
});
