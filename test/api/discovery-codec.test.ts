import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeDeltaDiscoveryResponse, encodeDiscoveryResponse } from '../../src/api/discovery-codec.js';
import { messageType, packAny, TypeUrl, unpackAny } from '../../src/api/envoy.js';

test('the hand-framed DiscoveryResponse decodes as Envoy\'s message, byte-identical to protobufjs', () => {
  const big = 'x'.repeat(300); // lengths above 127 need multi-byte varints
  const resources = [
    packAny(TypeUrl.cluster, { name: `c1-${big}`, type: 'EDS', lb_policy: 'LEAST_REQUEST' }),
    packAny(TypeUrl.cluster, { name: 'c2', type: 'STATIC' }),
  ];
  const response = { version_info: 'v-1', resources, type_url: TypeUrl.cluster, nonce: '42' };
  const ours = encodeDiscoveryResponse(response);
  const type = messageType('type.googleapis.com/envoy.service.discovery.v3.DiscoveryResponse');
  assert.deepEqual(ours, Buffer.from(type.encode(type.fromObject(response)).finish()));
  const decoded = type.decode(ours) as unknown as { version_info: string; nonce: string; type_url: string; resources: { type_url: string; value: Uint8Array }[] };
  assert.equal(decoded.version_info, 'v-1');
  assert.equal(decoded.nonce, '42');
  assert.equal(decoded.resources.length, 2);
  assert.equal(unpackAny({ type_url: decoded.resources[0].type_url, value: decoded.resources[0].value }).name, `c1-${big}`);
  // Encoding the same resources again reuses their framing and gives the same bytes.
  assert.deepEqual(encodeDiscoveryResponse({ ...response, nonce: '43' }).subarray(0, ours.length - 2), ours.subarray(0, ours.length - 2));
});

test('empty fields are omitted as proto3 does', () => {
  assert.equal(encodeDiscoveryResponse({ version_info: '', resources: [], type_url: '', nonce: '' }).length, 0);
});

test('the hand-framed DeltaDiscoveryResponse is byte-identical to protobufjs, shared framing included', () => {
  const vh = packAny(TypeUrl.virtualHost, { name: 'rc/a', domains: ['a'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] });
  const response = {
    system_version_info: 'v-2',
    resources: [
      { name: 'rc/a', version: 'd1', aliases: [], resource: vh },
      { name: 'rc/a', version: 'd1', aliases: ['rc/a.local'], resource: vh },
      { name: 'rc/nosuch', version: '', aliases: ['rc/nosuch'], resource: null },
    ],
    type_url: TypeUrl.virtualHost,
    removed_resources: ['rc/gone', 'rc/gone-too'],
    nonce: '9',
  };
  const ours = encodeDeltaDiscoveryResponse(response);
  const type = messageType('type.googleapis.com/envoy.service.discovery.v3.DeltaDiscoveryResponse');
  // protobufjs writes a string field that is present even when empty; proto3 omits it, as we do.
  const proto3 = { ...response, resources: response.resources.map(({ version, ...r }) => (version ? { version, ...r } : r)) };
  assert.deepEqual(ours, Buffer.from(type.encode(type.fromObject(proto3)).finish()));
  assert.deepEqual(encodeDeltaDiscoveryResponse(response), ours, 'the cached framing gives the same bytes');
});
