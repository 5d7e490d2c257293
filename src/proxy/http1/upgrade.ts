// An HTTP/1.1 Upgrade (WebSocket) request upstream: its own connection, never pooled, because a
// 101 turns it into a tunnel. The head is written with its Connection/Upgrade fields; a 101 answer
// hands the caller the raw socket and any bytes the server sent after its head; any other answer
// is relayed as a normal response and the connection is closed after it.
import type net from 'node:net';
import { plaintextConnector, type Connector } from '../upstream/connector.js';
import type { ExchangeHandler, UpstreamExchange, UpstreamRequest } from '../upstream/pool.js';
import { serializeHead } from './client.js';
import { Http1Parser } from './parser.js';

export interface UpgradeHandler extends ExchangeHandler {
  /** 101: the tunnel's upstream side, and bytes that followed the head. */
  onUpgrade(socket: net.Socket, rest: Buffer | undefined): void;
}

export interface UpgradeTarget {
  ip: string;
  port: number;
  authority: string;
  connectTimeoutMs: number;
  /** The host's transport (TLS to a meshed peer); plain TCP when absent. */
  connector?: Connector;
}

const MAX_HEADER_BYTES = 16 * 1024;

export function requestUpgrade(target: UpgradeTarget, req: UpstreamRequest, h: UpgradeHandler): UpstreamExchange {
  let done = false;
  let switched = false;
  const connector = target.connector ?? plaintextConnector;
  // The upgrade request goes out once the transport is ready (after the TLS handshake, for mTLS).
  const socket = connector.open({ ip: target.ip, port: target.port, allowHalfOpen: true, alpn: ['http/1.1'] }, () => onReady());
  const fail = (err: NodeJS.ErrnoException) => {
    if (done) return;
    done = true;
    socket.destroy();
    h.onError(err);
  };
  const timer =
    target.connectTimeoutMs > 0
      ? setTimeout(() => fail(Object.assign(new Error(`connect timeout after ${target.connectTimeoutMs} ms`), { code: 'ETIMEDOUT' })), target.connectTimeoutMs)
      : undefined;
  const parser = new Http1Parser(
    'response',
    {
      onResponseHead: (head) => {
        if (done) return;
        switched = head.status === 101;
        h.onResponse(head.status, head.statusMessage, head.headers);
      },
      onBody: (chunk) => !done && h.onData(chunk),
      onComplete: () => {
        if (switched || done) return;
        done = true;
        socket.destroy();
        h.onEnd();
      },
    },
    MAX_HEADER_BYTES,
  );
  parser.expect(req.method !== 'HEAD', true);
  const onReady = () => {
    clearTimeout(timer);
    try {
      socket.write(serializeHead(req, target.authority), 'latin1');
    } catch (err) {
      fail(err as NodeJS.ErrnoException);
    }
  };
  const onData = (data: Buffer) => {
    let consumed: number;
    try {
      consumed = parser.execute(data);
    } catch (err) {
      return fail(err as NodeJS.ErrnoException);
    }
    if (switched && !done) {
      done = true;
      socket.off('data', onData);
      socket.pause();
      h.onUpgrade(socket, consumed < data.length ? data.subarray(consumed) : undefined);
    }
  };
  socket.on('data', onData);
  socket.on('error', (err) => fail(err));
  socket.on('end', () => {
    if (!done && !parser.finishOnEof()) fail(Object.assign(new Error('upstream closed before the upgrade answer'), { code: 'ECONNRESET' }));
  });
  socket.on('close', () => fail(Object.assign(new Error('upstream connection closed'), { code: 'ECONNRESET' })));
  return {
    abort: () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}
