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
  // Requests the server has handled per proxy, for tests that must know a request was processed (and
  // what it wrote, through server.responses) rather than sleep.
  const handledCount = new Map<string, number>();
  const handledWaiters = new Set<() => void>();
  server.onRequestHandled = (id) => {
    if (id === undefined) return;
    handledCount.set(id, (handledCount.get(id) ?? 0) + 1);
    for (const w of [...handledWaiters]) w();
  };
  /** Resolves once the server has handled `n` requests of proxy `id` in all. */
  const handled = (id: string, n: number, ms = 2000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if ((handledCount.get(id) ?? 0) < n) return;
        handledWaiters.delete(check);
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => (handledWaiters.delete(check), reject(new Error(`${n} requests of ${id} not handled within ${ms} ms`))), ms);
      handledWaiters.add(check);
      check();
    });
  /** Resolves once no registered proxy's id contains `idPart` (its grace period is over, the push done). */
  const gone = (idPart: string, ms = 2000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (registry.proxies().some((p) => p.id.includes(idPart))) return false;
        clearTimeout(t);
        off();
        resolve();
        return true;
      };
      const t = setTimeout(() => (off(), reject(new Error(`${idPart} still registered after ${ms} ms`))), ms);
      const off = registry.onChange(() => void check());
      check();
    });
  before(async () => {
    rebuild();
    port = await server.listen('127.0.0.1:0', aggregatedDiscoveryService().service);
  });
  after(async () => {
    await server.close();
    registry.close();
  });
  return { server, registry, rebuild, handled, gone, address: () => `127.0.0.1:${port}` };
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
