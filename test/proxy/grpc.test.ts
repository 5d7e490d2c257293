// gRPC through two sidecars over HTTP/2 (h2c) with @grpc/grpc-js on both ends: unary, server,
// client and bidirectional streaming with 10,000 messages each way, status codes, messages and
// trailing metadata preserved; a fault abort with a gRPC status reaches the client as that status;
// a route with no cluster answers a gRPC caller in gRPC.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../src/api/envoy.js';
import type { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startSotwProxy } from './helpers/proxy-under-test.js';
import { FAULT_TYPE, faultFilter, hcmListener, routerFilter, staticCluster } from './helpers/resources.js';
import { ISTIO_STATS_FILTER, ISTIO_STATS_TYPE_URL } from '../../src/api/mesh-names.js';
import { parseExposition, sumOf, type Sample } from '../helpers/prom-text.js';

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/weft.test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: raw.serialize,
  requestDeserialize: raw.deserialize,
  responseSerialize: raw.serialize,
  responseDeserialize: raw.deserialize,
});
const service = {
  Unary: method('Unary', false, false),
  Fail: method('Fail', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
};
const N = 10_000;

const h2 = { [HTTP_PROTOCOL_OPTIONS_KEY]: { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL, explicit_http_config: { http2_protocol_options: {} } } };
// With Istio's stats filter: the outbound sidecar reports as source, the inbound one as destination.
const statsFilter = { name: ISTIO_STATS_FILTER, typed_config: { '@type': ISTIO_STATS_TYPE_URL } };
const listener = (name: string, cluster: string, extraVhosts: object[] = []) => ({
  ...(hcmListener(name, 0, {
    http_filters: [faultFilter, statsFilter, routerFilter],
    route_config: {
      name,
      virtual_hosts: [
        ...extraVhosts,
        // Streams live as long as the peers keep them: no route timeout.
        { name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: { seconds: 0 } } }] },
      ],
    },
  }) as Record<string, unknown>),
  traffic_direction: name === 'inbound' ? 'INBOUND' : 'OUTBOUND',
});



