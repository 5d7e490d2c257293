import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderProxyStatus } from '../../src/cli/proxy-status.js';
import { isSynced, typeState } from '../../src/controlplane/xds/sync-state.js';

const t = (sent: string | null, acked: string | null, nack: string | null = null) => ({
  sent, acked, nack: nack ? { version: nack, message: 'cluster x: bad', at: 'now' } : null, sentAt: null, ackedAt: null, resources: 1,
});

const cases = [
  { name: 'nothing sent', status: undefined, want: 'NOT SENT' },
  { name: 'acked what was sent', status: t('b', 'b'), want: 'SYNCED' },
  { name: 'newer version in flight', status: t('c', 'b'), want: 'STALE' },
  { name: 'refused the last version', status: t('c', 'b', 'c'), want: 'NACKED' },
  { name: 'an old NACK, since superseded and ACKed', status: t('d', 'd', 'c'), want: 'SYNCED' },
];
for (const c of cases) test(`proxy-status: ${c.name}`, () => assert.equal(typeState(c.status), c.want));

test('proxy-status: table and NACK reasons', () => {
  const out = renderProxyStatus([
    { id: 'sidecar~a', service: 'reviews', namespace: 'default', address: '127.0.0.1', labels: {}, protocol: 'sotw', connectedAt: '', types: { cluster: t('c', 'b', 'c'), listener: t('l', 'l'), endpoint: t('e', 'e'), route: t('r', 'r') } },
    { id: 'sidecar~b', service: 'ratings', namespace: 'default', address: '127.0.0.2', labels: {}, protocol: 'delta', connectedAt: '', types: { cluster: t('c', 'c'), listener: t('l', 'l'), endpoint: t('e', 'e'), route: t('r', 'r'), virtualHost: t('v2', 'v1') } },
  ]);
  assert.match(out, /^NAME\s+SERVICE\s+ADDRESS\s+XDS\s+CDS\s+LDS\s+EDS\s+RDS\s+VHDS$/m);
  assert.match(out, /^sidecar~a\s+reviews\.default\s+127\.0\.0\.1\s+SotW\s+NACKED\s+SYNCED\s+SYNCED\s+SYNCED\s+N\/A$/m);
  assert.match(out, /^sidecar~b\s+ratings\.default\s+127\.0\.0\.2\s+Delta\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s+STALE$/m);
  assert.match(out, /sidecar~a CDS NACK of c at now: cluster x: bad/);
});

test('proxy-status: VHDS counts for Delta proxies only', () => {
  const synced = { cluster: t('c', 'c'), listener: t('l', 'l'), endpoint: t('e', 'e'), route: t('r', 'r') };
  assert.equal(isSynced({ protocol: 'sotw', types: synced }), true, 'a SotW proxy has no VHDS to wait for');
  assert.equal(isSynced({ protocol: 'delta', types: synced }), false, 'a Delta proxy must have been brought up to date on VHDS');
  assert.equal(isSynced({ protocol: 'delta', types: { ...synced, virtualHost: t('v', 'v') } }), true);
});
