// Istio API → control plane → sidecars → behaviour, in this process: a DestinationRule with
// outlierDetection and a connectionPool is read from a config directory, translated, served over
// ADS to a client sidecar, and acted on for two `reviews` instances (each behind its own sidecar),
// one of which always answers 503.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlPlane } from '../../src/controlplane/control-plane.js';
import { Proxy } from '../../src/proxy/proxy.js';
import { freePorts } from '../helpers/processes.js';
import { eventually, request, startUpstream, type Upstream } from '../proxy/helpers/resources.js';

const DR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews }
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      http: { http1MaxPendingRequests: 50, maxRequestsPerConnection: 100 }
    outlierDetection: { consecutive5xxErrors: 3, interval: 100ms, baseEjectionTime: 300ms, maxEjectionPercent: 100 }
`;

describe('resilience through the control plane', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-resilience-'));
  const cp = new ControlPlane({ configDir: dir, xdsAddress: '127.0.0.1:0', monitorAddress: '127.0.0.1:0', debounceMs: 10, endpointGraceMs: 50, domain: 'cluster.local' });
  const proxies: Proxy[] = [];
  let good: Upstream;
  let bad: Upstream;
  let client: Proxy;
  let port: number;
  let badInbound: number;

  before(async () => {
    fs.writeFileSync(path.join(dir, 'reviews-dr.yaml'), DR);
    good = await startUpstream('good');
    bad = await startUpstream('bad', (_req, res) => {
      res.writeHead(503, { 'content-length': 4 });
      res.end('down');
      return true;
    });
    await cp.start();
    const p = await freePorts(6);
    badInbound = p[3];
    // In one process every sidecar needs its own node id (the default is derived from the pid).
    const workload = (service: string, version: string, appPort: number, outboundPort: number, inboundPort: number) => ({
      id: `sidecar~127.0.0.1~${service}-${inboundPort}.default~default.svc.cluster.local`,
      service, namespace: 'default', labels: { app: service, version }, serviceAccount: 'default', address: '127.0.0.1', appPort, servicePort: 9080, outboundPort, inboundPort, protocol: 'HTTP' as const,
    });
    const xds = `127.0.0.1:${cp.xdsPort}`;
    const backoff = { initialMs: 50, maxMs: 200 };
    proxies.push(new Proxy({ xdsAddress: xds, xdsProtocol: 'sotw', workload: workload('reviews', 'v1', good.port, p[0], p[1]), adminPort: 0, xdsBackoff: backoff }));
    proxies.push(new Proxy({ xdsAddress: xds, xdsProtocol: 'sotw', workload: workload('reviews', 'v1', bad.port, p[2], p[3]), adminPort: 0, xdsBackoff: backoff }));
    client = new Proxy({ xdsAddress: xds, xdsProtocol: 'sotw', workload: workload('productpage', 'v1', 1, p[4], p[5]), adminPort: 0, xdsBackoff: backoff });
    proxies.push(client);
    await Promise.all(proxies.map((x) => x.start()));
    await Promise.all(proxies.map((x) => x.whenReady(5000)));
    port = client.listenerPort('virtualOutbound')!;
    const cluster = 'outbound|9080||reviews.default.svc.cluster.local';
    await eventually(() => (client.clusters.get(cluster)?.hosts.length ?? 0) === 2, 5000, 'both reviews endpoints at the client');
  });

  after(async () => {
    for (const x of proxies) x.destroy();
    await cp.close();
    await Promise.all([good?.close(), bad?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the failing instance is ejected; Istio default retries hide its 503s from the caller', async (t) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let ok = 0;
    const n = 300;
    try {
      for (let i = 0; i < n; i++) if ((await request(port, { host: 'reviews:9080', agent })).status === 200) ok++;
    } finally {
      agent.destroy();
    }
    const p = 'cluster.outbound|9080||reviews.default.svc.cluster.local';
    const stats = client.stats();
    const ejections = stats[`${p}.outlier_detection.ejections_enforced_consecutive_5xx`];
    t.diagnostic(`${ok}/${n} succeeded; the failing instance got ${bad.seen.length} requests, ejected ${ejections} times; ${stats[`${p}.upstream_rq_retry`]} retries`);
    assert.equal(ok, n, 'every 503 was retried on the other instance (previous-hosts predicate)');
    assert.ok(ejections >= 1, 'ejected at least once');
    // Three consecutive 5xx eject it; while ejected it gets nothing: at most one more streak started.
    assert.ok(bad.seen.length <= 3 * (ejections + 1), `${bad.seen.length} requests reached the failing instance`);
    const clusters = (await request(client.adminPort, { path: '/clusters' })).body;
    assert.match(clusters, new RegExp(`reviews\\.default\\.svc\\.cluster\\.local::127\\.0\\.0\\.1:${badInbound}::outlier_ejections::[1-9]`));
  });
});
