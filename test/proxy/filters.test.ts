// Small units of the request path: header handling, redirects, the fault filter's odds, and
// filter-chain selection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HttpStream } from '../../src/proxy/http/stream.js';
import { FaultFilter } from '../../src/proxy/http/filters/fault.js';
import { redirectLocation } from '../../src/proxy/http/filters/router.js';
import { CONTINUE } from '../../src/proxy/http/filter.js';
import { applyHeaderMutation, forwardableHeaders } from '../../src/proxy/http/headers.js';
import { FilterChainSelector } from '../../src/proxy/listener/filter-chain.js';
import type { FaultConfig, FilterChainMatch, RedirectAction } from '../../src/proxy/xds/model.js';
import { cidr } from '../../src/proxy/xds/validate-listener.js';
import { Problems } from '../../src/proxy/xds/validate-common.js';

describe('headers', () => {
  it('drops hop-by-hop headers and those named by Connection', () => {
    const out = forwardableHeaders({
      host: 'a',
      connection: 'keep-alive, X-Secret',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      te: 'deflate',
      upgrade: 'h2c',
      'proxy-connection': 'keep-alive',
      trailer: 'x',
      'x-secret': 's',
      'x-kept': 'k',
    });
    assert.deepEqual({ ...out }, { host: 'a', 'x-kept': 'k' });
  });

  it('keeps the framing a Connection option names (content-length is not hop-by-hop)', () => {
    const out = forwardableHeaders({ host: 'a', connection: 'content-length, host, x-gone', 'content-length': '5', 'x-gone': '1' });
    assert.deepEqual({ ...out }, { host: 'a', 'content-length': '5' });
  });

  it('applies header mutations by append action', () => {
    const h: Record<string, string | string[]> = { a: '1', b: '2', c: '3', 'set-cookie': ['x=1'] };
    applyHeaderMutation(h, {
      remove: ['c'],
      add: [
        { key: 'a', value: 'x', action: 'append' },
        { key: 'b', value: 'y', action: 'overwrite' },
        { key: 'b', value: 'z', action: 'add_if_absent' },
        { key: 'n', value: 'new', action: 'add_if_absent' },
        { key: 'm', value: 'no', action: 'overwrite_if_exists' },
        { key: 'set-cookie', value: 'y=2', action: 'append' },
      ],
    });
    assert.deepEqual(h, { a: '1,x', b: 'y', n: 'new', 'set-cookie': ['x=1', 'y=2'] });
  });
});

describe('redirect location', () => {
  const ctx = (url: string, authority: string) => ({ url, authority, path: url.split('?')[0] }) as unknown as HttpStream;
  const base: RedirectAction = { kind: 'redirect', scheme: undefined, host: undefined, port: undefined, path: undefined, prefixRewrite: undefined, stripQuery: false, status: 301 };
  const cases: { name: string; url: string; authority: string; a: Partial<RedirectAction>; want: string }[] = [
    { name: 'path keeps host, port and query', url: '/a?q=1', authority: 'svc:9080', a: { path: '/b' }, want: 'http://svc:9080/b?q=1' },
    { name: 'host redirect drops the port', url: '/a', authority: 'svc:9080', a: { host: 'other' }, want: 'http://other/a' },
    { name: 'https and port', url: '/a', authority: 'svc', a: { scheme: 'https', port: 8443 }, want: 'https://svc:8443/a' },
    { name: 'strip query', url: '/a?q=1', authority: 'svc', a: { stripQuery: true }, want: 'http://svc/a' },
    { name: 'query in path_redirect wins', url: '/a?q=1', authority: 'svc', a: { path: '/b?z=2' }, want: 'http://svc/b?z=2' },
    { name: 'prefix rewrite', url: '/old/x?q', authority: 'svc', a: { prefixRewrite: '/new/' }, want: 'http://svc/new/x?q' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(redirectLocation(ctx(c.url, c.authority), { ...base, ...c.a }, { kind: 'prefix', value: '/old/' }), c.want));
  }
});

