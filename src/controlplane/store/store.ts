// What the control plane needs from any config source (watched directory today; etcd and Kubernetes
// later): the current valid config, what is wrong, and a signal when either changes.
import type { ConfigError, ConfigSet, SkippedResource } from '../../config/types.js';

export interface SourceStatus {
  /** The source's latest content validated cleanly. */
  ok: boolean;
  /** Resources this source currently contributes (its last good content). */
  resources: number;
  errors: number;
  /** ISO time the source was last read. */
  loadedAt: string;
}

export interface StoreState {
  /** Increments only when `config` or `errors` actually change. */
  version: number;
  config: ConfigSet;
  errors: ConfigError[];
  skipped: SkippedResource[];
  /** Per source (a file path for the file store). */
  files: Record<string, SourceStatus>;
}

export interface ConfigStore {
  /** Loads everything once, then keeps watching. Resolves after the first load. */
  start(): Promise<void>;
  current(): StoreState;
  /** Called after every version change; returns an unsubscribe function. */
  onChange(cb: (s: StoreState) => void): () => void;
  /** Stops watching; resolves once no load is in flight. */
  close(): Promise<void>;
}