describe('gRPC through two sidecars (HTTP/2 both hops)', () => {
  const adsA = new TestAdsServer();
  const adsB = new TestAdsServer();
  let server: grpc.Server;
  let a: Proxy;
  let b: Proxy;
  let client: grpc.Client;

  before(async () => {
    server = new grpc.Server();
    server.addService(service, {
      Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const md = new grpc.Metadata();
        md.set('x-served-by', 'echo');
        call.sendMetadata(md);
        cb(null, Buffer.concat([Buffer.from('echo:'), call.request]));
      },
      Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const trailer = new grpc.Metadata();
        trailer.set('x-why', 'no such thing');
        cb({ code: grpc.status.NOT_FOUND, details: 'thing 42 not found', metadata: trailer });
      },
      ServerStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        const n = Number(call.request.toString());
        let i = 0;
        const pump = () => {
          while (i < n) if (!call.write(Buffer.from(String(i++)))) return void call.once('drain', pump);
          call.end();
        };
        pump();
      },
      ClientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        let count = 0;
        let sum = 0;
        call.on('data', (m: Buffer) => {
          count++;
          sum += Number(m.toString());
        });
        call.on('end', () => cb(null, Buffer.from(`${count}:${sum}`)));
      },
      Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', (m: Buffer) => call.write(m));
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    await adsB.start();
    adsB.set('cluster', 'c1', [staticCluster('app', [port], { typed_extension_protocol_options: h2 })]);
    adsB.set('listener', 'l1', [listener('inbound', 'app')]);
    b = await startSotwProxy(adsB);
    await adsA.start();
    adsA.set('cluster', 'c1', [staticCluster('b', [b.listenerPort('inbound')!], { typed_extension_protocol_options: h2 })]);
    const abort = { '@type': FAULT_TYPE, abort: { grpc_status: 14, percentage: { numerator: 100, denominator: 'HUNDRED' } } };
    adsA.set('listener', 'l1', [
      listener('outbound', 'b', [
        { name: 'faulty', domains: ['faulty'], routes: [{ match: { prefix: '/' }, route: { cluster: 'b' } }], typed_per_filter_config: { 'envoy.filters.http.fault': abort } },
        { name: 'nowhere', domains: ['nowhere'], routes: [{ match: { prefix: '/' }, route: { cluster: 'missing' } }] },
      ]),
    ]);
    a = await startSotwProxy(adsA);
    const Client = grpc.makeGenericClientConstructor(service, 'Echo');
    client = new Client(`127.0.0.1:${a.listenerPort('outbound')}`, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    a?.destroy();
    b?.destroy();
    await adsA.stop();
    await adsB.stop();
    server?.forceShutdown();
  });

  const call = <T>(name: string, req: Buffer, opts: grpc.CallOptions = {}, c = client): Promise<{ value?: T; err?: grpc.ServiceError; md?: grpc.Metadata }> =>
    new Promise((resolve) => {
      let md: grpc.Metadata | undefined;
      const u = (c as unknown as Record<string, (...a: unknown[]) => grpc.ClientUnaryCall>)[name](req, new grpc.Metadata(), opts, (err: grpc.ServiceError | null, value: T) =>
        resolve({ value, err: err ?? undefined, md }),
      );
      u.on('metadata', (m: grpc.Metadata) => (md = m));
    });

  it('unary: message, headers and trailers arrive intact over HTTP/2 on both hops', async () => {
    const r = await call<Buffer>('Unary', Buffer.from('hi'));
    assert.equal(r.err, undefined);
    assert.equal(r.value!.toString(), 'echo:hi');
    assert.deepEqual(r.md?.get('x-served-by'), ['echo']);
    assert.equal(a.stats()['http.outbound.downstream_rq_2xx'], 1);
    assert.equal(b.stats()['http.inbound.downstream_rq_2xx'], 1);
  });

  it('a gRPC error keeps its status, message and trailing metadata', async () => {
    const r = await call('Fail', Buffer.from('42'));
    assert.equal(r.err?.code, grpc.status.NOT_FOUND);
    assert.equal(r.err?.details, 'thing 42 not found');
    assert.deepEqual(r.err?.metadata.get('x-why'), ['no such thing']);
  });

  it(`server streaming: ${N} messages in order`, async () => {
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = (client as unknown as { ServerStream: (r: Buffer) => grpc.ClientReadableStream<Buffer> }).ServerStream(Buffer.from(String(N)));
      s.on('data', (m: Buffer) => got.push(m.toString()));
      s.on('error', reject);
      s.on('end', () => resolve());
    });
    assert.equal(got.length, N);
    assert.equal(got[N - 1], String(N - 1));
    assert.ok(got.every((m, i) => m === String(i)));
  });

  it(`client streaming: ${N} messages counted and summed`, async () => {
    const value = await new Promise<string>((resolve, reject) => {
      const s = (client as unknown as { ClientStream: (cb: (e: Error | null, v: Buffer) => void) => grpc.ClientWritableStream<Buffer> }).ClientStream((e, v) =>
        e ? reject(e) : resolve(v.toString()),
      );
      let i = 0;
      const pump = () => {
        while (i < N) if (!s.write(Buffer.from(String(i++)))) return void s.once('drain', pump);
        s.end();
      };
      pump();
    });
    assert.equal(value, `${N}:${(N * (N - 1)) / 2}`);
  });

  const istio = (p: Proxy): Sample[] => {
    const out: string[] = [];
    p.telemetry!.metrics.registry.render(out, false);
    return parseExposition(out.join(''));
  };

  it(`bidirectional streaming: ${N} messages each way, and Istio's message counters on both sidecars say so`, async () => {
    const grpcOk = { request_protocol: 'grpc', grpc_response_status: '0', response_code: '200' };
    const before = [istio(a), istio(b)];
    let received = 0;
    let last = -1;
    await new Promise<void>((resolve, reject) => {
      const s = (client as unknown as { Bidi: () => grpc.ClientDuplexStream<Buffer, Buffer> }).Bidi();
      s.on('data', (m: Buffer) => {
        const v = Number(m.toString());
        if (v !== last + 1) reject(new Error(`out of order: ${v} after ${last}`));
        last = v;
        received++;
      });
      s.on('error', reject);
      s.on('end', () => resolve());
      let i = 0;
      const pump = () => {
        while (i < N) if (!s.write(Buffer.from(String(i++)))) return void s.once('drain', pump);
        s.end();
      };
      pump();
    });
    assert.equal(received, N);
    const after = [istio(a), istio(b)];
    for (const [i, reporter] of [[0, 'source'], [1, 'destination']] as const) {
      const labels = { ...grpcOk, reporter };
      const delta = (name: string) => sumOf(after[i], name, labels) - sumOf(before[i], name, labels);
      assert.equal(delta('istio_requests_total'), 1, `${reporter}: one stream`);
      assert.equal(delta('istio_request_messages_total'), N, `${reporter}: messages from the client`);
      assert.equal(delta('istio_response_messages_total'), N, `${reporter}: messages from the server`);
    }
  });

  it('a fault abort with grpc_status 14 reaches the client as UNAVAILABLE; a missing cluster as UNAVAILABLE too', async () => {
    const faulty = new (grpc.makeGenericClientConstructor(service, 'Echo'))(`127.0.0.1:${a.listenerPort('outbound')}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'faulty',
    });
    const nowhere = new (grpc.makeGenericClientConstructor(service, 'Echo'))(`127.0.0.1:${a.listenerPort('outbound')}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'nowhere',
    });
    try {
      const f = await call('Unary', Buffer.from('x'), {}, faulty);
      assert.equal(f.err?.code, grpc.status.UNAVAILABLE);
      assert.equal(f.err?.details, 'fault filter abort');
      const n = await call('Unary', Buffer.from('x'), {}, nowhere);
      assert.equal(n.err?.code, grpc.status.UNAVAILABLE); // 503 cluster_not_found → UNAVAILABLE
    } finally {
      faulty.close();
      nowhere.close();
    }
  });
});
