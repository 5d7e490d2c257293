// Issue-8 regressions on the request path, each reproducing the original attack against a real
// `weft proxy` process over raw sockets: prototype-named headers, Connection-nominated framing
// (smuggling), requests leaked by broken or abandoned uploads, path tricks past a prefix rule,
// transfer codings, and gRPC callers answered in gRPC.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { alive, listenerPorts, rawExchange, startSidecarProcess, statuses, type SidecarProcess } from '../helpers/sidecar.js';
import { FAULT_TYPE, hcmListener, staticCluster, startUpstream, eventually, type Upstream } from '../proxy/helpers/resources.js';

const ads = { ads: {}, resource_api_version: 'V3' };
function listener(name: string, port: number, hcm: Record<string, unknown> = {}): object {
  return hcmListener(name, port, { rds: { route_config_name: 'out', config_source: ads }, normalize_path: { value: true }, ...hcm });
}

const grpcAbort = { '@type': FAULT_TYPE, abort: { grpc_status: 14, percentage: { numerator: 100, denominator: 'HUNDRED' } } };
const routes = {
  name: 'out',
  virtual_hosts: [
    {
      name: 'app',
      domains: ['app'],
      routes: [
        { match: { prefix: '/admin' }, direct_response: { status: 403, body: { inline_string: 'admin is off limits' } } },
        // A retry policy makes small bodies buffered for replay: the path the smuggling took.
        { match: { prefix: '/' }, route: { cluster: 'app', retry_policy: { retry_on: '5xx', num_retries: { value: 1 } } } },
      ],
    },
    { name: 'slow', domains: ['slow'], routes: [{ match: { prefix: '/' }, route: { cluster: 'slow', timeout: { seconds: 0 } } }] },
    { name: 'bulk', domains: ['bulk'], routes: [{ match: { prefix: '/' }, route: { cluster: 'bulk', timeout: { seconds: 0 } } }] },
    { name: 'grpcfault', domains: ['grpcfault'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }], typed_per_filter_config: { 'envoy.filters.http.fault': grpcAbort } },
  ],
};

const get = (path: string, host = 'app', extra = '') => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
const oneResponse = (t: string) => /\r\n\r\n/.test(t) && (/content-length: 0\r\n/i.test(t) || /\r\n\r\n[^]+$/.test(t));

