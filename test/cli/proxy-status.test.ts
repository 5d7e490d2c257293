import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderProxyStatus } from '../../src/cli/proxy-status.js';
import { typeState } from '../../src/controlplane/xds/sync-state.js';

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
    { id: 'sidecar~a', service: 'reviews', namespace: 'default', address: '127.0.0.1', labels: {}, connectedAt: '', types: { cluster: t('c', 'b', 'c'), listener: t('l', 'l'), endpoint: t('e', 'e'), route: t('r', 'r') } },
  ]);
  assert.match(out, /^sidecar~a\s+reviews\.default\s+127\.0\.0\.1\s+NACKED\s+SYNCED\s+SYNCED\s+SYNCED$/m);
  assert.match(out, /sidecar~a CDS NACK of c at now: cluster x: bad/);
});
