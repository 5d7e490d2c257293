// Which protocol each cluster speaks upstream, as Istio decides it, and that the proxy accepts and
// runs what the control plane emits: HTTP/2 for gRPC and HTTP/2 ports (outbound, and inbound to the
// app), HTTP/2 for an HTTP port with h2UpgradePolicy UPGRADE (with maxConcurrentStreams), the
// caller's protocol for an unknown one or useClientProtocol, HTTP/1.1 otherwise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packAny, TypeUrl } from '../../src/api/envoy.js';
import { translate } from '../../src/controlplane/translate/index.js';
import { decodeResources } from '../../src/proxy/xds/decode.js';
import type { Cluster } from '../../src/proxy/xds/model.js';
import { parseMeshConfig, type MeshConfig } from '../../src/config/mesh-config.js';
import { buildSnapshot } from '../../src/controlplane/model/snapshot.js';
import { configFrom, proxy, yaml } from './fixtures.js';

const se = (name: string, protocol: string) =>
  yaml(`${name}.yaml`, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name} }
spec:
  hosts: [${name}.example.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 7070, name: ${protocol.toLowerCase()}-port, protocol: ${protocol} }]
  endpoints: [{ address: 198.18.0.10 }]
`);
const upgradeDr = yaml('dr.yaml', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web }
spec:
  host: web.example.internal
  trafficPolicy:
    connectionPool:
      http: { h2UpgradePolicy: UPGRADE, maxConcurrentStreams: 50, idleTimeout: 30s }
`);

function clustersOf(...docs: ReturnType<typeof yaml>[]): Cluster[] {
  return clustersWith(undefined, ...docs);
}

function clustersWith(mesh: MeshConfig | undefined, ...docs: ReturnType<typeof yaml>[]): Cluster[] {
  const client = proxy('client', 'v1', 2, { ports: [{ servicePort: 7070, endpointPort: 15006, appPort: 7071, protocol: 'GRPC' }] });
  const out = translate(buildSnapshot({ config: configFrom(...docs), proxies: [], domain: 'cluster.local', mesh }), client);
  const r = decodeResources('cluster', out.cluster.map((c) => packAny(TypeUrl.cluster, c.body)));
  assert.ok(r.valid, `the proxy refuses the control plane's clusters: ${!r.valid && r.errors.join('; ')}`);
  return r.result.map((d) => d.model);
}

describe('upstream protocol per cluster', () => {
  const clusters = clustersOf(se('grpcsvc', 'GRPC'), se('h2svc', 'HTTP2'), se('web', 'HTTP'), se('plain', 'HTTP'), upgradeDr);
  const of = (host: string) => clusters.find((c) => c.name === `outbound|7070||${host}.example.internal`)!;
  const cases: [string, string, number][] = [
    ['grpcsvc', 'http2', 0],
    ['h2svc', 'http2', 0],
    ['web', 'http2', 50], // h2UpgradePolicy UPGRADE, maxConcurrentStreams 50
    ['plain', 'http1', 0],
  ];
  for (const [host, want, streams] of cases) {
    it(`${host} → ${want}`, () => {
      assert.equal(of(host).httpProtocol, want);
      assert.equal(of(host).http2MaxConcurrentStreams, streams);
    });
  }
  it('the DestinationRule idle timeout travels inside HttpProtocolOptions with the upgrade', () => {
    assert.equal(of('web').connectionOptions.idleTimeoutMs, 30_000);
  });
  it('the inbound cluster of a gRPC port speaks HTTP/2 to the app', () => {
    assert.equal(clusters.find((c) => c.name === 'inbound|7070||')!.httpProtocol, 'http2');
  });
  it("the mesh's h2UpgradePolicy and connectTimeout apply where no DestinationRule says otherwise", () => {
    const m = parseMeshConfig('h2UpgradePolicy: UPGRADE\nconnectTimeout: 3s\n', 'mesh.yaml');
    assert.ok(m.ok);
    const cs = clustersWith(m.ok ? m.mesh : undefined, se('plain', 'HTTP'));
    const plain = cs.find((c) => c.name === 'outbound|7070||plain.example.internal')!;
    assert.equal(plain.httpProtocol, 'http2');
    assert.equal(plain.connectTimeoutMs, 3000);
  });

  it('an unknown protocol follows the caller', () => {
    const [c] = clustersOf(se('sniffed', 'HTTP'), yaml('u.yaml', `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: sniffed }
spec:
  host: sniffed.example.internal
  trafficPolicy: { connectionPool: { http: { useClientProtocol: true } } }
`)).filter((x) => x.name.includes('sniffed'));
    assert.equal(c.httpProtocol, 'downstream');
  });
});
