// The bytes of an upgraded exchange (WebSocket after 101): both sockets piped into each other with
// backpressure, FINs passed on, and the exchange over when either side closes.
import type net from 'node:net';

export interface Tunnel {
  close(): void;
}

export interface TunnelEvents {
  /** Bytes moved: rx from the client, tx to it. */
  onActivity(rx: number, tx: number): void;
  /** Both sides are gone; clean: no error on either. */
  onClose(clean: boolean): void;
}

export function openTunnel(downstream: net.Socket, upstream: net.Socket, downHead: Buffer | undefined, upHead: Buffer | undefined, ev: TunnelEvents): Tunnel {
  let closed = false;
  let clean = true;
  const close = () => {
    if (closed) return;
    closed = true;
    downstream.destroy();
    upstream.destroy();
    ev.onClose(clean);
  };
  const onError = () => {
    clean = false;
    close();
  };
  if (upHead) downstream.write(upHead);
  if (downHead) upstream.write(downHead);
  downstream.on('data', (d: Buffer) => ev.onActivity(d.length, 0));
  upstream.on('data', (d: Buffer) => ev.onActivity(0, d.length));
  downstream.pipe(upstream);
  upstream.pipe(downstream);
  downstream.on('error', onError);
  upstream.on('error', onError);
  downstream.once('close', close);
  upstream.once('close', close);
  downstream.resume();
  upstream.resume();
  return { close };
}
