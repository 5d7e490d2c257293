// The server side of envoy.transport_sockets.tls for one filter chain: a tls.Server that never
// listens, fed the sockets the listener accepted (whose first bytes the TLS inspector may have read:
// they are put back). A renewal swaps its secure context (setSecureContext), which new handshakes
// use; live connections keep theirs. After the handshake the client is checked as the
// DownstreamTlsContext says (certificate required, chain verified by OpenSSL, SAN matchers) and
// what the handshake proved is recorded on the connection.
import type net from 'node:net';
import tls from 'node:tls';
import { attachConnectionInfo, type ConnectionInfo } from '../listener/connection-info.js';
import type { DownstreamTransport } from '../xds/model.js';
import { peerCertificate, tlsInfoOf, verifyPeer } from './peer.js';
import type { TlsContextSlot } from './tls-context.js';

/** A handshake that has not finished after this is cut (Node's own default is 120 s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export type DownstreamTls = Extract<DownstreamTransport, { kind: 'tls' }>;

export type HandshakeOutcome = { ok: true; socket: tls.TLSSocket } | { ok: false; reason: string };

interface Pending {
  conn: ConnectionInfo;
  resolve: (o: HandshakeOutcome) => void;
}

export class DownstreamTlsServer {
  private readonly server: tls.Server;
  /** Handshakes in progress, by the peer's address and port (unique among live connections). */
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly transport: DownstreamTls,
    private readonly slot: TlsContextSlot,
  ) {
    const state = slot.current;
    const alpn = transport.context.alpnProtocols;
    this.server = tls.createServer({
      ...(state.ready ? state.options : {}),
      // Asked whenever there is a trust bundle; whether it is required is checked below (Envoy's rule).
      requestCert: transport.context.validation?.trustedCa !== undefined,
      rejectUnauthorized: false,
      ALPNProtocols: alpn.length > 0 ? alpn : undefined,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    slot.onChange((next) => {
      if (next.ready) this.server.setSecureContext(next.options);
    });
    this.server.on('secureConnection', (t: tls.TLSSocket) => this.onSecure(t));
    this.server.on('tlsClientError', (err: Error, t: tls.TLSSocket) => {
      this.take(t)?.resolve({ ok: false, reason: `TLS error: ${err.message}` });
      t.destroy();
    });
  }

  /** Run the handshake on an accepted socket. */
  terminate(socket: net.Socket, head: Buffer | undefined, conn: ConnectionInfo): Promise<HandshakeOutcome> {
    const state = this.slot.current;
    if (!state.ready) {
      // Envoy: the listener is still warming. Nothing can be served without a certificate.
      socket.destroy();
      return Promise.resolve({ ok: false, reason: state.reason });
    }
    return new Promise((resolve) => {
      const key = keyOf(socket);
      this.pending.set(key, { conn, resolve });
      socket.once('close', () => {
        if (this.pending.get(key)?.conn === conn) {
          this.pending.delete(key);
          resolve({ ok: false, reason: 'closed during the handshake' });
        }
      });
      if (head && head.length > 0) socket.unshift(head);
      this.server.emit('connection', socket);
    });
  }

  private take(t: tls.TLSSocket): Pending | undefined {
    const key = keyOf(t);
    const p = this.pending.get(key);
    this.pending.delete(key);
    return p;
  }

  private onSecure(t: tls.TLSSocket): void {
    const p = this.take(t);
    if (!p) return void t.destroy();
    t.on('error', () => {});
    const state = this.slot.current;
    const cert = peerCertificate(t);
    const refused = verifyPeer(t, cert, {
      verifyChain: this.transport.context.validation?.trustedCa !== undefined,
      requireCertificate: this.transport.requireClientCertificate,
      sans: this.transport.context.validation?.subjectAltNames ?? [],
    });
    if (refused) {
      t.destroy();
      return p.resolve({ ok: false, reason: refused });
    }
    p.conn.tls = tlsInfoOf(t, cert, state.ready ? state.localUriSan : '', p.conn.serverName ?? (t.servername || undefined));
    attachConnectionInfo(t, p.conn);
    p.resolve({ ok: true, socket: t });
  }

  /** Stop following renewals (the chain was replaced); handshakes in progress still finish. */
  close(): void {
    this.slot.close();
  }
}

function keyOf(s: net.Socket): string {
  return `${s.remoteAddress}|${s.remotePort}`;
}
