import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceEntry, WorkloadEntry } from '../../src/config/types.js';
import { protocolFromPortName } from '../../src/config/validate/service-entry.js';
import { assertHasError, onlyResource, parseSpec, type WantError } from './helpers.js';

const se = (extra: Record<string, unknown> = {}) => ({ hosts: ['api.example.com'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }], resolution: 'DNS', ...extra });

describe('ServiceEntry: valid specs', () => {
  const cases: Array<{ name: string; spec: unknown; want: (s: ServiceEntry) => void }> = [
    {
      name: 'defaults: location MESH_EXTERNAL, resolution NONE',
      spec: { hosts: ['api.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] },
      want: (s) => {
        assert.equal(s.spec.location, 'MESH_EXTERNAL');
        assert.equal(s.spec.resolution, 'NONE');
        assert.deepEqual(s.spec.endpoints, []);
        assert.deepEqual(s.spec.addresses, []);
      },
    },
    {
      name: 'protocol from the port name; lower-case protocol accepted',
      spec: se({ ports: [{ number: 80, name: 'http-web' }, { number: 81, name: 'grpc' }, { number: 82, name: 'metrics' }, { number: 83, name: 'db', protocol: 'tcp' }] }),
      want: (s) => assert.deepEqual(s.spec.ports.map((p) => p.protocol), ['HTTP', 'GRPC', 'UNKNOWN', 'TCP']),
    },
    {
      name: 'STATIC with endpoints',
      spec: {
        hosts: ['db.internal'],
        addresses: ['10.1.0.0/16'],
        location: 'MESH_INTERNAL',
        ports: [{ number: 5432, name: 'tcp-pg', protocol: 'TCP', targetPort: 15432 }],
        resolution: 'STATIC',
        endpoints: [{ address: '10.1.2.3', ports: { 'tcp-pg': 5433 }, labels: { version: 'v1' }, weight: 2 }],
      },
      want: (s) => {
        assert.equal(s.spec.ports[0].targetPort, 15432);
        assert.deepEqual(s.spec.endpoints, [{ address: '10.1.2.3', ports: { 'tcp-pg': 5433 }, labels: { version: 'v1' }, weight: 2 }]);
      },
    },
    {
      name: 'STATIC with a workload selector',
      spec: { hosts: ['vm.internal'], ports: [{ number: 80, name: 'http' }], resolution: 'STATIC', workloadSelector: { labels: { app: 'vm' } } },
      want: (s) => assert.deepEqual(s.spec.workloadSelector, { labels: { app: 'vm' } }),
    },
    {
      name: 'wildcard host with resolution NONE',
      spec: { hosts: ['*.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }] },
      want: (s) => assert.deepEqual(s.spec.hosts, ['*.example.com']),
    },
  ];
  for (const c of cases) it(c.name, () => c.want(onlyResource(parseSpec('ServiceEntry', c.spec)) as ServiceEntry));
});

describe('ServiceEntry: invalid specs', () => {
  const cases: Array<{ name: string; spec: unknown; error: WantError }> = [
    { name: 'hosts missing', spec: { ports: [] }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.hosts', message: /required/ } },
    { name: 'host "*"', spec: se({ hosts: ['*'], resolution: 'NONE' }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.hosts[0]', message: /not allowed/ } },
    { name: 'port number out of range', spec: se({ ports: [{ number: 0, name: 'http' }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.ports[0].number', message: /1\.\.65535/ } },
    { name: 'port name missing', spec: se({ ports: [{ number: 80 }] }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.ports[0].name', message: /required/ } },
    { name: 'unknown protocol', spec: se({ ports: [{ number: 80, name: 'http', protocol: 'SPDY' }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.ports[0].protocol', message: /one of HTTP/ } },
    { name: 'duplicate port number', spec: se({ ports: [{ number: 80, name: 'a' }, { number: 80, name: 'b' }] }), error: { code: 'WEFT_E_DUPLICATE_VALUE', path: 'spec.ports[1].number', message: /already defined/ } },
    { name: 'unknown resolution', spec: se({ resolution: 'MAGIC' }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.resolution', message: /NONE, STATIC, DNS/ } },
    { name: 'STATIC without endpoints', spec: se({ resolution: 'STATIC' }), error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.endpoints', message: /endpoints or a workloadSelector/ } },
    { name: 'STATIC endpoint that is a name', spec: se({ resolution: 'STATIC', endpoints: [{ address: 'db.example.com' }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.endpoints[0].address', message: /IP address/ } },
    { name: 'DNS with a wildcard host', spec: se({ hosts: ['*.example.com'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.hosts[0]', message: /cannot be resolved by DNS/ } },
    { name: 'NONE with endpoints', spec: se({ resolution: 'NONE', endpoints: [{ address: '1.2.3.4' }] }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.endpoints', message: /resolution NONE/ } },
    { name: 'endpoint port not declared', spec: se({ resolution: 'STATIC', endpoints: [{ address: '1.2.3.4', ports: { http: 8080 } }] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.endpoints[0].ports.http', message: /not defined by the service entry/ } },
    { name: 'endpoints and workloadSelector', spec: se({ resolution: 'STATIC', endpoints: [{ address: '1.2.3.4' }], workloadSelector: { labels: { app: 'x' } } }), error: { code: 'WEFT_E_CONFLICT', path: 'spec.workloadSelector', message: /endpoints/ } },
    { name: 'bad address', spec: se({ addresses: ['10.0.0.300'] }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.addresses[0]', message: /IP address or CIDR/ } },
    { name: 'unknown location', spec: se({ location: 'OUTSIDE' }), error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.location', message: /MESH_EXTERNAL/ } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseSpec('ServiceEntry', c.spec);
      assertHasError(r, c.error);
      assert.equal(r.resources.length, 0);
    });
  }
});

describe('WorkloadEntry', () => {
  it('accepts an IP or a DNS name with ports, labels, service account, weight', () => {
    const we = onlyResource(parseSpec('WorkloadEntry', { address: 'vm1.example.com', ports: { http: 8080 }, labels: { app: 'ratings' }, serviceAccount: 'ratings', weight: 5 })) as WorkloadEntry;
    assert.deepEqual(we.spec, { address: 'vm1.example.com', ports: { http: 8080 }, labels: { app: 'ratings' }, serviceAccount: 'ratings', weight: 5 });
    const ip = onlyResource(parseSpec('WorkloadEntry', { address: '2001:db8::1' })) as WorkloadEntry;
    assert.deepEqual(ip.spec, { address: '2001:db8::1', ports: {}, labels: {} });
  });

  const cases: Array<{ name: string; spec: unknown; error: WantError }> = [
    { name: 'address missing', spec: { labels: { app: 'x' } }, error: { code: 'WEFT_E_REQUIRED_FIELD', path: 'spec.address', message: /required/ } },
    { name: 'address not a name or IP', spec: { address: 'not a host!' }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.address', message: /not a valid IP address or DNS name/ } },
    { name: 'port not a number', spec: { address: '1.2.3.4', ports: { http: '80' } }, error: { code: 'WEFT_E_TYPE', path: 'spec.ports.http', message: /integer/ } },
    { name: 'negative weight', spec: { address: '1.2.3.4', weight: -1 }, error: { code: 'WEFT_E_INVALID_VALUE', path: 'spec.weight', message: /got -1/ } },
    { name: 'unknown field', spec: { address: '1.2.3.4', serviceaccount: 'x' }, error: { code: 'WEFT_E_UNKNOWN_FIELD', path: 'spec.serviceaccount', message: /did you mean "serviceAccount"/ } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assertHasError(parseSpec('WorkloadEntry', c.spec), c.error);
    });
  }
});

describe('protocolFromPortName', () => {
  const cases: Array<[string, string]> = [
    ['http', 'HTTP'],
    ['http-web', 'HTTP'],
    ['http2', 'HTTP2'],
    ['https-admin', 'HTTPS'],
    ['grpc-api', 'GRPC'],
    ['grpc-web', 'GRPC-WEB'],
    ['tcp-db', 'TCP'],
    ['mongo', 'MONGO'],
    ['web', 'UNKNOWN'],
    ['httpx', 'UNKNOWN'],
  ];
  for (const [name, want] of cases) it(`${name} → ${want}`, () => assert.equal(protocolFromPortName(name), want));
});
