// Regressions found by fuzzing the xDS edge (test/fuzz/xds.test.ts), each from its shrunk
// counterexample: validation must NACK with a field path or build a model the proxy can run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';
import { validateResource, type ProxyXdsType } from '../../src/proxy/xds/decode.js';
import type { ForwardAction } from '../../src/proxy/xds/model.js';
import { hcmListener, staticCluster } from './helpers/resources.js';

const roundTrip = <K extends ProxyXdsType>(type: K, obj: object) => validateResource<K>(type, unpackAny(packAny(TypeUrl[type], obj)));
const errorsOf = (v: { valid: boolean; errors?: string[] }) => (v.valid ? [] : v.errors!);
const route = (r: object) => ({ name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [r] }] });

describe('xDS validation: regressions found by fuzzing', () => {
  // A filter-chain prefix with an IPv6 zone that contains "::" (net.isIP accepts it) made ipBytes
  // build an array of negative length: the validator threw instead of NACKing.
  it('an address prefix with an IPv6 zone is a NACK, not a RangeError', () => {
    const l = hcmListener('l', 0, { rds: { route_config_name: 'r', config_source: { ads: {} } } }) as { filter_chains: Record<string, unknown>[] };
    l.filter_chains[0].filter_chain_match = { prefix_ranges: [{ address_prefix: '1:2:3:4:5:6:7:8%a::b:c', prefix_len: { value: 64 } }] };
    assert.deepEqual(errorsOf(roundTrip('listener', l)), ['listener l: filter_chains[0].filter_chain_match.prefix_ranges[0].address_prefix: "1:2:3:4:5:6:7:8%a::b:c": an address prefix has no IPv6 zone']);
  });

  // A connect timeout of 2^31 s went to setTimeout as 2.1e12 ms, which Node fires after 1 ms:
  // every connection to the cluster "timed out" at once.
  it('durations beyond a timer are held at the longest timer, not passed on to fire in 1 ms', () => {
    const v = roundTrip('cluster', staticCluster('c', [80], { connect_timeout: { seconds: 2 ** 31 } }));
    assert.ok(v.valid);
    if (v.valid) assert.equal(v.result.connectTimeoutMs, 2 ** 31 - 1);
    const r = roundTrip('route', route({ match: { prefix: '/' }, route: { cluster: 'c', timeout: { seconds: 30 * 86_400 } } }));
    assert.ok(r.valid);
    if (r.valid) assert.equal((r.result.virtualHosts[0].routes[0].action as ForwardAction).timeoutMs, 2 ** 31 - 1);
  });

  it('a duration outside google.protobuf.Duration is a NACK', () => {
    assert.match(errorsOf(roundTrip('cluster', staticCluster('c', [80], { connect_timeout: { seconds: 1e15 } })))[0], /^cluster c: connect_timeout: out of range/);
    assert.match(errorsOf(roundTrip('cluster', staticCluster('c', [80], { connect_timeout: { nanos: 2 ** 31 - 1 } })))[0], /^cluster c: connect_timeout: out of range/);
  });

  // Only the wrapped form ^(?:…)$ was compiled: ")(" and "/admin)|(.*" compiled there, the second
  // matching every path.
  it('a regex that does not compile on its own is a NACK', () => {
    for (const regex of [')(', '/admin)|(.*']) {
      assert.match(errorsOf(roundTrip('route', route({ match: { safe_regex: { regex } }, direct_response: { status: 200 } })))[0] ?? '', /safe_regex\.regex: invalid regex/, regex);
    }
  });
});
