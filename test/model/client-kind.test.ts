// Telling a proxyless gRPC client, an Envoy and a `weft proxy` apart from the xDS node, and what a
// node without Weft's metadata is served as.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromStruct, toStruct, type Json, type NodeWire } from '../../src/api/envoy.js';
import { proxylessBootstrap } from '../../src/api/grpc-bootstrap.js';
import { istioNodeId, nodeClientOf, registersWorkload } from '../../src/controlplane/model/client-kind.js';
import { parseProxyNode } from '../../src/controlplane/model/proxy-node.js';

const node = (o: Partial<NodeWire> & { md?: Record<string, Json> }): NodeWire => ({ id: o.id ?? 'n1', cluster: o.cluster ?? '', metadata: toStruct(o.md ?? {}), ...o });

const kinds: Array<{ name: string; node: NodeWire; want: string }> = [
  { name: 'grpc-js-xds (user agent and client feature)', node: node({ user_agent_name: 'gRPC Node Pure JS', client_features: ['envoy.lb.does_not_support_overprovisioning'] }), want: 'grpc' },
  { name: 'gRPC Go by user agent alone', node: node({ user_agent_name: 'gRPC Go' }), want: 'grpc' },
  { name: "Istio's GENERATOR grpc alone", node: node({ md: { GENERATOR: 'grpc' } }), want: 'grpc' },
  { name: 'the client feature alone', node: node({ client_features: ['envoy.lb.does_not_support_overprovisioning'] }), want: 'grpc' },
  { name: 'Envoy', node: node({ user_agent_name: 'envoy' }), want: 'envoy' },
  { name: 'weft proxy', node: node({ user_agent_name: 'weft', md: { WEFT_SERVICE: 'reviews' } }), want: 'weft' },
  { name: 'no marks at all: strict (Weft) parsing', node: node({}), want: 'weft' },
];
for (const c of kinds)
  test(`client kind: ${c.name} → ${c.want}`, () => {
    const parsed = parseProxyNode(c.node);
    assert.equal(nodeClientOf(c.node, fromStruct(c.node.metadata)), c.want);
    if (parsed.ok) assert.equal(parsed.node.client, c.want);
  });

test("Istio's node id form gives the IP and namespace", () => {
  assert.deepEqual(istioNodeId('proxyless~10.1.2.3~echo-client-7d9.shop~shop.svc.cluster.local'), { ip: '10.1.2.3', namespace: 'shop' });
  assert.equal(istioNodeId('reviews-v1-1234'), undefined);
});

test('a grpc-js-xds node from an Istio-style bootstrap (no Weft metadata) is accepted, not registered', () => {
  const boot = proxylessBootstrap({ service: 'echo-client', namespace: 'shop', xdsAddress: '127.0.0.1:15010', address: '10.0.0.9' }) as { node: { id: string; metadata: Record<string, Json> } };
  const r = parseProxyNode({ id: boot.node.id, cluster: '', metadata: toStruct(boot.node.metadata), user_agent_name: 'gRPC Node Pure JS', client_features: ['envoy.lb.does_not_support_overprovisioning'] });
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual([r.node.client, r.node.namespace, r.node.address, r.node.ports.length], ['grpc', 'shop', '10.0.0.9', 0]);
  assert.equal(registersWorkload(r.node), false);
});

test('a proxyless node takes its namespace from ISTIO_META_NAMESPACE, then the node id, else default', () => {
  const grpcNode = (id: string, md: Record<string, Json>) => parseProxyNode({ id, cluster: '', metadata: toStruct(md), user_agent_name: 'gRPC Go' });
  const ns = (r: ReturnType<typeof parseProxyNode>) => (r.ok ? r.node.namespace : r.errors.join());
  assert.equal(ns(grpcNode('c1', { ISTIO_META_NAMESPACE: 'team-a' })), 'team-a');
  assert.equal(ns(grpcNode('proxyless~127.0.0.1~c.team-b~team-b.svc.cluster.local', {})), 'team-b');
  assert.equal(ns(grpcNode('c1', {})), 'default');
});

test('without any service a weft node is still refused, naming what is missing; a gRPC client is not', () => {
  const weft = parseProxyNode({ id: 'n1', cluster: '', metadata: toStruct({}) });
  assert.equal(weft.ok, false);
  assert.match(!weft.ok ? weft.errors.join() : '', /node\.metadata\.WEFT_SERVICE: expected a non-empty string, got null/);
  const grpc = parseProxyNode({ id: 'n1', cluster: '', metadata: toStruct({}), user_agent_name: 'gRPC Node Pure JS' });
  assert.ok(grpc.ok);
});

test('a proxyless client that names its service and ports is registered (an xDS-enabled gRPC server)', () => {
  const r = parseProxyNode({ id: 'n1', cluster: '', metadata: toStruct({ WEFT_SERVICE: 'echo', WEFT_PORTS: [{ service_port: 7070, protocol: 'GRPC' }] }), user_agent_name: 'gRPC Go' });
  assert.ok(r.ok);
  assert.equal(registersWorkload(r.node), true);
});
