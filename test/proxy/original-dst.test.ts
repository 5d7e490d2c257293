// Original destination without capture rules: the SO_ORIGINAL_DST addon on a direct connection, the
// address codec, filter-chain selection on a restored local address and source_type, the ORIGINAL_DST
// cluster's hosts (made per destination, swept when unused), and an in-process proxy whose
// ORIGINAL_DST cluster follows x-envoy-original-dst-host with upstream_bind_config 127.0.0.6.
// The redirected path (iptables REDIRECT in a namespace) is test/capture/transparent-proxy.test.ts.
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ConnectionInfo } from '../../src/proxy/listener/connection-info.js';
import { FilterChainSelector } from '../../src/proxy/listener/filter-chain.js';
import { decodeOriginalDst, originalDestination, originalDstSupport, socketFd } from '../../src/proxy/listener/original-dst.js';
import { restoreOriginalDst } from '../../src/proxy/listener/original-dst-filter.js';
import type { UpstreamHost } from '../../src/proxy/upstream/host.js';
import { OriginalDstHosts, parseOriginalDstHeader } from '../../src/proxy/upstream/original-dst-hosts.js';
import type { FilterChainMatch } from '../../src/proxy/xds/model.js';
import type { Proxy } from '../../src/proxy/proxy.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startProxyUnderTest } from './helpers/proxy-under-test.js';
import { request, startUpstream, type Upstream } from './helpers/resources.js';
import { originalDstCluster } from './helpers/transparent-resources.js';

describe('SO_ORIGINAL_DST addon', () => {
  it('loads on Linux (npm install built native/build/original_dst.node)', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
    assert.equal(originalDstSupport(), undefined);
  });

  it('a direct (not redirected) connection keeps its own local address', { skip: process.platform !== 'linux' && 'Linux only' }, async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    const s = await accepted;
    try {
      assert.equal(typeof socketFd(s), 'number');
      // Without NAT, conntrack (when loaded) reports the real destination, else there is none.
      const dst = originalDestination(s);
      if (dst) assert.deepEqual(dst, { address: '127.0.0.1', port: s.localPort });
      const conn: ConnectionInfo = { localAddress: s.localAddress, localPort: s.localPort };
      assert.equal(restoreOriginalDst(s, conn), false);
      assert.deepEqual(conn, { localAddress: '127.0.0.1', localPort: s.localPort });
    } finally {
      client.destroy();
      s.destroy();
      server.close();
    }
  });

  it('a socket without a handle has no fd and no original destination', () => {
    const s = new net.Socket();
    assert.equal(socketFd(s), undefined);
    assert.equal(originalDestination(s), undefined);
  });

  it('decodes sockaddr_in and sockaddr_in6 (RFC 5952 text)', () => {
    const b = (port: number, bytes: number[]) => Uint8Array.from([port >> 8, port & 255, ...bytes, ...new Array(16 - bytes.length).fill(0)]);
    assert.deepEqual(decodeOriginalDst(b(8080, [198, 18, 0, 3]), false), { address: '198.18.0.3', port: 8080 });
    assert.deepEqual(decodeOriginalDst(b(443, [0xfd, 0x18, ...new Array(13).fill(0), 3]), true), { address: 'fd18::3', port: 443 });
    assert.deepEqual(decodeOriginalDst(b(1, [...new Array(15).fill(0), 1]), true), { address: '::1', port: 1 });
    assert.deepEqual(decodeOriginalDst(b(2, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), true), { address: '2001:db8:0:1::1', port: 2 });
  });
});

describe('filter chains on a restored destination', () => {
  const m = (o: Partial<FilterChainMatch>): FilterChainMatch => ({ serverNames: [], destinationPort: undefined, prefixRanges: [], sourcePrefixRanges: [], transportProtocol: undefined, applicationProtocols: [], sourceType: 'ANY', ...o });
  const cidr = (a: number[], prefixLen: number) => ({ family: 4 as const, bytes: Uint8Array.from(a), prefixLen });
  const selector = new FilterChainSelector(
    [
      { match: m({ destinationPort: 15006 }), value: 'blackhole' },
      { match: m({ destinationPort: 8080 }), value: 'inbound-8080' },
      { match: m({ destinationPort: 8080, sourceType: 'SAME_IP_OR_LOOPBACK' }), value: 'inbound-8080-local' },
      { match: m({ prefixRanges: [cidr([0, 0, 0, 0], 0)] }), value: 'passthrough' },
    ],
    undefined,
  );
  const conn = (localPort: number, remoteAddress: string): ConnectionInfo => ({ localAddress: '198.18.0.3', localPort, localAddressRestored: true, remoteAddress, remotePort: 40000 });
  it('destination_port reads the original destination', () => assert.equal(selector.select(conn(8080, '198.18.0.2')), 'inbound-8080'));
  it('source_type SAME_IP_OR_LOOPBACK beats ANY for a local peer', () => {
    assert.equal(selector.select(conn(8080, '127.0.0.1')), 'inbound-8080-local');
    assert.equal(selector.select(conn(8080, '198.18.0.3')), 'inbound-8080-local');
    assert.equal(selector.select(conn(8080, '::ffff:198.18.0.3')), 'inbound-8080-local');
  });
  it('an unknown port falls to the prefix-range catch-all; 15006 itself to the loop guard', () => {
    assert.equal(selector.select(conn(9999, '198.18.0.2')), 'passthrough');
    assert.equal(selector.select(conn(15006, '198.18.0.2')), 'blackhole');
  });
});

