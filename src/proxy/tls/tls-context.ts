// A CommonTlsContext at run time: the secure context new handshakes use, rebuilt whenever an SDS
// secret it names changes (a renewal or a new trust bundle). Each connection takes the context
// current when it starts, so a renewal reaches new handshakes and leaves live connections alone.
// Until every secret it names has arrived the slot is not ready (Envoy: the listener or cluster is
// still warming); connections that meet it then fail with that reason.
import tls from 'node:tls';
import type { CommonTlsContext, SecretSource } from '../xds/model.js';
import { leafUriSan } from './peer.js';
import type { Secret, SecretStore } from './secret-store.js';

export type TlsContextState =
  | {
      ready: true;
      /** What the context is made of (a tls.Server takes these: setSecureContext on renewal). */
      options: tls.SecureContextOptions;
      secureContext: tls.SecureContext;
      localUriSan: string;
      verifyChain: boolean;
    }
  | { ready: false; reason: string };

export class TlsContextSlot {
  private state: TlsContextState = { ready: false, reason: 'not built' };
  private readonly unwatch: (() => void)[] = [];
  private readonly listeners = new Set<(state: TlsContextState) => void>();

  constructor(
    readonly config: CommonTlsContext,
    private readonly store: SecretStore,
  ) {
    for (const source of [config.certificate, config.validation?.trustedCa]) {
      if (source?.kind !== 'sds') continue;
      // watch() calls back at once when the secret is there: the first build sees it.
      this.unwatch.push(store.watch(source.name, () => this.rebuild()));
    }
    this.rebuild();
  }

  get current(): TlsContextState {
    return this.state;
  }

  get ready(): boolean {
    return this.state.ready;
  }

  /** Told of every new context (a renewal); not called for the current one. */
  onChange(fn: (state: TlsContextState) => void): void {
    this.listeners.add(fn);
  }

  close(): void {
    for (const u of this.unwatch.splice(0)) u();
    this.listeners.clear();
  }

  private rebuild(): void {
    const c = this.config;
    const cert = this.resolve(c.certificate, 'tls_certificate');
    const ca = this.resolve(c.validation?.trustedCa, 'validation_context');
    const missing = [cert, ca].filter((r): r is { missing: string } => r !== undefined && 'missing' in r).map((r) => r.missing);
    if (missing.length > 0) {
      this.state = { ready: false, reason: `secret ${missing.map((m) => `"${m}"`).join(', ')} not received yet` };
      return;
    }
    const certificate = cert && 'value' in cert && cert.value.kind === 'tls_certificate' ? cert.value : undefined;
    const trust = ca && 'value' in ca && ca.value.kind === 'validation_context' ? ca.value : undefined;
    const options: tls.SecureContextOptions = {
      cert: certificate?.certificateChain,
      key: certificate?.privateKey,
      ca: trust?.trustedCa,
      minVersion: c.minVersion,
      maxVersion: c.maxVersion,
      ciphers: c.ciphers || undefined,
      ecdhCurve: c.ecdhCurves || undefined,
    };
    try {
      const secureContext = tls.createSecureContext(options);
      this.state = { ready: true, options, secureContext, localUriSan: certificate ? leafUriSan(certificate.certificateChain) : '', verifyChain: trust !== undefined };
    } catch (err) {
      // A key that does not fit its certificate, or a bad cipher list: keep the last good context.
      const reason = `TLS context: ${(err as Error).message}`;
      if (!this.state.ready) this.state = { ready: false, reason };
      return;
    }
    for (const l of this.listeners) l(this.state);
  }

  private resolve(source: SecretSource | undefined, kind: Secret['kind']): { value: Secret } | { missing: string } | undefined {
    if (!source) return undefined;
    if (source.kind === 'inline_certificate') return { value: { kind: 'tls_certificate', certificateChain: source.certificateChain, privateKey: source.privateKey } };
    if (source.kind === 'inline_validation') return { value: { kind: 'validation_context', trustedCa: source.trustedCa } };
    const v = this.store.get(source.name);
    if (!v) return { missing: source.name };
    // A secret of the other kind under this name is as good as absent.
    return v.kind === kind ? { value: v } : { missing: `${source.name} (a ${kind})` };
  }
}
