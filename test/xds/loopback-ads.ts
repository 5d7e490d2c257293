// The real AdsServer on loopback for a test file, and raw gRPC ADS calls to it, so the tests of either
// protocol write only the requests they send and the responses they expect.
import * as grpc from '@grpc/grpc-js';
import { after, before } from 'node:test';
import { aggregatedDiscoveryService, toStruct, type NodeWire } from '../../src/api/envoy.js';
import type { ConfigSet } from '../../src/config/types.js';
import type { ProxyNode } from '../../src/controlplane/model/proxy-node.js';
import { buildSnapshot } from '../../src/controlplane/model/snapshot.js';
import { ProxyRegistry, type RegistryLimits } from '../../src/controlplane/registry/proxy-registry.js';
import { XdsCache } from '../../src/controlplane/xds/cache.js';
import { AdsServer } from '../../src/controlplane/xds/server.js';

export interface LoopbackAdsOptions {
  /** How long a proxy that left stays registered. */
  graceMs: number;
  config: () => ConfigSet;
  /** Registered besides the proxies connected to the server. */
  extraProxies: () => ProxyNode[];
  limits?: Partial<RegistryLimits>;
}

/** Starts before the file's tests and stops after them; `rebuild` publishes a new snapshot and pushes it,
 * as it also does whenever a proxy comes or goes. */
export function serveLoopbackAds(o: LoopbackAdsOptions) {
  const registry = new ProxyRegistry({ graceMs: o.graceMs, limits: o.limits });
  const cache = new XdsCache();
  const server = new AdsServer({ cache, registry, log: (m) => console.log('# ' + m) });
  let port = 0;
  const rebuild = () => {
    cache.setSnapshot(buildSnapshot({ config: o.config(), proxies: [...registry.proxies(), ...o.extraProxies()], domain: 'cluster.local' }));
    server.push();
  };
  registry.onChange(rebuild);
  before(async () => {
    rebuild();
    port = await server.listen('127.0.0.1:0', aggregatedDiscoveryService().service);
  });
  after(async () => {
    await server.close();
    registry.close();
  });
  return { server, registry, rebuild, address: () => `127.0.0.1:${port}` };
}

/** A raw ADS call; responses queue up until a test takes them with `next`. */
export function openAdsCall<Req, Res>(address: string, method: 'StreamAggregatedResources' | 'DeltaAggregatedResources') {
  const Client = aggregatedDiscoveryService();
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client &
    Record<typeof method, () => grpc.ClientDuplexStream<Req, Res>>;
  const call = client[method]();
  const queue: Res[] = [];
  const waiters: Array<(r: Res) => void> = [];
  call.on('data', (r: Res) => (waiters.length ? waiters.shift()!(r) : queue.push(r)));
  call.on('error', () => {});
  return {
    write: (req: Req) => call.write(req),
    next: (ms = 2000) =>
      new Promise<Res>((resolve, reject) => {
        if (queue.length) return resolve(queue.shift()!);
        const t = setTimeout(() => reject(new Error('no response')), ms);
        waiters.push((r) => {
          clearTimeout(t);
          resolve(r);
        });
      }),
    pending: () => queue.length,
    close: () => {
      call.end();
      client.close();
    },
  };
}

/** The node of a Weft sidecar for `service` `version` in default, serving 9080 over HTTP. */
export function sidecarNode(id: string, service: string, version: string, instanceIp: string): NodeWire {
  return {
    id,
    cluster: service,
    metadata: toStruct({ NAMESPACE: 'default', LABELS: { app: service, version }, INSTANCE_IPS: instanceIp, WEFT_SERVICE: service, WEFT_PORTS: [{ service_port: 9080, endpoint_port: 15006, app_port: 8080, protocol: 'HTTP' }] }),
  };
}
