// Secrets are a slot, like route tables: a listener's DownstreamTlsContext or a cluster's
// UpstreamTlsContext names a secret, and whoever provides it (SDS over ADS, or the proxy's own
// identity agent for Istio's `default` and `ROOTCA`) sets it here. Watchers are told on each
// change, so a renewal swaps what TLS contexts use without rebuilding listeners or clusters;
// connections already open keep the certificate they were made with.

/** Istio's SDS names: the workload's certificate and key, and the mesh's trust bundle. */
export { ROOT_CA_SECRET, WORKLOAD_SECRET } from '../../api/mesh-names.js';

export interface TlsCertificateSecret {
  kind: 'tls_certificate';
  /** PEM: the leaf first, then the intermediates. */
  certificateChain: string;
  /** PEM (PKCS#8 or SEC1). Never logged, never served by the admin port. */
  privateKey: string;
}

export interface ValidationContextSecret {
  kind: 'validation_context';
  /** PEM: one or more trusted roots (several during a root rotation). */
  trustedCa: string;
}

export type Secret = TlsCertificateSecret | ValidationContextSecret;

type Watcher = (secret: Secret) => void;

export class SecretStore {
  private readonly values = new Map<string, Secret>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly changeListeners = new Set<(name: string) => void>();

  get(name: string): Secret | undefined {
    return this.values.get(name);
  }

  names(): string[] {
    return [...this.values.keys()].sort();
  }

  set(name: string, secret: Secret): void {
    this.values.set(name, secret);
    for (const w of this.watchers.get(name) ?? []) w(secret);
    for (const l of this.changeListeners) l(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** Told the name of every secret set (readiness: have all the referenced secrets arrived?). */
  onChange(fn: (name: string) => void): () => void {
    this.changeListeners.add(fn);
    return () => this.changeListeners.delete(fn);
  }

  delete(name: string): void {
    this.values.delete(name);
  }

  /** Called now if the secret is there, and on every later change; returns the unsubscribe. */
  watch(name: string, fn: Watcher): () => void {
    let set = this.watchers.get(name);
    if (!set) this.watchers.set(name, (set = new Set()));
    set.add(fn);
    const now = this.values.get(name);
    if (now) fn(now);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.watchers.delete(name);
    };
  }
}
