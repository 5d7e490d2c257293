// Whether a proxy runs what the control plane last sent it, per xDS type: one definition for
// `weft proxy-status`, the demo's readiness wait, and anything else reading /debug/syncz.
import type { ProxyStatus, TypeStatus } from './server.js';

export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT';

/** The types a sidecar needs before it can route (SDS joins when mTLS does). */
export const SYNC_TYPES = [['cluster', 'CDS'], ['listener', 'LDS'], ['endpoint', 'EDS'], ['route', 'RDS']] as const;

export function typeState(t: TypeStatus | undefined): SyncState {
  if (!t?.sent) return 'NOT SENT';
  if (t.acked === t.sent) return 'SYNCED';
  if (t.nack && t.nack.version === t.sent) return 'NACKED';
  return 'STALE';
}

export const isSynced = (p: Pick<ProxyStatus, 'types'>): boolean => SYNC_TYPES.every(([t]) => typeState(p.types[t]) === 'SYNCED');
