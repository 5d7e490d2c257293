// tcp_proxy, the HCM's sibling terminal filter, through two real sidecars on loopback: echo, a
// server that greets first (no waiting on protocol detection), half-close both ways, weighted
// clusters per connection, idle timeout, and one listener that serves HTTP and opaque TCP by
// detecting the protocol on the first bytes.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HCM_TYPE_URL, HTTP_INSPECTOR_TYPE_URL, TCP_PROXY_TYPE_URL } from '../../src/api/envoy.js';
import type { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startSotwProxy } from './helpers/proxy-under-test.js';
import { eventually, routerFilter, startUpstream, staticCluster, type Upstream } from './helpers/resources.js';

const tcp = (statPrefix: string, target: { cluster: string } | { weighted_clusters: object }, extra: object = {}) => ({
  name: 'envoy.filters.network.tcp_proxy',
  typed_config: { '@type': TCP_PROXY_TYPE_URL, stat_prefix: statPrefix, ...target, ...extra },
});
const tcpListener = (name: string, filter: object, extra: object = {}) => ({
  name,
  address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
  filter_chains: [{ filters: [filter] }],
  ...extra,
});
const inspector = { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': HTTP_INSPECTOR_TYPE_URL } };

/** A TCP server; `onConn` decides what it does with each connection. */
async function tcpServer(onConn: (s: net.Socket) => void): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Connect, optionally write and half-close, and read until the peer closes. */
function talk(port: number, o: { write?: string; end?: boolean; waitFor?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`talk: timed out with ${JSON.stringify(got)}`));
    }, o.timeoutMs ?? 5000);
    s.on('connect', () => {
      if (o.write) s.write(o.write);
      if (o.end) s.end();
    });
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (o.waitFor && got.includes(o.waitFor)) {
        clearTimeout(t);
        s.destroy();
        resolve(got);
      }
    });
    s.on('end', () => s.end());
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on('error', reject);
  });
}