describe('ORIGINAL_DST hosts', () => {
  type FakeHost = UpstreamHost & { gone: boolean };
  const fake = (address: string, port: number): FakeHost => {
    const h = { ip: address, port, active: 0, gone: false, retire: () => void (h.gone = true) };
    return h as unknown as FakeHost;
  };
  it('one host per destination, the port override applied, swept once unused for a whole interval', () => {
    const made: string[] = [];
    let current: UpstreamHost[] = [];
    const hosts = new OriginalDstHosts({ useHttpHeader: false, httpHeaderName: 'x', portOverride: undefined, cleanupIntervalMs: 3_600_000 }, {
      make: (a, p) => (made.push(`${a}:${p}`), fake(a, p)),
      onChange: (h) => (current = h),
    });
    try {
      const a = hosts.pick({ address: '198.18.0.3', port: 80 })!;
      assert.equal(hosts.pick({ address: '198.18.0.3', port: 80 }), a);
      const busy = hosts.pick({ address: 'fd18::3', port: 80 })!;
      assert.equal(hosts.pick(undefined), undefined);
      assert.equal(hosts.pick({ address: 'not-an-ip', port: 80 }), undefined);
      assert.deepEqual(made, ['198.18.0.3:80', 'fd18::3:80']);
      busy.active = 1;
      hosts.sweep(); // both were used since the last sweep: kept
      assert.equal(current.length, 2);
      hosts.sweep(); // `a` idle for a whole interval: gone; `busy` carries a connection
      assert.deepEqual(current.map((h) => h.ip), ['fd18::3']);
      assert.equal((a as FakeHost).gone, true);
    } finally {
      hosts.close();
    }
    const overridden = new OriginalDstHosts({ useHttpHeader: false, httpHeaderName: 'x', portOverride: 9090, cleanupIntervalMs: 3_600_000 }, { make: fake, onChange: () => {} });
    assert.equal(overridden.pick({ address: '198.18.0.3', port: 80 })!.port, 9090);
    overridden.close();
  });
  it('x-envoy-original-dst-host values', () => {
    assert.deepEqual(parseOriginalDstHeader('198.18.0.3:8080'), { address: '198.18.0.3', port: 8080 });
    assert.deepEqual(parseOriginalDstHeader('[fd18::3]:443'), { address: 'fd18::3', port: 443 });
    for (const bad of [undefined, '', 'reviews:9080', '198.18.0.3', '198.18.0.3:0', '198.18.0.3:70000', '999.1.1.1:80', 'fd18::3:443']) assert.equal(parseOriginalDstHeader(bad), undefined, String(bad));
  });
});

describe('an ORIGINAL_DST cluster in the proxy', () => {
  const ads = new TestAdsServer();
  let proxy: Proxy;
  let port: number;
  let up: Upstream;
  before(async () => {
    // The app answers with the address it sees its caller at.
    up = await startUpstream('app', (req, res) => {
      res.end(JSON.stringify({ peer: req.socket.remoteAddress }));
      return true;
    });
    const routes = {
      name: 'out',
      virtual_hosts: [
        { name: 'ready', domains: ['ready'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] },
        { name: 'header', domains: ['header'], routes: [{ match: { prefix: '/' }, route: { cluster: 'by-header' } }] },
        { name: 'plain', domains: ['plain'], routes: [{ match: { prefix: '/' }, route: { cluster: 'passthrough' } }] },
      ],
    };
    const clusters = [
      originalDstCluster('by-header', '127.0.0.6', { original_dst_lb_config: { use_http_header: true } }),
      originalDstCluster('passthrough'),
    ];
    ({ proxy, port } = await startProxyUnderTest(ads, { clusters, routes, readyHost: 'ready' }));
  });
  after(async () => {
    proxy?.destroy();
    await ads.stop();
    await up?.close();
  });

  it('use_http_header: the header names the host; upstream_bind_config makes the app see 127.0.0.6', async () => {
    const r = await request(port, { host: 'header', headers: { 'x-envoy-original-dst-host': `127.0.0.1:${up.port}` } });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { peer: '127.0.0.6' });
  });

  it('no original destination (explicit connection, no header): 503 no healthy upstream', async () => {
    const before = proxy.clusters.get('by-header')!.stats.no_healthy_upstream;
    const r = await request(port, { host: 'header' });
    assert.equal(r.status, 503);
    assert.equal(proxy.clusters.get('by-header')!.stats.no_healthy_upstream, before + 1);
  });

  it('without use_http_header the header is not trusted', async () => {
    const r = await request(port, { host: 'plain', headers: { 'x-envoy-original-dst-host': `127.0.0.1:${up.port}` } });
    assert.equal(r.status, 503);
    assert.equal(up.seen.length, 1, 'only the header-routed request reached the app');
  });
});
