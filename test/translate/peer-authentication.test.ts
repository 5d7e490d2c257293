// PeerAuthentication resolution as Istio does it: workload over namespace over mesh, the oldest of a
// level first, UNSET inherits, port-level modes on workload policies only.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerAuthenticationSpec } from '../../src/config/security-types.js';
import { effectivePeerAuthentication, modeForPort, type PeerAuthenticationLike } from '../../src/controlplane/translate/peer-authentication.js';

const pa = (namespace: string, name: string, spec: PeerAuthenticationSpec): PeerAuthenticationLike => ({
  metadata: { name, namespace, labels: {}, annotations: {} },
  spec,
});
const reviews = { namespace: 'default', labels: { app: 'reviews', version: 'v1' } };

test('no policy: PERMISSIVE (Istio default)', () => {
  const e = effectivePeerAuthentication([], reviews);
  assert.equal(e.mode, 'PERMISSIVE');
  assert.deepEqual(e.from, []);
});

test('mesh-wide STRICT in the root namespace applies to every namespace', () => {
  const e = effectivePeerAuthentication([pa('istio-system', 'default', { mtls: { mode: 'STRICT' } })], reviews);
  assert.equal(e.mode, 'STRICT');
  assert.deepEqual(e.from, ['istio-system/default']);
  // A selector policy in the root namespace is a workload policy there, not mesh-wide.
  const w = effectivePeerAuthentication([pa('istio-system', 'x', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'STRICT' } })], reviews);
  assert.equal(w.mode, 'PERMISSIVE');
});

test('namespace overrides mesh, workload overrides namespace; UNSET inherits', () => {
  const policies = [
    pa('istio-system', 'default', { mtls: { mode: 'STRICT' } }),
    pa('default', 'ns', { mtls: { mode: 'PERMISSIVE' } }),
    pa('default', 'reviews', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'DISABLE' } }),
  ];
  assert.equal(effectivePeerAuthentication(policies, reviews).mode, 'DISABLE');
  assert.equal(effectivePeerAuthentication(policies, { namespace: 'default', labels: { app: 'ratings' } }).mode, 'PERMISSIVE');
  assert.equal(effectivePeerAuthentication(policies, { namespace: 'other', labels: {} }).mode, 'STRICT');
  const unset = [policies[0], pa('default', 'reviews', { selector: { matchLabels: { app: 'reviews' } }, mtls: { mode: 'UNSET' } })];
  assert.equal(effectivePeerAuthentication(unset, reviews).mode, 'STRICT');
  // A policy of another namespace never applies.
  assert.equal(effectivePeerAuthentication([pa('prod', 'p', { mtls: { mode: 'STRICT' } })], reviews).mode, 'PERMISSIVE');
});

test('of two policies at one level the oldest wins (by name when no creation time is known)', () => {
  const e = effectivePeerAuthentication([pa('default', 'b', { mtls: { mode: 'DISABLE' } }), pa('default', 'a', { mtls: { mode: 'STRICT' } })], reviews);
  assert.equal(e.mode, 'STRICT');
  assert.deepEqual(e.from, ['default/a']);
});

test('port-level modes override the workload mode for that app port; UNSET there inherits', () => {
  const e = effectivePeerAuthentication(
    [
      pa('istio-system', 'default', { mtls: { mode: 'STRICT' } }),
      pa('default', 'reviews', { selector: { matchLabels: { app: 'reviews' } }, portLevelMtls: { '9080': { mode: 'PERMISSIVE' }, '9090': { mode: 'UNSET' } } }),
    ],
    reviews,
  );
  assert.equal(e.mode, 'STRICT');
  assert.equal(modeForPort(e, 9080), 'PERMISSIVE');
  assert.equal(modeForPort(e, 9090), 'STRICT');
  assert.equal(modeForPort(e, 1234), 'STRICT');
  assert.deepEqual(e.from, ['default/reviews', 'istio-system/default']);
});
