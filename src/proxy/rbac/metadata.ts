// Dynamic metadata of one HTTP stream, by filter name (Envoy's StreamInfo dynamic metadata): the
// JWT filter writes the verified payload here, RBAC's metadata matchers read it. Kept off the
// stream object in a WeakMap, so it dies with the stream.
import type { DynamicMetadata } from './engine.js';

const byStream = new WeakMap<object, Map<string, Record<string, unknown>>>();

export function streamMetadata(stream: object): DynamicMetadata {
  return byStream.get(stream) ?? emptyMetadata;
}

const emptyMetadata: DynamicMetadata = new Map();

/** Merge `values` into the namespace `filter` of the stream's metadata. */
export function setStreamMetadata(stream: object, filter: string, values: Record<string, unknown>): void {
  let m = byStream.get(stream);
  if (!m) byStream.set(stream, (m = new Map()));
  m.set(filter, { ...(m.get(filter) ?? {}), ...values });
}
