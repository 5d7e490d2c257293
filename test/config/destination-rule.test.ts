import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DestinationRule } from '../../src/config/types.js';
import { assertHasError, onlyResource, parseSpec, type WantError } from './helpers.js';

const dr = (extra: Record<string, unknown> = {}) => ({ host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }], ...extra });

describe('DestinationRule: valid specs', () => {
  const cases: Array<{ name: string; spec: unknown; want: (d: DestinationRule) => void }> = [
    {
      name: 'host and subsets',
      spec: dr(),
      want: (d) => {
        assert.equal(d.spec.host, 'reviews');
        assert.deepEqual(d.spec.subsets, [{ name: 'v1', labels: { version: 'v1' } }]);
      },
    },
    {
      name: 'no subsets means []',
      spec: { host: '*.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } },
      want: (d) => {
        assert.deepEqual(d.spec.subsets, []);
        assert.deepEqual(d.spec.trafficPolicy?.tls, { mode: 'ISTIO_MUTUAL' });
      },
    },
    {
      name: 'LEAST_CONN is read as LEAST_REQUEST',
      spec: dr({ trafficPolicy: { loadBalancer: { simple: 'LEAST_CONN' } } }),
      want: (d) => assert.equal(d.spec.trafficPolicy?.loadBalancer?.simple, 'LEAST_REQUEST'),
    },
    {
      name: 'consistentHash by header (ring hash by default)',
      spec: dr({ trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'X-User' } } } }),
      want: (d) => assert.deepEqual(d.spec.trafficPolicy?.loadBalancer?.consistentHash, { key: { kind: 'header', name: 'x-user' }, table: { kind: 'ringHash' } }),
    },
    {
      name: 'connection pool and outlier detection durations in ms',
      spec: dr({
        trafficPolicy: {
          connectionPool: { tcp: { maxConnections: 100, connectTimeout: '30ms' }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 10, idleTimeout: '1m' } },
          outlierDetection: { consecutive5xxErrors: 7, interval: '5m', baseEjectionTime: '15m', maxEjectionPercent: 100 },
        },
      }),
      want: (d) => {
        assert.deepEqual(d.spec.trafficPolicy?.connectionPool, { tcp: { maxConnections: 100, connectTimeoutMs: 30 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 10, idleTimeoutMs: 60_000 } });
        assert.deepEqual(d.spec.trafficPolicy?.outlierDetection, { consecutive5xxErrors: 7, intervalMs: 300_000, baseEjectionTimeMs: 900_000, maxEjectionPercent: 100 });
      },
    },
    {
      name: 'port-level settings and a subset policy',
      spec: {
        host: 'reviews',
        trafficPolicy: { portLevelSettings: [{ port: { number: 443 }, tls: { mode: 'SIMPLE', sni: 'reviews.example' } }] },
        subsets: [{ name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }],
      },
      want: (d) => {
        assert.deepEqual(d.spec.trafficPolicy?.portLevelSettings, [{ port: { number: 443 }, tls: { mode: 'SIMPLE', sni: 'reviews.example' } }]);
        assert.equal(d.spec.subsets[0].trafficPolicy?.loadBalancer?.simple, 'RANDOM');
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => c.want(onlyResource(parseSpec('DestinationRule', c.spec)) as DestinationRule));
  }
});

describe('DestinationRule: invalid specs', () => {
  const cases: Array<{ name: string; spec: unknown; error: WantError }> = [
    { name: 'host missing', spec: { subsets: [] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.host', message: /required/ } },
    { name: 'subset without name', spec: dr({ subsets: [{ labels: { version: 'v1' } }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.subsets[0].name', message: /required/ } },
    { name: 'duplicate subset names', spec: dr({ subsets: [{ name: 'v1' }, { name: 'v1' }] }), error: { code: 'WEFT_E_DUPLICATE_VALUE', path: 'spec.subsets[1].name', message: /duplicate subset name "v1"/ } },
    { name: 'subset label not a string', spec: dr({ subsets: [{ name: 'v1', labels: { version: 1 } }] }), error: { code: 'WEFT_E_TYPE', path: 'spec.subsets[0].labels.version', message: /must be a string, got 1/ } },
    { name: 'unknown load balancer', spec: dr({ trafficPolicy: { loadBalancer: { simple: 'FASTEST' } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.trafficPolicy.loadBalancer.simple', message: /one of .*ROUND_ROBIN/ } },
    { name: 'simple and consistentHash', spec: dr({ trafficPolicy: { loadBalancer: { simple: 'RANDOM', consistentHash: { useSourceIp: true } } } }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.trafficPolicy.loadBalancer.consistentHash', message: /simple/ } },
    { name: 'unknown tls mode', spec: dr({ trafficPolicy: { tls: { mode: 'STRICT' } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.trafficPolicy.tls.mode', message: /ISTIO_MUTUAL/ } },
    { name: 'ISTIO_MUTUAL with own certificate', spec: dr({ trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL', clientCertificate: '/c.pem' } } }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.trafficPolicy.tls.clientCertificate', message: /mesh certificates/ } },
    { name: 'credentialName (no secret store yet)', spec: dr({ trafficPolicy: { tls: { mode: 'SIMPLE', credentialName: 'api-cred' } } }), error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.trafficPolicy.tls.credentialName', message: /no secret store/ } },
    { name: 'caCrl (not checked)', spec: dr({ trafficPolicy: { tls: { mode: 'SIMPLE', caCrl: '/crl.pem' } } }), error: { code: 'WEFT_E_UNSUPPORTED', path: 'spec.trafficPolicy.tls.caCrl', message: /revocation/ } },
    { name: 'MUTUAL without key', spec: dr({ trafficPolicy: { tls: { mode: 'MUTUAL', clientCertificate: '/c.pem' } } }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.trafficPolicy.tls.privateKey', message: /MUTUAL/ } },
    { name: 'empty traffic policy', spec: dr({ trafficPolicy: {} }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.trafficPolicy', message: /at least one field/ } },
    { name: 'port-level settings without port', spec: dr({ trafficPolicy: { portLevelSettings: [{ tls: { mode: 'SIMPLE' } }] } }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.trafficPolicy.portLevelSettings[0].port', message: /need a port/ } },
    { name: 'outlier interval malformed', spec: dr({ trafficPolicy: { outlierDetection: { interval: 'often' } } }), error: { code: 'WEFT_E_DURATION', path: 'spec.trafficPolicy.outlierDetection.interval', message: /"often"/ } },
    { name: 'max ejection over 100', spec: dr({ trafficPolicy: { outlierDetection: { maxEjectionPercent: 101 } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.trafficPolicy.outlierDetection.maxEjectionPercent', message: /0\.\.100/ } },
    { name: 'negative max connections', spec: dr({ trafficPolicy: { connectionPool: { tcp: { maxConnections: -1 } } } }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.trafficPolicy.connectionPool.tcp.maxConnections', message: /got -1/ } },
    { name: 'unknown traffic policy field', spec: dr({ trafficPolicy: { loadbalancer: { simple: 'RANDOM' } } }), error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.trafficPolicy.loadbalancer', message: /did you mean "loadBalancer"/ } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseSpec('DestinationRule', c.spec);
      assertHasError(r, c.error);
      assert.equal(r.resources.length, 0);
    });
  }
});
