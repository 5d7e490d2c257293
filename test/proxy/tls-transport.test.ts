// The TLS transport sockets on their own, over real loopback sockets and openssl-made certificates:
// the server side records what the handshake proved on the ConnectionInfo (the peer's SPIFFE ID,
// DNS SANs, subject, SNI, ALPN, TLS version, our own identity); the upstream connector reports the
// server's identity, refuses a SAN mismatch or an unknown root with a typed reason, and fails
// cleanly while its secret has not arrived.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ConnectionInfo } from '../../src/proxy/listener/connection-info.js';
import { DownstreamTlsServer, type HandshakeOutcome } from '../../src/proxy/tls/downstream.js';
import { SecretStore } from '../../src/proxy/tls/secret-store.js';
import { TlsContextSlot } from '../../src/proxy/tls/tls-context.js';
import { createConnector, UPSTREAM_TLS_ERROR, type UpstreamTlsInfo } from '../../src/proxy/upstream/connector.js';
import type { CommonTlsContext, SanMatcher } from '../../src/proxy/xds/model.js';
import { createTestCa, type Leaf, type TestCa } from '../helpers/certs.js';

const exact = (value: string): SanMatcher => ({ type: 'URI', matcher: { kind: 'exact', value, ignoreCase: false } });

function context(leaf: Leaf | undefined, root: string | undefined, sans: SanMatcher[], alpn: string[] = []): CommonTlsContext {
  return {
    certificate: leaf ? { kind: 'inline_certificate', certificateChain: leaf.chain, privateKey: leaf.key } : undefined,
    validation: root ? { trustedCa: { kind: 'inline_validation', trustedCa: root }, subjectAltNames: sans } : undefined,
    alpnProtocols: alpn,
    minVersion: undefined,
    maxVersion: undefined,
    ciphers: '',
    ecdhCurves: '',
  };
}

describe('TLS transport sockets', () => {
  let ca: TestCa;
  let other: TestCa;
  let serverLeaf: Leaf;
  let clientLeaf: Leaf;
  let server: net.Server;
  let port = 0;
  const outcomes: { conn: ConnectionInfo; outcome: HandshakeOutcome }[] = [];
  const store = new SecretStore();

  before(async () => {
    ca = createTestCa();
    other = createTestCa('elsewhere');
    serverLeaf = ca.leaf('reviews', { dns: ['reviews.default.svc.cluster.local'] });
    clientLeaf = ca.leaf('productpage', { dns: ['productpage.default'] });
    const tlsServer = new DownstreamTlsServer(
      { kind: 'tls', context: context(serverLeaf, ca.root, [exact(clientLeaf.spiffeId)], ['h2', 'http/1.1']), requireClientCertificate: true },
      new TlsContextSlot(context(serverLeaf, ca.root, [exact(clientLeaf.spiffeId)], ['h2', 'http/1.1']), store),
    );
    server = net.createServer({ pauseOnConnect: true }, (socket) => {
      const conn: ConnectionInfo = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, transportProtocol: 'tls', serverName: undefined };
      void tlsServer.terminate(socket, undefined, conn).then((outcome) => {
        outcomes.push({ conn, outcome });
        if (outcome.ok) outcome.socket.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });

  after(() => {
    server.close();
    ca.dispose();
    other.dispose();
  });

  /** Connect with a connector; resolves with what the handshake proved, or the error. */
  function connect(ctx: CommonTlsContext, sni = '', secrets = store): Promise<{ info?: UpstreamTlsInfo; err?: NodeJS.ErrnoException; localPort?: number }> {
    const connector = createConnector({ kind: 'tls', context: ctx, sni }, secrets);
    return new Promise((resolve) => {
      // Kept open until the server has judged the handshake (or closes it).
      const s = connector.open({ ip: '127.0.0.1', port, alpn: ['h2'] }, (info) => {
        const localPort = s.localPort;
        resolve({ info, localPort });
        void waitFor(() => outcomes.some((o) => o.conn.remotePort === localPort)).finally(() => s.destroy());
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve({ err }));
    }).finally(() => connector.close()) as Promise<{ info?: UpstreamTlsInfo; err?: NodeJS.ErrnoException; localPort?: number }>;
  }

  it('both sides learn who the other is: SPIFFE IDs, DNS SANs, subject, SNI, ALPN, version', async () => {
    const r = await connect(context(clientLeaf, ca.root, [exact(serverLeaf.spiffeId)]), 'reviews.default');
    assert.equal(r.err, undefined, r.err?.message);
    assert.deepEqual(r.info, { peerUriSans: [serverLeaf.spiffeId], version: 'TLSv1.3', alpn: 'h2' });
    await waitFor(() => outcomes.some((x) => x.conn.remotePort === r.localPort));
    const { conn, outcome } = outcomes.find((x) => x.conn.remotePort === r.localPort)!;
    assert.ok(outcome.ok);
    assert.deepEqual(conn.tls, {
      sni: 'reviews.default',
      alpn: 'h2',
      peerUriSans: [clientLeaf.spiffeId],
      peerDnsSans: ['productpage.default'],
      peerSubject: 'O=weft-test',
      localUriSan: serverLeaf.spiffeId,
      version: 'TLSv1.3',
    });
  });

  it('the client refuses a server whose SPIFFE ID is not the one wanted', async () => {
    const r = await connect(context(clientLeaf, ca.root, [exact('spiffe://cluster.local/ns/default/sa/ratings')]));
    assert.equal(r.err?.code, UPSTREAM_TLS_ERROR);
    assert.match(r.err!.message, /^SAN mismatch: the peer certificate has URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews/);
  });

  it('the client refuses a chain its trust bundle does not cover', async () => {
    const r = await connect(context(clientLeaf, other.root, []));
    assert.equal(r.err?.code, UPSTREAM_TLS_ERROR);
    assert.match(r.err!.message, /^CERTIFICATE_VERIFY_FAILED: /);
  });

  it('the server refuses a client of another identity, and one from another root', async () => {
    for (const leaf of [ca.leaf('ratings'), other.leaf('productpage')]) {
      const { localPort } = await connect(context(leaf, ca.root, []));
      await waitFor(() => outcomes.some((x) => x.conn.remotePort === localPort));
      const o = outcomes.find((x) => x.conn.remotePort === localPort)!.outcome;
      assert.equal(o.ok, false);
      assert.match(o.ok ? '' : o.reason, /SAN mismatch|CERTIFICATE_VERIFY_FAILED/);
    }
  });

  it('an upstream TLS context whose SDS secret has not arrived fails typed, then works once it is set', async () => {
    const secrets = new SecretStore();
    const ctx: CommonTlsContext = { ...context(undefined, undefined, []), certificate: { kind: 'sds', name: 'default', provider: 'agent' }, validation: { trustedCa: { kind: 'sds', name: 'ROOTCA', provider: 'agent' }, subjectAltNames: [] } };
    const early = await connect(ctx, '', secrets);
    assert.equal(early.err?.code, UPSTREAM_TLS_ERROR);
    assert.match(early.err!.message, /not ready: secret "default", "ROOTCA" not received yet/);
    secrets.set('default', { kind: 'tls_certificate', certificateChain: clientLeaf.chain, privateKey: clientLeaf.key });
    secrets.set('ROOTCA', { kind: 'validation_context', trustedCa: ca.root });
    const later = await connect(ctx, '', secrets);
    assert.deepEqual(later.info?.peerUriSans, [serverLeaf.spiffeId]);
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), 'condition not reached');
}
