// A connector per cluster and transport socket (undici's connect.js shape): it makes the TCP or TLS
// connections the pools and tcp_proxy use. The TLS connector takes its secure context from the
// slot current at connect time (so a renewed certificate or trust bundle reaches new connections
// only), verifies the server's chain against the validation context and its SANs against
// match_typed_subject_alt_names, and reports what the handshake proved. A refused server is a
// connect failure with code WEFT_E_UPSTREAM_TLS and the reason, never a connection.
import net from 'node:net';
import tls from 'node:tls';
import type { UpstreamTransport } from '../xds/model.js';
import { ProxyError, type ProxyErrorCode } from '../errors.js';
import { peerCertificate, sansOf, verifyPeer } from '../tls/peer.js';
import type { SecretStore } from '../tls/secret-store.js';
import { TlsContextSlot } from '../tls/tls-context.js';

/** The error code of an upstream TLS handshake that failed or whose peer was refused. */
export const UPSTREAM_TLS_ERROR: ProxyErrorCode = 'WEFT_E_UPSTREAM_TLS';

/** What an upstream TLS handshake proved (StreamInfo's upstream peer). */
export interface UpstreamTlsInfo {
  peerUriSans: readonly string[];
  version: string;
  alpn: string | undefined;
}

export interface ConnectTarget {
  ip: string;
  port: number;
  /** TCP keep-alive idle time before probes. */
  keepAliveMs?: number;
  /** ALPN to offer when the transport's context names none (the pool's codec). */
  alpn?: readonly string[];
  allowHalfOpen?: boolean;
  /** The local address to bind (upstream_bind_config.source_address). */
  localAddress?: string;
}

/** Called once: the transport is ready (TCP connected, or TLS handshake done and peer verified). */
export type OnReady = (tls: UpstreamTlsInfo | undefined) => void;

export interface Connector {
  readonly kind: 'plaintext' | 'tls';
  /** Start a connection; failures arrive as the socket's 'error' (typed codes). */
  open(target: ConnectTarget, onReady: OnReady): net.Socket;
  close(): void;
}

const DEFAULT_KEEPALIVE_MS = 60_000;

function tcpConnect(t: ConnectTarget): net.Socket {
  return net.connect({
    host: t.ip,
    port: t.port,
    noDelay: true,
    keepAlive: true,
    keepAliveInitialDelay: t.keepAliveMs ?? DEFAULT_KEEPALIVE_MS,
    allowHalfOpen: t.allowHalfOpen,
    ...(t.localAddress ? { localAddress: t.localAddress } : {}),
  });
}

export const plaintextConnector: Connector = {
  kind: 'plaintext',
  open(t, onReady) {
    const s = tcpConnect(t);
    s.once('connect', () => onReady(undefined));
    return s;
  },
  close() {},
};

class TlsConnector implements Connector {
  readonly kind = 'tls';
  private readonly slot: TlsContextSlot;

  constructor(
    private readonly transport: Extract<UpstreamTransport, { kind: 'tls' }>,
    secrets: SecretStore,
  ) {
    this.slot = new TlsContextSlot(transport.context, secrets);
  }

  open(t: ConnectTarget, onReady: OnReady): net.Socket {
    const state = this.slot.current;
    const ctx = this.transport.context;
    if (!state.ready) {
      // Envoy keeps such a cluster warming; a request meeting it fails as a connect failure.
      const s = new net.Socket();
      process.nextTick(() => s.destroy(tlsError(`upstream TLS context not ready: ${state.reason}`)));
      return s;
    }
    const alpn = ctx.alpnProtocols.length > 0 ? ctx.alpnProtocols : t.alpn;
    const sni = this.transport.sni;
    const tcp = tcpConnect(t);
    tcp.on('error', () => {}); // reported by the TLS socket
    const s = tls.connect({
      socket: tcp,
      secureContext: state.secureContext,
      // Envoy sends no SNI unless the context names one; Node would send none for an IP either.
      servername: sni || undefined,
      ALPNProtocols: alpn && alpn.length > 0 ? [...alpn] : undefined,
      // Envoy without a validation context accepts any server certificate; with one it verifies the
      // chain (checked below with the SANs, so the failure carries a reason). Host names play no part.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    let tcpUp = false;
    let secured = false;
    tcp.once('connect', () => (tcpUp = true));
    // Registered before the pool's own listener: a failure during the handshake (an alert, a reset)
    // reaches it typed as a TLS failure, whatever errno it carried.
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (!tcpUp || secured || err.code === UPSTREAM_TLS_ERROR) return;
      err.message = `TLS handshake: ${err.message}${err.code ? ` (${err.code})` : ''}`;
      err.code = UPSTREAM_TLS_ERROR;
    });
    s.once('secureConnect', () => {
      secured = true;
      const cert = peerCertificate(s);
      const refused = verifyPeer(s, cert, { verifyChain: state.verifyChain, requireCertificate: state.verifyChain, sans: ctx.validation?.subjectAltNames ?? [] });
      if (refused) {
        secured = false;
        return void s.destroy(tlsError(refused));
      }
      onReady({ peerUriSans: sansOf(cert).uri, version: s.getProtocol() ?? '', alpn: s.alpnProtocol || undefined });
    });
    return s;
  }

  close(): void {
    this.slot.close();
  }
}

function tlsError(reason: string): NodeJS.ErrnoException {
  return new ProxyError(UPSTREAM_TLS_ERROR, reason) as unknown as NodeJS.ErrnoException;
}

/** The connector for a transport socket; `bindAddress`: the source address of every connection. */
export function createConnector(transport: UpstreamTransport, secrets: SecretStore, bindAddress?: string): Connector {
  const inner = transport.kind === 'tls' ? new TlsConnector(transport, secrets) : plaintextConnector;
  if (!bindAddress) return inner;
  return {
    kind: inner.kind,
    open: (t, onReady) => inner.open({ ...t, localAddress: bindAddress }, onReady),
    close: () => inner.close(),
  };
}
