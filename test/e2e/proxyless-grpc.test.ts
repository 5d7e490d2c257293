// A real @grpc/grpc-js-xds client with an Istio-style bootstrap (no Weft metadata) routed by the
// control plane alone, no sidecar on the gRPC path, to two versions of a plain gRPC service.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ECHO_HOST, ECHO_PORT, startProxylessMesh, type ProxylessMesh } from '../helpers/proxyless-mesh.js';

const TARGET = `xds:///${ECHO_HOST}:${ECHO_PORT}`;
const SUBSETS = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo, namespace: default }
spec:
  host: ${ECHO_HOST}
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;
const split = (w1: number, w2: number) => `${SUBSETS}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo, namespace: default }
spec:
  hosts: [${ECHO_HOST}]
  http:
  - route:
    - { destination: { host: ${ECHO_HOST}, subset: v1 }, weight: ${w1} }
    - { destination: { host: ${ECHO_HOST}, subset: v2 }, weight: ${w2} }
`;

let mesh: ProxylessMesh;
before(async () => {
  mesh = await startProxylessMesh(split(80, 20));
});
after(async () => mesh?.stop());

test('an 80/20 VirtualService split lands within ±4 points over 1,000 calls', async () => {
  const r = await mesh.call(TARGET, 1000);
  assert.equal(r.lastError, '', `calls failed: ${JSON.stringify(r.counts)}`);
  const v1 = (r.counts.v1 ?? 0) / 10;
  assert.ok(Math.abs(v1 - 80) <= 4, `v1 got ${v1}% (${JSON.stringify(r.counts)})`);
});