describe('tcp_proxy through two sidecars', () => {
  const adsA = new TestAdsServer();
  const adsB = new TestAdsServer();
  let a: Proxy;
  let b: Proxy;
  let echo: Awaited<ReturnType<typeof tcpServer>>;
  let greeter: Awaited<ReturnType<typeof tcpServer>>;
  let named: Awaited<ReturnType<typeof tcpServer>>[];
  let http: Upstream;

  before(async () => {
    echo = await tcpServer((s) => s.pipe(s));
    // A MySQL-like server: it speaks first, then echoes.
    greeter = await tcpServer((s) => {
      s.write('220 greeter ready\r\n');
      s.pipe(s);
    });
    named = await Promise.all(['one', 'two'].map((n) => tcpServer((s) => s.end(n))));
    http = await startUpstream('http');
    // Sidecar B fronts the servers; sidecar A routes to B.
    await adsB.start();
    adsB.set('cluster', 'c1', [staticCluster('echo', [echo.port]), staticCluster('greeter', [greeter.port]), staticCluster('one', [named[0].port]), staticCluster('two', [named[1].port])]);
    adsB.set('listener', 'l1', [
      tcpListener('b-echo', tcp('b_echo', { cluster: 'echo' })),
      tcpListener('b-greeter', tcp('b_greeter', { cluster: 'greeter' }), { listener_filters: [inspector] }),
      tcpListener('b-one', tcp('b_one', { cluster: 'one' })),
      tcpListener('b-two', tcp('b_two', { cluster: 'two' })),
    ]);
    b = await startSotwProxy(adsB);
    const bp = (n: string) => b.listenerPort(n)!;
    await adsA.start();
    adsA.set('cluster', 'c1', [
      staticCluster('b-echo', [bp('b-echo')]),
      staticCluster('b-greeter', [bp('b-greeter')]),
      staticCluster('b-one', [bp('b-one')]),
      staticCluster('b-two', [bp('b-two')]),
      staticCluster('http', [http.port]),
    ]);
    adsA.set('listener', 'l1', [
      tcpListener('echo', tcp('echo', { cluster: 'b-echo' })),
      tcpListener('greeter', tcp('greeter', { cluster: 'b-greeter' })),
      tcpListener('weighted', tcp('weighted', { weighted_clusters: { clusters: [{ name: 'b-one', weight: 70 }, { name: 'b-two', weight: 30 }] } })),
      tcpListener('idle', tcp('idle', { cluster: 'b-echo' }, { idle_timeout: { nanos: 200_000_000 } })),
      {
        name: 'mixed',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        listener_filters: [inspector],
        filter_chains: [
          {
            name: 'http',
            filter_chain_match: { application_protocols: ['http/1.1', 'http/1.0'] },
            filters: [
              {
                name: 'envoy.filters.network.http_connection_manager',
                typed_config: {
                  '@type': HCM_TYPE_URL,
                  stat_prefix: 'mixed_http',
                  route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'http' } }] }] },
                  http_filters: [routerFilter],
                },
              },
            ],
          },
        ],
        default_filter_chain: { name: 'opaque', filters: [tcp('mixed_tcp', { cluster: 'b-echo' })] },
      },
    ]);
    a = await startSotwProxy(adsA);
  });

  after(async () => {
    a?.destroy();
    b?.destroy();
    await adsA.stop();
    await adsB.stop();
    echo?.close();
    greeter?.close();
    for (const n of named ?? []) n.close();
    await http?.close();
  });

  it('echoes through both sidecars, and half-close passes both ways', async () => {
    // The client writes and half-closes; the echo ends when it sees the FIN, which comes back.
    const got = await talk(a.listenerPort('echo')!, { write: 'hello through two sidecars', end: true });
    assert.equal(got, 'hello through two sidecars');
  });

  it('a server that speaks first is heard at once, through a listener that has http_inspector', async () => {
    const started = Date.now();
    const got = await talk(a.listenerPort('greeter')!, { waitFor: 'ready' });
    assert.match(got, /^220 greeter ready/);
    // b-greeter's chain does not depend on the application protocol, so detection never ran.
    assert.equal(b.stats()['listener.b-greeter.downstream_listener_filter_timeout'], 0);
    assert.ok(Date.now() - started < 15_000); // not the 15 s listener_filters_timeout
  });

  it('weighted clusters hold within ±3 points over 2,000 connections', async () => {
    const port = a.listenerPort('weighted')!;
    const counts: Record<string, number> = { one: 0, two: 0 };
    const N = 2000;
    for (let i = 0; i < N; i += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => talk(port)));
      for (const x of answers) counts[x] = (counts[x] ?? 0) + 1;
    }
    assert.equal(counts.one + counts.two, N, JSON.stringify(counts));
    const share = (counts.one / N) * 100;
    assert.ok(Math.abs(share - 70) <= 3, `one got ${share.toFixed(1)}%`);
  });

  it('closes a connection idle in both directions for idle_timeout', async () => {
    const got = await talk(a.listenerPort('idle')!, { write: 'ping' });
    assert.equal(got, 'ping'); // echoed, then closed by the idle timeout (no FIN from the client)
    await eventually(() => a.stats()['tcp.idle.idle_timeout'] === 1, 2000, 'idle timeout counted');
  });

  it('one listener serves HTTP and opaque TCP, told apart on the first bytes', async () => {
    const port = a.listenerPort('mixed')!;
    const httpAnswer = await talk(port, { write: 'GET /x HTTP/1.1\r\nHost: any\r\nConnection: close\r\n\r\n' });
    assert.match(httpAnswer, /^HTTP\/1\.1 200 /);
    assert.match(httpAnswer, /"upstream":"http"/);
    const opaque = await talk(port, { write: '\x00\x01binary-protocol', end: true });
    assert.equal(opaque, '\x00\x01binary-protocol');
    assert.equal(a.stats()['tcp.mixed_tcp.downstream_cx_total'], 1);
  });
});
