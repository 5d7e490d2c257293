// Issue 8 item 4, the attacks on the registry replayed against the real ADS server over real gRPC on
// loopback: a live node id reused to take its endpoint, oversized and malformed registrations, and
// fake streams in bulk. Each must be refused for the stream that tries it, with a clear status, while
// every other sidecar's EDS stays what it was.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { test } from 'node:test';
import { aggregatedDiscoveryService, TypeUrl, unpackAny, toStruct, type DiscoveryRequestWire, type DiscoveryResponseWire, type NodeWire } from '../../src/api/envoy.js';
import { configFrom } from '../translate/fixtures.js';
import { serveLoopbackAds, sidecarNode } from './loopback-ads.js';

const PER_PEER = 8;
const { registry, address } = serveLoopbackAds({ graceMs: 50, config: () => configFrom(), extraProxies: () => [], limits: { maxPerPeer: PER_PEER } });

const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const RATINGS = 'outbound|9080||ratings.default.svc.cluster.local';

/** A raw SotW ADS stream that records what it got and how it ended. */
function stream(node: NodeWire) {
  const Client = aggregatedDiscoveryService();
  const client = new Client(address(), grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as unknown as grpc.Client & {
    StreamAggregatedResources(): grpc.ClientDuplexStream<Partial<DiscoveryRequestWire>, DiscoveryResponseWire>;
  };
  const call = client.StreamAggregatedResources();
  const responses: DiscoveryResponseWire[] = [];
  const waiters: Array<() => void> = [];
  let ended: grpc.ServiceError | undefined;
  call.on('data', (r: DiscoveryResponseWire) => {
    responses.push(r);
    for (const w of waiters.splice(0)) w();
  });
  call.on('error', (e: grpc.ServiceError) => {
    ended = e;
    for (const w of waiters.splice(0)) w();
  });
  let first = true;
  const send = (typeUrl: string, fields: Partial<DiscoveryRequestWire> = {}) => {
    call.write({ ...(first ? { node } : {}), type_url: typeUrl, version_info: '', resource_names: [], response_nonce: '', ...fields });
    first = false;
  };
  const until = async <T>(what: string, f: () => T | undefined, ms = 3000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = f();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return {
    send,
    responses,
    ended: () => ended,
    /** The stream's end status, once it has one. */
    status: (ms = 3000) => until("the stream to end", () => ended, ms),
    /** Addresses in the latest EDS response naming `cluster`. */
    endpoints: (cluster: string): string[] | undefined => {
      for (let i = responses.length - 1; i >= 0; i--) {
        const r = responses[i];
        if (r.type_url !== TypeUrl.endpoint) continue;
        for (const any of r.resources) {
          const cla = unpackAny(any) as { cluster_name: string; endpoints?: { lb_endpoints?: { endpoint: { address: { socket_address: { address: string } } } }[] }[] };
          if (cla.cluster_name === cluster) return (cla.endpoints ?? []).flatMap((l) => l.lb_endpoints ?? []).map((e) => e.endpoint.address.socket_address.address).sort();
        }
      }
      return undefined;
    },
    /** Cluster names of the latest CDS response. */
    clusters: (): string[] | undefined => {
      const r = [...responses].reverse().find((x) => x.type_url === TypeUrl.cluster);
      return r?.resources.map((a) => String(unpackAny(a).name));
    },
    until,
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

type Stream = ReturnType<typeof stream>;

/** A sidecar that registers and watches EDS for reviews and ratings, ACKing every response. */
async function watcher(id: string, service: string, ip: string): Promise<Stream> {
  const s = stream(sidecarNode(id, service, 'v1', ip));
  s.send(TypeUrl.cluster);
  s.send(TypeUrl.endpoint, { resource_names: [RATINGS, REVIEWS] });
  await s.until('first EDS', () => s.responses.find((r) => r.type_url === TypeUrl.endpoint));
  return s;
}

const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));
const observerEndpoints = (o: Stream) => o.endpoints(REVIEWS);

test('a second stream with a live node id cannot take its endpoint (refused ALREADY_EXISTS)', async () => {
  const victimId = 'sidecar~127.0.1.1~reviews-1.default~default.svc.cluster.local';
  const victim = await watcher(victimId, 'reviews', '127.0.1.1');
  const observer = await watcher('sidecar~127.0.1.2~productpage-1.default~default.svc.cluster.local', 'productpage', '127.0.1.2');
  await observer.until('victim in EDS', () => (observerEndpoints(observer)?.includes('127.0.1.1') ? true : undefined));

  // The attack of the issue: same node id, the attacker's own address.
  const attacker = stream(sidecarNode(victimId, 'reviews', 'v1', '127.0.9.9'));
  attacker.send(TypeUrl.cluster);
  await settle(300);
  const seen = observerEndpoints(observer);
  console.log(`# hijack: attacker ${attacker.ended() ? grpc.status[attacker.ended()!.code] : 'accepted'}; observer's reviews endpoints ${JSON.stringify(seen)}`);
  const err = await attacker.status();
  assert.equal(err.code, grpc.status.ALREADY_EXISTS);
  assert.match(err.details, /already connected with a different registration.*WEFT_E_NODE_DUPLICATE/);
  assert.deepEqual(seen, ['127.0.1.1'], 'traffic still goes to the victim only');
  assert.equal(victim.ended(), undefined, 'the victim keeps its stream');

  // The victim leaves: its endpoint (the only reviews one) goes after the grace period, and with it the
  // service; the attacker's address never appeared.
  attacker.close();
  victim.close();
  await observer.until('reviews withdrawn', () => (observer.clusters()?.includes(REVIEWS) === false ? true : undefined));
  assert.ok(!registry.proxies().some((p) => p.address === '127.0.9.9'));
  observer.close();
});

test('the same proxy reconnecting (same peer, same registration) replaces its older stream', async () => {
  const id = 'sidecar~127.0.2.1~reviews-2.default~default.svc.cluster.local';
  const older = await watcher(id, 'reviews', '127.0.2.1');
  const newer = await watcher(id, 'reviews', '127.0.2.1');
  const err = await older.status();
  assert.equal(err.code, grpc.status.ABORTED);
  assert.match(err.details, /replaced by a newer stream of the same proxy/);
  assert.equal(newer.ended(), undefined);
  assert.deepEqual(newer.endpoints(REVIEWS), ['127.0.2.1'], 'one endpoint, not two');
  // The older stream's end does not withdraw the endpoint the newer stream holds.
  await settle(200);
  assert.equal(registry.proxies().filter((p) => p.id === id).length, 1);
  newer.close();
  await settle(200);
});

test('oversized and malformed registrations are refused for that stream; nobody else’s EDS changes', async () => {
  const reviews = await watcher('sidecar~127.0.3.8~reviews-3.default~default.svc.cluster.local', 'reviews', '127.0.3.8');
  const ratings = await watcher('sidecar~127.0.3.9~ratings-3.default~default.svc.cluster.local', 'ratings', '127.0.3.9');
  const observer = await watcher('sidecar~127.0.3.1~productpage-3.default~default.svc.cluster.local', 'productpage', '127.0.3.1');
  await observer.until('both in EDS', () => (observerEndpoints(observer)?.length && observer.endpoints(RATINGS)?.length ? true : undefined));
  const before = observerEndpoints(observer);
  const ratingsBefore = observer.endpoints(RATINGS);
  const cases: Array<{ name: string; node: NodeWire; want: RegExp }> = [
    { name: '3.5 MB node id', node: sidecarNode('x'.repeat(3_500_000), 'reviews', 'v1', '127.0.3.2'), want: /node\.id: 3500000 characters, more than the limit/ },
    { name: 'hostname in INSTANCE_IPS', node: sidecarNode('sidecar~evil~ratings-1', 'ratings', 'v1', 'evil.example.com'), want: /INSTANCE_IPS\[0\]: "evil\.example\.com" is not an IP address/ },
    { name: 'hostname after an IP', node: sidecarNode('sidecar~evil~ratings-2', 'ratings', 'v1', '127.0.3.3,evil'), want: /INSTANCE_IPS\[1\]/ },
    { name: 'unspecified address', node: sidecarNode('sidecar~evil~ratings-3', 'ratings', 'v1', '0.0.0.0'), want: /unspecified/ },
    { name: 'a dot in the service name', node: sidecarNode('sidecar~evil~x', 'reviews.default.svc.cluster.local', 'v1', '127.0.3.4'), want: /WEFT_SERVICE.*DNS label/ },
    {
      name: 'metadata of 1 MB',
      node: { id: 'sidecar~big~md', cluster: 'ratings', metadata: toStruct({ WEFT_SERVICE: 'ratings', BLOB: 'y'.repeat(1_000_000) }) },
      want: /node\.metadata: larger than/,
    },
  ];
  for (const c of cases) {
    const s = stream(c.node);
    s.send(TypeUrl.cluster);
    const err = await s.status(5000);
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT, c.name);
    assert.match(err.details, c.want, c.name);
    assert.match(err.details, /WEFT_E_NODE_INVALID/, c.name);
    s.close();
  }
  await settle();
  assert.deepEqual(observerEndpoints(observer), before, 'reviews EDS unchanged');
  assert.deepEqual(observer.endpoints(RATINGS), ratingsBefore, 'ratings EDS unchanged');
  assert.deepEqual([before, ratingsBefore], [['127.0.3.8'], ['127.0.3.9']]);
  assert.ok(!registry.proxies().some((p) => p.id.includes('evil') || p.id.length > 1000), 'nothing was registered');
  for (const s of [observer, reviews, ratings]) s.close();
  await settle(200);
});

test(`registrations from one peer are bounded (${PER_PEER}), with RESOURCE_EXHAUSTED past the limit`, async () => {
  const streams: Stream[] = [];
  for (let i = 0; i < PER_PEER; i++) {
    const s = stream(sidecarNode(`sidecar~127.0.4.${i + 1}~fake-${i}`, `fake-${i}`, 'v1', `127.0.4.${i + 1}`));
    s.send(TypeUrl.cluster);
    await s.until('CDS', () => s.responses[0]);
    streams.push(s);
  }
  const extra = stream(sidecarNode('sidecar~127.0.4.99~fake-99', 'fake-99', 'v1', '127.0.4.99'));
  extra.send(TypeUrl.cluster);
  const err = await extra.status();
  console.log(`# flood: ${PER_PEER} registered, the next one ${grpc.status[err.code]}: ${err.details}`);
  assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.match(err.details, /limit per peer \(--max-registrations-per-peer 8\).*WEFT_E_NODE_LIMIT/);
  assert.ok(!registry.proxies().some((p) => p.service === 'fake-99'));
  for (const s of streams) s.close();
  extra.close();
  await settle(300);
});
