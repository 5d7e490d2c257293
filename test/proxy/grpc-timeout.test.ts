// gRPC deadlines through the sidecar: a route that honours grpc-timeout (Istio's routes without a
// timeout: max_stream_duration.grpc_timeout_header_max 0s) cuts the upstream call at the client's
// deadline and answers in gRPC; the route's cap shortens a longer deadline; a route that does not
// honour the header keeps its own timeout. The upstream never answers, so without the feature the
// call would hang until the test's own liveness bound fails it.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HTTP_PROTOCOL_OPTIONS_KEY, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../src/api/envoy.js';
import { effectiveTimeoutMs, parseGrpcTimeout } from '../../src/proxy/http/grpc-timeout.js';
import type { Proxy } from '../../src/proxy/proxy.js';
import { validateRouteConfiguration } from '../../src/proxy/xds/validate-route.js';
import { TestAdsServer } from './helpers/ads-server.js';
import { startSotwProxy } from './helpers/proxy-under-test.js';
import { hcmListener, staticCluster } from './helpers/resources.js';

describe('grpc-timeout parsing and the effective timeout', () => {
  it('reads the gRPC wire form and refuses anything else', () => {
    assert.equal(parseGrpcTimeout('150m'), 150);
    assert.equal(parseGrpcTimeout('2S'), 2000);
    assert.equal(parseGrpcTimeout('1M'), 60_000);
    assert.equal(parseGrpcTimeout('1H'), 3_600_000);
    assert.equal(parseGrpcTimeout('5000u'), 5);
    assert.equal(parseGrpcTimeout('123456789m'), undefined, 'at most 8 digits');
    for (const bad of ['', '10', 'm', '1.5S', '10s', '-1S', ' 1S']) assert.equal(parseGrpcTimeout(bad), undefined, bad);
  });

  it('the header replaces the route timeout only where the route says so; cap and offset apply', () => {
    assert.equal(effectiveTimeoutMs(15_000, undefined, '100m'), 15_000);
    assert.equal(effectiveTimeoutMs(0, { headerMaxMs: 0, headerOffsetMs: 0 }, '100m'), 100);
    assert.equal(effectiveTimeoutMs(0, { headerMaxMs: 0, headerOffsetMs: 0 }, undefined), 0, 'no header: the route timeout');
    assert.equal(effectiveTimeoutMs(7, { headerMaxMs: 0, headerOffsetMs: 0 }, 'junk'), 7, 'malformed: the route timeout');
    assert.equal(effectiveTimeoutMs(0, { headerMaxMs: 50, headerOffsetMs: 0 }, '10S'), 50);
    assert.equal(effectiveTimeoutMs(0, { headerMaxMs: 0, headerOffsetMs: 20 }, '100m'), 80);
    assert.equal(effectiveTimeoutMs(0, { headerMaxMs: 0, headerOffsetMs: 200 }, '100m'), 100, 'an offset larger than the deadline is not applied');
    assert.equal(effectiveTimeoutMs(0, { headerMaxMs: 0, headerOffsetMs: 0 }, '0m'), 1, 'already due: still a timeout');
  });
});

