// A SotW sidecar started against a TestAdsServer with one RDS listener `out`, as the integration tests
// of the proxy's data path need it: fast reconnects, any admin port, and ready once a route answers.
import { Proxy, type ProxyOptions } from '../../../src/proxy/proxy.js';
import type { WorkloadIdentity } from '../../../src/proxy/xds/node.js';
import type { TestAdsServer } from './ads-server.js';
import { eventually, rdsListener, request } from './resources.js';

/** The workload fronted; its app and service ports are placeholders, tests call the `out` listener. */
export const testWorkload: WorkloadIdentity = {
  service: 'client',
  namespace: 'default',
  labels: { version: 'v1' },
  serviceAccount: 'default',
  address: '127.0.0.1',
  appPort: 1,
  servicePort: 1,
  outboundPort: 15001,
  inboundPort: 15006,
  protocol: 'HTTP',
};

export interface ProxyUnderTestOptions {
  clusters: object[];
  /** The route configuration `out`. */
  routes: object;
  /** A virtual host whose 200 says the routes are applied. */
  readyHost: string;
  drainTimeoutMs?: number;
  /** Further Proxy options (clock, randomness). */
  proxy?: Partial<ProxyOptions>;
}

/** Start `ads` with CDS c1, LDS l1 and RDS r1, then the proxy; resolves with it and the port of `out`. */
export async function startProxyUnderTest(ads: TestAdsServer, o: ProxyUnderTestOptions): Promise<{ proxy: Proxy; port: number }> {
  await ads.start();
  ads.set('cluster', 'c1', o.clusters);
  ads.set('listener', 'l1', [rdsListener('out', 0)]);
  ads.set('route', 'r1', [o.routes]);
  const proxy = new Proxy({
    xdsAddress: ads.address,
    xdsProtocol: 'sotw',
    workload: testWorkload,
    adminPort: 0,
    xdsBackoff: { initialMs: 20, maxMs: 100 },
    drainTimeoutMs: o.drainTimeoutMs,
    ...o.proxy,
  });
  try {
    await proxy.start();
    await proxy.whenReady(5000);
    const port = proxy.listenerPort('out')!;
    await eventually(async () => (await request(port, { host: o.readyHost })).status === 200, 5000, 'routes');
    return { proxy, port };
  } catch (err) {
    // The caller never gets the proxy to destroy in its after().
    proxy.destroy();
    throw err;
  }
}

/** A SotW proxy on whatever `ads` serves, ready once its first CDS and LDS are applied. */
export async function startSotwProxy(ads: TestAdsServer): Promise<Proxy> {
  const p = new Proxy({ xdsAddress: ads.address, xdsProtocol: 'sotw', workload: testWorkload, adminPort: 0, xdsBackoff: { initialMs: 20, maxMs: 100 } });
  try {
    await p.start();
    await p.whenReady(5000);
    return p;
  } catch (err) {
    p.destroy();
    throw err;
  }
}