describe('request path hardening (real sidecar process)', () => {
  let app: Upstream;
  let slow: http.Server;
  let slowPort = 0;
  let sc: SidecarProcess;
  let port = 0;
  let idlePort = 0;
  let mergePort = 0;

  before(async () => {
    app = await startUpstream('app', (req, res) => {
      if (req.url === '/ctor') {
        res.writeHead(200, { constructor: 'upstream', __proto__: 'x', 'content-length': 2 } as http.OutgoingHttpHeaders);
        res.end('ok');
        return true;
      }
    });
    slow = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    slowPort = (slow.address() as net.AddressInfo).port;
    [port, idlePort, mergePort] = await listenerPorts(3);
    sc = await startSidecarProcess({
      clusters: [
        staticCluster('app', [app.port]),
        staticCluster('slow', [slowPort]),
        // The thresholds the control plane sets on every cluster (Istio's: unlimited).
        staticCluster('bulk', [app.port], { circuit_breakers: { thresholds: [{ max_connections: { value: 4294967295 }, max_pending_requests: { value: 4294967295 }, max_requests: { value: 4294967295 } }] } }),
      ],
      listeners: [
        listener('out', port),
        listener('idle', idlePort, { stream_idle_timeout: { nanos: 300_000_000 } }),
        listener('merge', mergePort, { merge_slashes: true }),
      ],
      routes: [routes],
    });
    await eventually(async () => statuses(await rawExchange(port, [get('/ready')], { done: oneResponse }))[0] === 200, 10_000, 'routes applied');
  });

  after(async () => {
    await sc?.stop();
    await app?.close();
    slow?.closeAllConnections();
    slow?.close();
  });

  it('headers named __proto__, constructor, toString are ordinary headers (the process survives)', async () => {
    const seen = app.seen.length;
    const text = await rawExchange(port, [get('/p', 'app', '__proto__: a\r\nconstructor: b\r\ntoString: c\r\nhasOwnProperty: d\r\n')], { done: oneResponse });
    assert.deepEqual(statuses(text), [200]);
    const got = app.seen.slice(seen).find((s) => s.url === '/p')!;
    assert.equal(got.headers.constructor as unknown, 'b');
    assert.equal(got.headers.tostring, 'c');
    assert.equal(got.headers.hasownproperty, 'd');
    assert.ok(alive(sc.proc), 'the sidecar process is still running');
    // And an upstream answering with such a header is relayed, not turned into a 503.
    const ctor = await rawExchange(port, [get('/ctor')], { done: oneResponse });
    assert.deepEqual(statuses(ctor), [200]);
    assert.match(ctor, /\r\nconstructor: upstream\r\n/);
  });

  it('Connection: content-length cannot unframe a body: no smuggled request, victims get their own answers (10/10)', async () => {
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: app\r\n\r\n';
    let victimsRight = 0;
    for (let i = 0; i < 10; i++) {
      const attack = `POST /upload HTTP/1.1\r\nHost: app\r\nConnection: content-length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`;
      const a = await rawExchange(port, [attack], { done: oneResponse });
      assert.deepEqual(statuses(a), [200]);
      const victim = await rawExchange(port, [get(`/victim-${i}`)], { done: oneResponse });
      if (victim.includes(`"url":"/victim-${i}"`)) victimsRight++;
    }
    assert.equal(victimsRight, 10);
    assert.equal(app.seen.filter((s) => s.url === '/smuggled').length, 0, 'the upstream never read the body as a request');
    const uploads = app.seen.filter((s) => s.url === '/upload');
    assert.equal(uploads.length, 10);
    for (const u of uploads) assert.equal(u.body, smuggled);
  });

  it('transfer codings other than chunked are refused (501) and never reach the app', async () => {
    const seen = app.seen.length;
    for (const te of ['gzip, chunked', 'identity, chunked', 'chunked, identity']) {
      const text = await rawExchange(port, [`POST /te HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: ${te}\r\n\r\n0\r\n\r\n`], { done: oneResponse });
      assert.deepEqual(statuses(text), [501], te);
    }
    assert.equal(app.seen.length, seen);
  });

  it('1,100 broken or abandoned uploads leak nothing: active requests return to 0 and callers are served', async () => {
    const kinds = ['broken-chunk', 'fin-mid-body', 'rst-mid-body', 'fin-mid-head'] as const;
    const one = (kind: (typeof kinds)[number]) =>
      new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        // The proxy should close at once; a proxy that keeps the half-closed socket is not waited on.
        const giveUp = setTimeout(() => s.destroy(), 1000);
        s.on('close', () => {
          clearTimeout(giveUp);
          resolve();
        });
        s.on('connect', () => {
          switch (kind) {
            case 'broken-chunk':
              s.write('POST /up HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
              setTimeout(() => s.write('ZZ\r\n'), 5);
              break;
            case 'fin-mid-body':
              s.write('POST /up HTTP/1.1\r\nHost: app\r\nContent-Length: 100000\r\n\r\npartial');
              setTimeout(() => s.end(), 5);
              break;
            case 'rst-mid-body':
              s.write('POST /up HTTP/1.1\r\nHost: app\r\nContent-Length: 100000\r\n\r\npartial');
              setTimeout(() => s.resetAndDestroy(), 5);
              break;
            case 'fin-mid-head':
              s.write('POST /up HTTP/1.1\r\nHost: app\r\n');
              setTimeout(() => s.end(), 5);
              break;
          }
        });
      });
    const N = 1100;
    for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, k) => one(kinds[(i + k) % kinds.length])));
    await eventually(async () => {
      const st = await sc.stats();
      return st['cluster.app.upstream_rq_active'] === 0 && st['http.out.downstream_rq_active'] === 0;
    }, 10_000, 'no active requests left');
    const st = await sc.stats();
    assert.ok(st['http.out.downstream_rq_rx_reset'] >= N / 2, `resets counted: ${st['http.out.downstream_rq_rx_reset']}`);
    const ok = await rawExchange(port, [get('/after')], { done: oneResponse });
    assert.deepEqual(statuses(ok), [200]);
  });

  it('1,100 slow uploads from one client leave every other caller served (no shared slot to exhaust)', async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 1100; i += 100) {
        await Promise.all(
          Array.from(
            { length: 100 },
            () =>
              new Promise<void>((resolve) => {
                const s = net.connect(port, '127.0.0.1', () => {
                  // A body that trickles: the head and one byte of 100,000, then nothing for now.
                  s.write('POST /slow HTTP/1.1\r\nHost: bulk\r\nContent-Length: 100000\r\n\r\nx', () => resolve());
                });
                s.on('error', () => resolve());
                held.push(s);
              }),
          ),
        );
      }
      await eventually(async () => (await sc.stats())['http.out.downstream_rq_active'] >= 1100, 10_000, 'slow uploads in flight');
      for (let i = 0; i < 20; i++) assert.deepEqual(statuses(await rawExchange(port, [get(`/other-${i}`)], { done: oneResponse })), [200]);
      for (let i = 0; i < 5; i++) assert.deepEqual(statuses(await rawExchange(port, [get(`/bulk-${i}`, 'bulk')], { done: oneResponse })), [200]);
    } finally {
      for (const s of held) s.destroy();
    }
    await eventually(async () => (await sc.stats())['http.out.downstream_rq_active'] === 0, 10_000, 'slow uploads released');
  });

  it('a client that leaves while its upstream never answers is released by stream_idle_timeout (SI)', async () => {
    const before = await sc.stats();
    const text = await rawExchange(idlePort, [get('/hang', 'slow')], { done: oneResponse, timeoutMs: 5000 });
    assert.deepEqual(statuses(text), [408]);
    assert.match(text, /x-weft-reason: SI stream_idle_timeout/);
    await eventually(async () => (await sc.stats())['cluster.slow.upstream_rq_active'] === 0, 5000, 'slow upstream request released');
    const st = await sc.stats();
    assert.equal(st['http.idle.downstream_rq_idle_timeout'] - (before['http.idle.downstream_rq_idle_timeout'] ?? 0), 1);
  });

  const pathCases: [string, number][] = [
    ['/admin', 403],
    ['/public/../admin', 403],
    ['/./admin', 403],
    ['/%61dmin', 403],
    ['/public/%2e%2e/admin', 403],
    ['/public\\..\\admin', 403],
    ['/public', 200],
    ['/%zz', 400],
  ];
  for (const [path, want] of pathCases) {
    it(`normalize_path: ${path} → ${want}`, async () => {
      assert.deepEqual(statuses(await rawExchange(port, [get(path)], { done: oneResponse })), [want]);
    });
  }

  it('merge_slashes is an option: //admin passes BASE normalisation, not MERGE_SLASHES', async () => {
    assert.deepEqual(statuses(await rawExchange(port, [get('//admin')], { done: oneResponse })), [200]);
    assert.deepEqual(statuses(await rawExchange(mergePort, [get('//admin')], { done: oneResponse })), [403]);
    // Envoy's order: dot segments first, then slashes merged (/x//..//admin → /x//admin → /x/admin).
    assert.deepEqual(statuses(await rawExchange(mergePort, [get('/x//..//admin')], { done: oneResponse })), [200]);
    assert.deepEqual(statuses(await rawExchange(mergePort, [get('/x/..//admin')], { done: oneResponse })), [403]);
  });

  it('gRPC callers get local replies in gRPC: HTTP 200 with grpc-status', async () => {
    const grpc = 'content-type: application/grpc\r\nte: trailers\r\n';
    const noRoute = await rawExchange(port, [get('/pkg.Svc/Method', 'nothing', grpc)], { done: oneResponse });
    assert.deepEqual(statuses(noRoute), [200]);
    assert.match(noRoute, /\r\ngrpc-status: 12\r\n/); // 404 → UNIMPLEMENTED
    assert.match(noRoute, /\r\nx-weft-reason: NR no_route\r\n/);
    const fault = await rawExchange(port, [get('/pkg.Svc/Method', 'grpcfault', grpc)], { done: oneResponse });
    assert.deepEqual(statuses(fault), [200]);
    assert.match(fault, /\r\ngrpc-status: 14\r\n/);
    assert.match(fault, /\r\nx-weft-reason: FI fault_filter_abort\r\n/);
  });
});

