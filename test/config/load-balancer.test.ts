// DestinationRule loadBalancer: consistentHash, localityLbSetting and warmup, valid and invalid.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DestinationRule, LoadBalancerSettings } from '../../src/config/types.js';
import { assertHasError, onlyResource, parseSpec, type WantError } from './helpers.js';

const lbSpec = (loadBalancer: Record<string, unknown>) => ({ host: 'reviews', trafficPolicy: { loadBalancer } });
const read = (loadBalancer: Record<string, unknown>): LoadBalancerSettings | undefined =>
  (onlyResource(parseSpec('DestinationRule', lbSpec(loadBalancer))) as DestinationRule).spec.trafficPolicy?.loadBalancer;

describe('loadBalancer: valid', () => {
  const cases: { name: string; lb: Record<string, unknown>; want: LoadBalancerSettings }[] = [
    { name: 'cookie with ttl and path', lb: { consistentHash: { httpCookie: { name: 'user', path: '/', ttl: '60s' } } }, want: { consistentHash: { key: { kind: 'cookie', name: 'user', path: '/', ttlMs: 60_000 }, table: { kind: 'ringHash' } } } },
    { name: 'source ip on Maglev', lb: { consistentHash: { useSourceIp: true, maglev: { tableSize: 251 } } }, want: { consistentHash: { key: { kind: 'sourceIp' }, table: { kind: 'maglev', tableSize: 251 } } } },
    { name: 'query parameter, ring size', lb: { consistentHash: { httpQueryParameterName: 'u', ringHash: { minimumRingSize: 2048 } } }, want: { consistentHash: { key: { kind: 'queryParameter', name: 'u' }, table: { kind: 'ringHash', minimumRingSize: 2048 } } } },
    { name: 'deprecated minimumRingSize', lb: { consistentHash: { httpHeaderName: 'x', minimumRingSize: 512 } }, want: { consistentHash: { key: { kind: 'header', name: 'x' }, table: { kind: 'ringHash', minimumRingSize: 512 } } } },
    { name: 'warmupDurationSecs', lb: { simple: 'ROUND_ROBIN', warmupDurationSecs: '30s' }, want: { simple: 'ROUND_ROBIN', warmup: { durationMs: 30_000 } } },
    { name: 'warmup block', lb: { warmup: { duration: '10s', minimumPercent: 20, aggression: 2 } }, want: { warmup: { durationMs: 10_000, minimumPercent: 20, aggression: 2 } } },
    {
      name: 'locality distribute',
      lb: { localityLbSetting: { enabled: true, distribute: [{ from: 'r1/z1/*', to: { 'r1/z1/*': 80, 'r1/z2/*': 20 } }] } },
      want: { localityLbSetting: { enabled: true, distribute: [{ from: 'r1/z1/*', to: { 'r1/z1/*': 80, 'r1/z2/*': 20 } }] } },
    },
    { name: 'locality failover', lb: { localityLbSetting: { failover: [{ from: 'r1', to: 'r2' }], failoverPriority: ['topology.istio.io/network'] } }, want: { localityLbSetting: { failover: [{ from: 'r1', to: 'r2' }], failoverPriority: ['topology.istio.io/network'] } } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(read(c.lb), c.want));
});

describe('loadBalancer: invalid', () => {
  const at = 'spec.trafficPolicy.loadBalancer';
  const cases: { name: string; lb: Record<string, unknown>; error: WantError }[] = [
    { name: 'no hash key', lb: { consistentHash: { ringHash: {} } }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: `${at}.consistentHash`, message: /exactly one of httpHeaderName/ } },
    { name: 'two hash keys', lb: { consistentHash: { httpHeaderName: 'x', useSourceIp: true } }, error: { code: 'WEFT_E_CONFLICT', path: `${at}.consistentHash`, message: /got httpHeaderName, useSourceIp/ } },
    { name: 'maglev table not prime', lb: { consistentHash: { httpHeaderName: 'x', maglev: { tableSize: 1000 } } }, error: { code: 'WEFT_E_INVALID_VALUE', path: `${at}.consistentHash.maglev.tableSize`, message: /not a prime/ } },
    { name: 'ring and maglev', lb: { consistentHash: { httpHeaderName: 'x', maglev: {}, ringHash: {} } }, error: { code: 'WEFT_E_CONFLICT', path: `${at}.consistentHash.maglev`, message: /ringHash/ } },
    { name: 'cookie without name', lb: { consistentHash: { httpCookie: { ttl: '1s' } } }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: `${at}.consistentHash.httpCookie.name`, message: /required/ } },
    { name: 'distribute not 100', lb: { localityLbSetting: { distribute: [{ from: 'a/*', to: { 'a/*': 50, 'b/*': 20 } }] } }, error: { code: 'WEFT_E_WEIGHTS', path: `${at}.localityLbSetting.distribute[0].to`, message: /add up to 100, got 70/ } },
    { name: 'distribute and failover', lb: { localityLbSetting: { distribute: [{ from: 'a/*', to: { 'a/*': 100 } }], failover: [{ from: 'a', to: 'b' }] } }, error: { code: 'WEFT_E_CONFLICT', path: `${at}.localityLbSetting.failover`, message: /distribute/ } },
    { name: 'failover to itself', lb: { localityLbSetting: { failover: [{ from: 'a', to: 'a' }] } }, error: { code: 'WEFT_E_INVALID_VALUE', path: `${at}.localityLbSetting.failover[0].to`, message: /differ/ } },
    { name: 'warmup twice', lb: { warmupDurationSecs: '1s', warmup: { duration: '1s' } }, error: { code: 'WEFT_E_CONFLICT', path: `${at}.warmup`, message: /warmupDurationSecs/ } },
  ];
  for (const c of cases)
    it(c.name, () => {
      const r = parseSpec('DestinationRule', lbSpec(c.lb));
      assertHasError(r, c.error);
    });
});
