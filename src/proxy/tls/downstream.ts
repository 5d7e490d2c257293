// The server side of envoy.transport_sockets.tls: wrap an accepted socket (whose first bytes the TLS
// inspector may have read: they are put back) in TLS with the chain's current context, verify the
// client as the DownstreamTlsContext says, and record what the handshake proved on the connection.
import type net from 'node:net';
import tls from 'node:tls';
import { attachConnectionInfo, type ConnectionInfo } from '../listener/connection-info.js';
import type { DownstreamTransport } from '../xds/model.js';
import { tlsInfoOf, verifyPeer } from './peer.js';
import type { TlsContextSlot } from './tls-context.js';

/** A handshake that has not finished after this is cut (Node's own default is 120 s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export type DownstreamTls = Extract<DownstreamTransport, { kind: 'tls' }>;

export type HandshakeOutcome = { ok: true; socket: tls.TLSSocket } | { ok: false; reason: string };

export function terminateTls(socket: net.Socket, head: Buffer | undefined, transport: DownstreamTls, slot: TlsContextSlot, conn: ConnectionInfo): Promise<HandshakeOutcome> {
  const state = slot.current;
  if (!state.ready) {
    socket.destroy();
    return Promise.resolve({ ok: false, reason: state.reason });
  }
  if (head && head.length > 0) socket.unshift(head);
  const validation = transport.context.validation;
  const alpn = transport.context.alpnProtocols;
  const t = new tls.TLSSocket(socket, {
    isServer: true,
    secureContext: state.secureContext,
    // Asked whenever there is a trust bundle; whether it is required is checked below (Envoy's rule).
    requestCert: state.verifyChain,
    rejectUnauthorized: false,
    ALPNProtocols: alpn.length > 0 ? alpn : undefined,
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => fail('handshake timeout'), HANDSHAKE_TIMEOUT_MS);
    const fail = (reason: string) => {
      clearTimeout(timer);
      t.destroy();
      resolve({ ok: false, reason });
    };
    t.once('error', (err) => fail(`TLS error: ${err.message}`));
    t.once('close', () => fail('closed during the handshake'));
    t.once('secure', () => {
      clearTimeout(timer);
      t.removeAllListeners('error');
      t.removeAllListeners('close');
      t.on('error', () => {});
      const refused = verifyPeer(t, { verifyChain: state.verifyChain, requireCertificate: transport.requireClientCertificate, sans: validation?.subjectAltNames ?? [] });
      if (refused) return fail(refused);
      conn.tls = tlsInfoOf(t, state.localUriSan, conn.serverName ?? (t.servername || undefined));
      attachConnectionInfo(t, conn);
      resolve({ ok: true, socket: t });
    });
  });
}