describe('overload manager (real sidecar process)', () => {
  let sc: SidecarProcess;
  let port = 0;
  let slow: http.Server;

  before(async () => {
    slow = http.createServer(() => {});
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    [port] = await listenerPorts(1);
    sc = await startSidecarProcess({
      clusters: [staticCluster('slow', [(slow.address() as net.AddressInfo).port]), staticCluster('app', [1])],
      listeners: [listener('out', port)],
      routes: [routes],
      args: ['--max-active-requests', '2', '--max-downstream-connections', '4'],
    });
  });

  after(async () => {
    await sc?.stop();
    slow?.closeAllConnections();
    slow?.close();
  });

  it('requests over the per-listener cap get 503 OM at once; connections over the global cap are closed', async () => {
    const hold: net.Socket[] = [];
    const open = () =>
      new Promise<net.Socket>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', () => {});
        hold.push(s);
      });
    try {
      for (let i = 0; i < 2; i++) (await open()).write(get('/hang', 'slow'));
      await eventually(async () => (await sc.stats())['listener.out.downstream_rq_active'] === 2, 5000, 'two requests in flight');
      const third = await rawExchange(port, [get('/hang', 'slow')], { done: oneResponse });
      assert.deepEqual(statuses(third), [503]);
      assert.match(third, /x-weft-reason: OM overload_active_requests/);
      // Two connections are open; two more fit under the cap of 4, the fifth is closed unanswered.
      await open();
      await open();
      await eventually(async () => (await sc.stats())['overload.downstream_cx_active'] === 4, 5000, 'four connections');
      const refused = await rawExchange(port, [get('/x', 'slow')], { timeoutMs: 3000 });
      assert.equal(refused, '');
      const st = await sc.stats();
      assert.equal(st['listener.out.downstream_cx_overflow'], 1);
      assert.equal(st['http.out.downstream_rq_overload'], 1);
    } finally {
      for (const s of hold) s.destroy();
    }
  });
});