describe('fault filter odds', () => {
  it('aborts numerator/denominator of requests', async () => {
    const cfg: FaultConfig = { delay: undefined, abort: { httpStatus: 503, grpcStatus: undefined, percent: { numerator: 25, denominator: 100 } } };
    const N = 1000;
    let i = 0;
    const f = new FaultFilter('fault', cfg, () => (i++ % N) / N);
    let aborted = 0;
    for (let k = 0; k < N; k++) {
      const res = { headersSent: false, writeHead() {}, end() {}, destroy() {} };
      const stream = { route: undefined, vhost: undefined, res, info: { addFlag() {} }, perFilterConfig: () => undefined, respond() {}, isGrpc: false } as unknown as HttpStream;
      const status = await f.onRequest(stream);
      if (status !== CONTINUE) aborted++;
    }
    assert.equal(aborted, 250);
  });

  it('0 % never fires, and no config continues', async () => {
    const f = new FaultFilter('fault', { delay: undefined, abort: { httpStatus: 503, grpcStatus: undefined, percent: { numerator: 0, denominator: 100 } } }, () => 0);
    assert.equal(await f.onRequest({ res: {}, perFilterConfig: () => undefined } as unknown as HttpStream), CONTINUE);
    const none = new FaultFilter('fault', { delay: undefined, abort: undefined }, () => 0);
    assert.equal(await none.onRequest({ res: {}, perFilterConfig: () => undefined } as unknown as HttpStream), CONTINUE);
  });
});

describe('filter chain selection', () => {
  const m = (o: Partial<FilterChainMatch>): FilterChainMatch => ({ serverNames: [], destinationPort: undefined, prefixRanges: [], sourcePrefixRanges: [], transportProtocol: undefined, applicationProtocols: [], sourceType: 'ANY', ...o });
  const range = (prefix: string, len: number) => cidr({ address_prefix: prefix, prefix_len: { value: len } }, '', new Problems())!;
  const sel = new FilterChainSelector(
    [
      { match: m({}), value: 'any' },
      { match: m({ destinationPort: 9080 }), value: 'port' },
      { match: m({ prefixRanges: [range('10.0.0.0', 8)] }), value: 'net8' },
      { match: m({ prefixRanges: [range('10.1.0.0', 16)] }), value: 'net16' },
      { match: m({ sourcePrefixRanges: [range('192.168.0.0', 16)] }), value: 'src' },
      { match: m({ transportProtocol: 'tls' }), value: 'tls' },
    ],
    'default',
  );
  const cases = [
    { name: 'catch-all', conn: { localAddress: '127.0.0.1', localPort: 1, remoteAddress: '127.0.0.1' }, want: 'any' },
    { name: 'destination port is most specific', conn: { localAddress: '10.1.2.3', localPort: 9080, remoteAddress: '1.1.1.1' }, want: 'port' },
    { name: 'longest destination prefix', conn: { localAddress: '10.1.2.3', localPort: 1, remoteAddress: '1.1.1.1' }, want: 'net16' },
    { name: 'shorter prefix', conn: { localAddress: '10.9.2.3', localPort: 1, remoteAddress: '1.1.1.1' }, want: 'net8' },
    { name: 'IPv4-mapped IPv6', conn: { localAddress: '::ffff:10.9.2.3', localPort: 1, remoteAddress: '1.1.1.1' }, want: 'net8' },
    { name: 'source prefix', conn: { localAddress: '127.0.0.1', localPort: 1, remoteAddress: '192.168.4.4' }, want: 'src' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(sel.select(c.conn), c.want));
  it('falls back to the default chain; TLS chains never match plaintext', () => {
    const only = new FilterChainSelector([{ match: m({ transportProtocol: 'tls' }), value: 'tls' }], 'default');
    assert.equal(only.select({ localAddress: '127.0.0.1', localPort: 1 }), 'default');
    const none = new FilterChainSelector([{ match: m({ destinationPort: 1 }), value: 'p1' }], undefined);
    assert.equal(none.select({ localAddress: '127.0.0.1', localPort: 2 }), undefined);
  });
});
