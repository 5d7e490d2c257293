// A small but real ADS server for tests: grpc-js serving envoy.service.discovery.v3 SotW with
// hand-written Envoy resources (packAny). It records every DiscoveryRequest so tests can
// assert ACK/NACK, versions, nonces and node metadata.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import {
  aggregatedDiscoveryService,
  packAny,
  TypeUrl,
  xdsTypeOf,
  type AnyWire,
  type DiscoveryRequestWire,
  type DiscoveryResponseWire,
  type XdsType,
} from '../../../src/api/envoy.js';

type Call = grpc.ServerDuplexStream<DiscoveryRequestWire, DiscoveryResponseWire>;

interface Stored {
  version: string;
  resources: Map<string, AnyWire>;
}

interface StreamSub {
  names: string[];
  sentVersion: string | undefined;
}

const nameField: Record<XdsType, string> = { listener: 'name', route: 'name', cluster: 'name', endpoint: 'cluster_name', secret: 'name', virtualHost: 'name' };
const wildcard = new Set<XdsType>(['listener', 'cluster']);

export class TestAdsServer {
  readonly requests: DiscoveryRequestWire[] = [];
  readonly responses: DiscoveryResponseWire[] = [];
  private readonly events = new EventEmitter();
  private readonly store = new Map<XdsType, Stored>();
  private readonly streams = new Map<Call, Map<XdsType, StreamSub>>();
  private server: grpc.Server | undefined;
  private nonce = 0;
  port = 0;

  /** Bind 127.0.0.1:port (0: any). */
  async start(port = 0): Promise<void> {
    const server = new grpc.Server();
    server.addService(aggregatedDiscoveryService().service, {
      StreamAggregatedResources: (call: Call) => this.onStream(call),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** Replace the set of one type (plain Envoy objects) and push it to every subscribed stream. */
  set(type: XdsType, version: string, resources: object[]): void {
    const map = new Map<string, AnyWire>();
    for (const r of resources) map.set(String((r as Record<string, unknown>)[nameField[type]]), packAny(TypeUrl[type], r));
    this.setRaw(type, version, map);
  }

  /** Same, with already-packed Any (e.g. deliberately odd ones). */
  setRaw(type: XdsType, version: string, resources: Map<string, AnyWire>): void {
    this.store.set(type, { version, resources });
    for (const [call, subs] of this.streams) {
      const sub = subs.get(type);
      if (sub) this.send(call, type, sub);
    }
  }

  /** Resolve with the first recorded request (from index `from`) matching pred. */
  waitForRequest(pred: (r: DiscoveryRequestWire) => boolean, timeoutMs = 5000, from = 0): Promise<DiscoveryRequestWire> {
    const found = this.requests.slice(from).find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onReq = (r: DiscoveryRequestWire) => {
        if (!pred(r)) return;
        clearTimeout(timer);
        this.events.off('request', onReq);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.events.off('request', onReq);
        reject(new Error(`no matching DiscoveryRequest within ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.on('request', onReq);
    });
  }

  /** The nonce of the last response of a type (to find its ACK/NACK). */
  lastNonce(type: XdsType): string | undefined {
    for (let i = this.responses.length - 1; i >= 0; i--) if (this.responses[i].type_url === TypeUrl[type]) return this.responses[i].nonce;
    return undefined;
  }

  /** Push a set and wait for the proxy's answer to it (ACK or NACK). */
  async setAndWait(type: XdsType, version: string, resources: object[], timeoutMs = 5000): Promise<DiscoveryRequestWire> {
    const from = this.requests.length;
    this.set(type, version, resources);
    const nonce = this.lastNonce(type);
    return this.waitForRequest((r) => r.type_url === TypeUrl[type] && r.response_nonce === nonce, timeoutMs, from);
  }

  async stop(): Promise<void> {
    for (const call of this.streams.keys()) call.destroy();
    this.streams.clear();
    this.server?.forceShutdown();
    this.server = undefined;
  }

  private onStream(call: Call): void {
    const subs = new Map<XdsType, StreamSub>();
    this.streams.set(call, subs);
    const drop = () => this.streams.delete(call);
    call.on('error', drop);
    call.on('close', drop);
    call.on('end', () => {
      drop();
      call.end();
    });
    call.on('data', (req: DiscoveryRequestWire) => {
      this.requests.push(req);
      this.events.emit('request', req);
      const type = xdsTypeOf(req.type_url);
      if (!type) return;
      const prev = subs.get(type);
      const names = [...(req.resource_names ?? [])].sort();
      const changed = !prev || prev.names.join(',') !== names.join(',');
      const sub: StreamSub = { names, sentVersion: prev?.sentVersion };
      subs.set(type, sub);
      // Answer a new subscription, a changed one, or a request that is not an ACK/NACK.
      if (changed || !req.response_nonce) this.send(call, type, sub, true);
    });
  }

  private send(call: Call, type: XdsType, sub: StreamSub, force = false): void {
    const stored = this.store.get(type);
    if (!stored) return;
    if (!force && sub.sentVersion === stored.version) return;
    const resources = wildcard.has(type)
      ? [...stored.resources.values()]
      : sub.names.filter((n) => stored.resources.has(n)).map((n) => stored.resources.get(n)!);
    const resp: DiscoveryResponseWire = { version_info: stored.version, resources, type_url: TypeUrl[type], nonce: String(++this.nonce) };
    sub.sentVersion = stored.version;
    this.responses.push(resp);
    call.write(resp);
  }
}
