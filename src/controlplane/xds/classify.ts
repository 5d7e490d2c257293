// What a DiscoveryRequest means for one type on one stream: one small pure classifier, in the order
// Istio's ShouldRespond uses (NACK → stale nonce → first request → ACK / subscription change).
import type { DeltaDiscoveryRequestWire, DiscoveryRequestWire } from '../../api/envoy.js';

export interface TypeStreamState {
  /** Nonce of the last response sent for this type ('' before the first). */
  nonce: string;
  /** Resource names the proxy subscribed to; empty means wildcard for LDS/CDS. */
  subscribed: readonly string[];
}

export type Decision =
  | { kind: 'initial' }
  | { kind: 'nack'; message: string; code: number }
  | { kind: 'stale' }
  | { kind: 'ack'; version: string }
  | { kind: 'subscription-change'; version: string; names: string[] };

export function classify(req: DiscoveryRequestWire, state: TypeStreamState | undefined): Decision {
  if (req.error_detail && (req.error_detail.code !== 0 || req.error_detail.message)) {
    if (state && req.response_nonce !== state.nonce) return { kind: 'stale' };
    return { kind: 'nack', message: req.error_detail.message, code: req.error_detail.code };
  }
  if (!state || !req.response_nonce) return { kind: 'initial' };
  if (req.response_nonce !== state.nonce) return { kind: 'stale' };
  const names = [...(req.resource_names ?? [])].sort();
  if (!sameNames(names, state.subscribed)) return { kind: 'subscription-change', version: req.version_info, names };
  return { kind: 'ack', version: req.version_info };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What a DeltaDiscoveryRequest says about the last response of its type. Subscription changes are
 * separate: a delta request may carry both, and (un)subscriptions count even with a stale nonce. */
export type DeltaAckDecision =
  | { kind: 'none' }
  | { kind: 'stale' }
  | { kind: 'nack'; message: string; code: number }
  | { kind: 'ack' };

export function classifyDelta(req: Pick<DeltaDiscoveryRequestWire, 'response_nonce' | 'error_detail'>, lastNonce: string): DeltaAckDecision {
  if (!req.response_nonce) return { kind: 'none' };
  if (req.response_nonce !== lastNonce) return { kind: 'stale' };
  if (req.error_detail && (req.error_detail.code !== 0 || req.error_detail.message)) {
    return { kind: 'nack', message: req.error_detail.message, code: req.error_detail.code };
  }
  return { kind: 'ack' };
}