describe('grpc-timeout through a sidecar', () => {
  const ads = new TestAdsServer();
  let upstream: http2.Http2Server;
  const held: http2.ServerHttp2Stream[] = [];
  let proxy: Proxy;

  before(async () => {
    // Takes every call and never answers.
    upstream = http2.createServer();
    upstream.on('stream', (s) => held.push(s));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const h2 = { [HTTP_PROTOCOL_OPTIONS_KEY]: { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL, explicit_http_config: { http2_protocol_options: {} } } };
    await ads.start();
    ads.set('cluster', 'c1', [staticCluster('app', [(upstream.address() as AddressInfo).port], { typed_extension_protocol_options: h2 })]);
    const route = (prefix: string, action: Record<string, unknown>) => ({ match: { prefix }, route: { cluster: 'app', ...action } });
    ads.set('listener', 'l1', [
      hcmListener('outbound', 0, {
        route_config: {
          name: 'r',
          virtual_hosts: [
            {
              name: 'all',
              domains: ['*'],
              routes: [
                route('/capped/', { timeout: { seconds: 0 }, max_stream_duration: { grpc_timeout_header_max: { nanos: 100_000_000 } } }),
                route('/route-timeout/', { timeout: { nanos: 150_000_000 } }),
                route('/', { timeout: { seconds: 0 }, max_stream_duration: { max_stream_duration: { seconds: 0 }, grpc_timeout_header_max: { seconds: 0 } } }),
              ],
            },
          ],
        },
      }),
    ]);
    proxy = await startSotwProxy(ads);
  });

  after(async () => {
    for (const s of held) s.close();
    proxy?.destroy();
    await ads.stop();
    await new Promise((r) => upstream.close(r));
  });

  /** A unary gRPC call that does not cancel itself at its deadline: the sidecar must. */
  const call = (path: string, timeout: string | undefined): Promise<{ status: number; grpcStatus: string | undefined; reason: string | undefined }> =>
    new Promise((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${proxy.listenerPort('outbound')}`);
      session.on('error', reject);
      const bound = setTimeout(() => {
        session.destroy();
        reject(new Error(`no answer from the sidecar for ${path} (grpc-timeout ${timeout}) within 5 s`));
      }, 5000);
      const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' };
      if (timeout) headers['grpc-timeout'] = timeout;
      const req = session.request(headers);
      let status = 0;
      let grpcStatus: string | undefined;
      let reason: string | undefined;
      req.on('response', (h) => {
        status = Number(h[':status']);
        grpcStatus = h['grpc-status'] as string | undefined;
        reason = h['x-weft-reason'] as string | undefined;
      });
      req.on('trailers', (t) => (grpcStatus ??= t['grpc-status'] as string | undefined));
      req.on('close', () => {
        clearTimeout(bound);
        session.close();
        resolve({ status, grpcStatus, reason });
      });
      req.end(Buffer.from([0, 0, 0, 0, 0]));
    });

  it("cuts the upstream call at the client's deadline and answers the gRPC caller in gRPC (timeout flag)", async () => {
    const before = held.length;
    const r = await call('/weft.Echo/Slow', '200m');
    assert.equal(r.status, 200, 'gRPC local replies are HTTP 200 with a grpc-status');
    assert.equal(r.grpcStatus, '14');
    assert.match(r.reason ?? '', /^UT /);
    assert.equal(held.length, before + 1, 'the call reached the upstream');
    assert.equal(proxy.stats()['cluster.app.upstream_rq_timeout'], 1);
  });

  it("the route's header cap shortens a longer deadline", async () => {
    const r = await call('/capped/Slow', '1M');
    assert.equal(r.grpcStatus, '14');
    assert.match(r.reason ?? '', /^UT /);
  });

  it('a route without the setting keeps its own timeout whatever the header says', async () => {
    const r = await call('/route-timeout/Slow', '1H');
    assert.equal(r.grpcStatus, '14');
    assert.match(r.reason ?? '', /^UT /);
  });

  it('a NACK for a stream duration limit (not implemented) and for RouteAction fields the router does not implement', () => {
    const errors = (action: Record<string, unknown>) => {
      const r = validateRouteConfiguration({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', ...action } }] }] });
      return r.valid ? [] : r.errors;
    };
    assert.deepEqual(errors({ max_stream_duration: { grpc_timeout_header_max: { seconds: 1 } } }), []);
    assert.match(errors({ max_stream_duration: { max_stream_duration: { seconds: 5 } } }).join('\n'), /max_stream_duration\.max_stream_duration: not supported yet/);
    assert.match(errors({ idle_timeout: { seconds: 5 } }).join('\n'), /route\.idle_timeout: not supported/);
    assert.match(errors({ hedge_policy: { initial_requests: { value: 2 } } }).join('\n'), /route\.hedge_policy: not supported/);
  });
});
