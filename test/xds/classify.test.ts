import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DiscoveryRequestWire } from '../../src/api/envoy.js';
import { classify, classifyDelta, type TypeStreamState } from '../../src/controlplane/xds/classify.js';

const req = (r: Partial<DiscoveryRequestWire>): DiscoveryRequestWire => ({ version_info: '', resource_names: [], type_url: 'x', response_nonce: '', ...r });
const sent: TypeStreamState = { nonce: '7', subscribed: ['a', 'b'] };

const cases: Array<{ name: string; req: DiscoveryRequestWire; state?: TypeStreamState; want: string }> = [
  { name: 'first request of a type', req: req({}), want: 'initial' },
  { name: 'request without nonce after responses (re-request)', req: req({}), state: sent, want: 'initial' },
  { name: 'NACK of the latest nonce', req: req({ response_nonce: '7', error_detail: { code: 3, message: 'bad' } }), state: sent, want: 'nack' },
  { name: 'NACK of an older nonce is stale', req: req({ response_nonce: '6', error_detail: { code: 3, message: 'bad' } }), state: sent, want: 'stale' },
  { name: 'ACK of an older nonce is stale', req: req({ response_nonce: '6', version_info: 'v1', resource_names: ['a', 'b'] }), state: sent, want: 'stale' },
  { name: 'ACK of the latest nonce', req: req({ response_nonce: '7', version_info: 'v2', resource_names: ['b', 'a'] }), state: sent, want: 'ack' },
  { name: 'ACK with new names is a subscription change', req: req({ response_nonce: '7', version_info: 'v2', resource_names: ['a', 'c'] }), state: sent, want: 'subscription-change' },
];

for (const c of cases) test(`classify: ${c.name}`, () => assert.equal(classify(c.req, c.state).kind, c.want));

const deltaCases: Array<{ name: string; nonce: string; error?: { code: number; message: string }; want: string }> = [
  { name: 'no nonce: only (un)subscribes', nonce: '', want: 'none' },
  { name: 'the latest nonce without error: ACK', nonce: '7', want: 'ack' },
  { name: 'the latest nonce with error_detail: NACK', nonce: '7', error: { code: 3, message: 'bad' }, want: 'nack' },
  { name: 'an older nonce is stale, ACK or NACK', nonce: '6', error: { code: 3, message: 'bad' }, want: 'stale' },
  { name: 'an all-zero error_detail is an ACK', nonce: '7', error: { code: 0, message: '' }, want: 'ack' },
];
for (const c of deltaCases) test(`classify delta: ${c.name}`, () => assert.equal(classifyDelta({ response_nonce: c.nonce, error_detail: c.error ?? null }, '7').kind, c.want));
