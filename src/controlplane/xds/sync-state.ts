// Whether a proxy runs what the control plane last sent it, per xDS type: one definition for
// `weft proxy-status`, the demo's readiness wait, and anything else reading /debug/syncz.
// On a Delta stream, "sent" is the snapshot version of the type the proxy was last brought up to:
// a snapshot whose diff for that proxy is empty counts as sent and ACKed without a message.
import type { XdsType } from '../../api/envoy.js';
import type { ProxyStatus, TypeStatus } from './server.js';

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT' | 'N/A';

/** The types a sidecar needs before it can route (SDS joins when mTLS does). VHDS exists only on
 * Delta streams; state-of-the-world proxies get their virtual hosts inside RDS. */
export const SYNC_TYPES: readonly (readonly [XdsType, string])[] = [['cluster', 'CDS'], ['listener', 'LDS'], ['endpoint', 'EDS'], ['route', 'RDS'], ['virtualHost', 'VHDS']];

export function typeState(t: TypeStatus | undefined): SyncState {
  if (!t?.sent) return 'NOT SENT';
  if (t.acked === t.sent) return 'SYNCED';
  if (t.nack && t.nack.version === t.sent) return 'NACKED';
  return 'STALE';
}

type StatusView = Pick<ProxyStatus, 'types'> & { protocol?: ProxyStatus['protocol'] };

export function proxyTypeState(p: StatusView, type: XdsType): SyncState {
  if (type === 'virtualHost' && p.protocol !== 'delta') return 'N/A';
  return typeState(p.types[type]);
}

export const isSynced = (p: StatusView): boolean => SYNC_TYPES.every(([t]) => ['SYNCED', 'N/A'].includes(proxyTypeState(p, t)));
